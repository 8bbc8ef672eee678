package dev.pollard.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** helm as e2e/build-helm.sh builds it, on the chart under charts/pollard; templates render for the tests' Kubernetes. */
public final class Helm {
    public static final Path CHART = Path.of("charts", "pollard");

    /** What helm printed, stdout and stderr apart. */
    public record Result(int exitCode, String out, String err) {
    }

    private Helm() {
    }

    public static Path binary() {
        Path helm = RealApiServer.binaryRoot().resolve("helm").resolve(System.getProperty("pollard.helm.version", "3.21.4"))
                .resolve("helm");
        if (!Files.isExecutable(helm)) {
            throw new IllegalStateException("No helm at " + helm + ": build it first with e2e/build-helm.sh");
        }
        return helm;
    }

    public static Result run(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(binary().toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().put("HELM_CACHE_HOME", System.getProperty("java.io.tmpdir") + "/pollard-helm-cache");
        Process helm = builder.start();
        String out = new String(helm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(helm.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!helm.waitFor(120, TimeUnit.SECONDS)) {
            helm.destroyForcibly();
            throw new IllegalStateException("helm " + String.join(" ", args) + " did not finish");
        }
        return new Result(helm.exitValue(), out, err);
    }

    /** {@code helm template} of release "pollard" in namespace, with these extra arguments (e.g. --set a=b); must succeed. */
    public static String template(String namespace, String... extra) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("template", "pollard", CHART.toString(), "--namespace", namespace,
                "--kube-version", RealApiServer.version()));
        args.addAll(List.of(extra));
        Result result = run(args.toArray(String[]::new));
        if (result.exitCode() != 0) {
            throw new AssertionError("helm " + String.join(" ", args) + " failed:\n" + result.err());
        }
        return result.out();
    }
}
