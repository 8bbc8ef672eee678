package dev.pollard.e2e;

import dev.pollard.testing.RealApiServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The real kubectl (built with the control plane by e2e/build-k8s.sh) against a test cluster, as a user types it. */
record Kubectl(Path kubeconfig) {

    record Result(int exitCode, String output) {
    }

    Result run(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(RealApiServer.binaryDir().resolve("kubectl").toString(),
                "--kubeconfig", kubeconfig.toString()));
        command.addAll(List.of(args));
        Process kubectl = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(kubectl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!kubectl.waitFor(120, TimeUnit.SECONDS)) {
            kubectl.destroyForcibly();
            throw new IllegalStateException("kubectl " + String.join(" ", args) + " did not finish:\n" + out);
        }
        return new Result(kubectl.exitValue(), out);
    }

    /** Runs and fails unless kubectl exits 0; returns its output. */
    String ok(String... args) throws IOException, InterruptedException {
        Result result = run(args);
        if (result.exitCode() != 0) {
            throw new AssertionError("kubectl " + String.join(" ", args) + " exited " + result.exitCode() + ":\n"
                    + result.output());
        }
        return result.output();
    }
}
