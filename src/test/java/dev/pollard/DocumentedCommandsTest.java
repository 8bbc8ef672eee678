package dev.pollard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.pollard.testing.Helm;
import dev.pollard.testing.RealApiServer;
import dev.pollard.testing.Resources;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import picocli.CommandLine;

/**
 * Every shell block of the README and docs/ runs as written, as far as a test can tell without doing what it says:
 * bash runs each block in a copy of the repository whose commands record their arguments instead of acting, then
 * each recorded command is checked by the real thing:
 * <ul>
 * <li>{@code kubectl}: the real kubectl against the real API server with Pollard's CRDs (changes as {@code
 * --dry-run=server}, watches as one listing); it must succeed or fail only with the server's own answer (e.g. NotFound
 * for an object a cluster of that section would have), never with a usage error;</li>
 * <li>{@code ./pollard}: the arguments parse with the application's own command line (options, types, required);</li>
 * <li>the repository's scripts: they exist, are executable and pass {@code bash -n}.</li>
 * </ul>
 */
class DocumentedCommandsTest {
    private static final Pattern SHELL_BLOCK = Pattern.compile("^```(?:bash|sh|shell)\\n(.*?)^```", Pattern.MULTILINE
            | Pattern.DOTALL);
    /** kubectl verbs that change objects: checked with --dry-run=server so nothing changes. */
    private static final Set<String> CHANGING_VERBS = Set.of("apply", "create", "delete", "patch", "replace", "label",
            "annotate", "scale");
    /** Directories of the repository copied into the sandbox, their scripts replaced by recorders. */
    private static final Set<String> SKIPPED = Set.of(".git", "target", "src");
    private static final Path REPO = Path.of("").toAbsolutePath();

    private static KubernetesClient client;
    private static Path sandbox;

    @BeforeAll
    static void installCrds() throws IOException {
        client = RealApiServer.adminClient();
        Resources.installCrds(client);
        sandbox = Files.createTempDirectory("pollard-documented-commands");
    }

    /** Removes the sandboxes: their links, never what the links point to. */
    @AfterAll
    static void cleanUp() throws IOException {
        client.close();
        try (var paths = Files.walk(sandbox)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @TestFactory
    Stream<DynamicTest> everyShellBlockRunsAsWritten() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path doc : documents()) {
            Matcher m = SHELL_BLOCK.matcher(Files.readString(doc));
            int n = 0;
            while (m.find()) {
                String block = m.group(1);
                String name = REPO.relativize(doc) + " block " + ++n;
                Path dir = sandbox.resolve("block-" + tests.size());
                tests.add(DynamicTest.dynamicTest(name, () -> check(name, block, dir)));
            }
        }
        assertThat(tests).as("shell blocks in the README").isNotEmpty();
        return tests.stream();
    }

    private static List<Path> documents() throws IOException {
        List<Path> docs = new ArrayList<>(List.of(REPO.resolve("README.md")));
        try (var files = Files.list(REPO.resolve("docs"))) {
            files.filter(f -> f.toString().endsWith(".md")).sorted().forEach(docs::add);
        }
        return docs;
    }

    private void check(String name, String block, Path sandbox) throws Exception {
        Path log = Files.createDirectories(sandbox).resolve("invocations");
        Files.createFile(log);
        Path root = mirror(sandbox.resolve("repo"), log);
        Path bin = Files.createDirectories(sandbox.resolve("bin"));
        for (String tool : List.of("kubectl", "mvn", "curl", "helm")) {
            recorder(bin.resolve(tool), tool, log);
        }
        ProcessBuilder builder = new ProcessBuilder("bash", "-c", "set -eo pipefail\n" + block + "\nwait\n")
                .directory(root.toFile()).redirectErrorStream(true);
        builder.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        Process bash = builder.start();
        bash.getOutputStream().close();
        String out = new String(bash.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(bash.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(bash.exitValue()).as("%s ran by bash in a sandbox whose commands only record:\n%s", name, out).isZero();

        List<List<String>> invocations = Files.readAllLines(log).stream().map(DocumentedCommandsTest::decode).toList();
        assertThat(invocations).as(name + " runs no command").isNotEmpty();
        for (List<String> command : invocations) {
            switch (command.get(0)) {
                case "kubectl" -> checkKubectl(name, command.subList(1, command.size()));
                case "./pollard" -> checkPollard(name, command.subList(1, command.size()));
                case "helm" -> checkHelm(name, command.subList(1, command.size()));
                default -> {
                    if (command.get(0).endsWith(".sh")) {
                        checkScript(name, command.get(0));
                    }
                }
            }
        }
    }

    /** The repository's top level in the sandbox: scripts and ./pollard record their calls, everything else is linked. */
    private static Path mirror(Path root, Path log) throws IOException {
        Files.createDirectories(root);
        try (var entries = Files.list(REPO)) {
            for (Path entry : entries.toList()) {
                String name = entry.getFileName().toString();
                if (SKIPPED.contains(name)) {
                    continue;
                }
                if (name.equals("pollard")) {
                    recorder(root.resolve(name), "./pollard", log);
                } else if (Files.isDirectory(entry)) {
                    Path dir = Files.createDirectories(root.resolve(name));
                    try (var files = Files.list(entry)) {
                        for (Path f : files.toList()) {
                            String file = f.getFileName().toString();
                            if (file.endsWith(".sh") && Files.isExecutable(f)) {
                                recorder(dir.resolve(file), name + "/" + file, log);
                            } else {
                                Files.createSymbolicLink(dir.resolve(file), f);
                            }
                        }
                    }
                } else {
                    Files.createSymbolicLink(root.resolve(name), entry);
                }
            }
        }
        return root;
    }

    /**
     * An executable that appends its name and arguments (base64, space-separated) as one line to the log, in a single
     * write: commands sent to the background write at the same time.
     */
    private static void recorder(Path at, String name, Path log) throws IOException {
        String script = "#!/usr/bin/env bash\n"
                + "line=$(printf '%s' " + quote(name) + " | base64 -w0)\n"
                + "for a in \"$@\"; do line+=\" $(printf '%s' \"$a\" | base64 -w0)\"; done\n"
                + "printf '%s\\n' \"$line\" >> " + quote(log.toString()) + "\n";
        Files.writeString(at, script);
        Files.setPosixFilePermissions(at, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    private static List<String> decode(String line) {
        return Arrays.stream(line.split(" ", -1))
                .map(a -> new String(Base64.getDecoder().decode(a), StandardCharsets.UTF_8)).toList();
    }

    private static void checkKubectl(String block, List<String> args) throws Exception {
        List<String> command = new ArrayList<>(List.of(RealApiServer.binaryDir().resolve("kubectl").toString()));
        Path kubeconfig = Files.createTempFile("kubeconfig", ".yaml");
        Files.writeString(kubeconfig, RealApiServer.kubeConfigYaml());
        command.addAll(List.of("--kubeconfig", kubeconfig.toString()));
        for (String a : args) {
            if (!a.equals("-w") && !a.equals("--watch")) { // a watch never ends: list once instead
                command.add(a);
            }
        }
        if (!args.isEmpty() && CHANGING_VERBS.contains(args.get(0))) {
            command.add("--dry-run=server");
        }
        Process kubectl = new ProcessBuilder(command).directory(REPO.toFile()).redirectErrorStream(true).start();
        String out = new String(kubectl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(kubectl.waitFor(60, TimeUnit.SECONDS)).isTrue();
        Files.delete(kubeconfig);
        if (kubectl.exitValue() == 0 || (args.get(0).equals("diff") && kubectl.exitValue() == 1)) {
            return; // for kubectl diff, 1 means "differences found"
        }
        if (args.size() > 1 && args.get(0).equals("auth") && args.get(1).equals("can-i") && out.strip().endsWith("no")) {
            return; // a well-formed question answered "no" (exit 1)
        }
        // the server answered (e.g. NotFound for an object that a cluster at that point of the section would have), or
        // a jsonpath found no object to read in an empty test cluster: the command itself is well formed
        List<String> errors = out.lines().filter(l -> l.startsWith("Error") || l.startsWith("error")).toList();
        boolean serverAnswers = !errors.isEmpty() && errors.stream()
                .allMatch(l -> l.startsWith("Error from server") || l.contains("error executing jsonpath"));
        if (!serverAnswers) {
            fail("%s: `kubectl %s` is refused by kubectl itself:%n%s", block, String.join(" ", args), out);
        }
    }

    /** helm install or upgrade: the same chart and values rendered with helm template (no cluster needed). */
    private static void checkHelm(String block, List<String> args) throws Exception {
        if (args.isEmpty() || !List.of("install", "upgrade", "template", "lint").contains(args.get(0))) {
            fail("%s: `helm %s` is not a command these docs should need", block, String.join(" ", args));
        }
        List<String> template = new ArrayList<>(List.of(args.get(0).equals("lint") ? "lint" : "template"));
        args.subList(1, args.size()).stream().filter(a -> !Set.of("--create-namespace", "--wait", "--atomic").contains(a))
                .forEach(template::add);
        template.addAll(List.of("--kube-version", RealApiServer.version()));
        Helm.Result result = Helm.run(template.toArray(String[]::new));
        assertThat(result.exitCode()).as("%s: `helm %s` (checked as helm %s):%n%s", block, String.join(" ", args),
                String.join(" ", template), result.err()).isZero();
    }

    private static void checkPollard(String block, List<String> args) {
        try {
            new CommandLine(new PollardCommand()).parseArgs(args.toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            fail("%s: `./pollard %s` does not parse: %s", block, String.join(" ", args), e.getMessage());
        }
    }

    private static void checkScript(String block, String script) throws Exception {
        Process bash = new ProcessBuilder("bash", "-n", script).directory(REPO.toFile()).redirectErrorStream(true).start();
        String out = new String(bash.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(bash.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(bash.exitValue()).as("%s: %s has a syntax error:%n%s", block, script, out).isZero();
    }
}
