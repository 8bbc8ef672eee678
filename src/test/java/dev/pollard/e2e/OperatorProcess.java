package dev.pollard.e2e;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The operator as users run it, {@code pollard operator} from the packaged jar, in its own process against the local
 * control plane, so a test can kill it outright (SIGKILL, no shutdown hooks) and start it again.
 */
final class OperatorProcess implements AutoCloseable {
    private final Path kubeconfig;
    private final Path log;
    private final int httpPort;
    private Process process;
    private int starts;

    OperatorProcess(Path kubeconfig, Path dir) throws IOException {
        this.kubeconfig = kubeconfig;
        this.log = Files.createDirectories(dir).resolve("operator.log");
        try (ServerSocket socket = new ServerSocket(0, 0, InetAddress.getLoopbackAddress())) {
            this.httpPort = socket.getLocalPort(); // on 127.0.0.1: pods of the process node listen on 127.0.0.2 and up
        }
    }

    OperatorProcess start() throws IOException {
        List<String> command = new ArrayList<>(LocalCluster.pollardCommand());
        // health and metrics, as the Deployment serves them, on a port of its own
        command.addAll(1, List.of("-Dquarkus.http.host-enabled=true", "-Dquarkus.http.host=127.0.0.1",
                "-Dquarkus.http.port=" + httpPort));
        command.add("operator");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.environment().put("KUBECONFIG", kubeconfig.toString());
        Files.writeString(log, "---- start " + ++starts + "\n", StandardOpenOption.APPEND,
                StandardOpenOption.CREATE);
        process = builder.start();
        return this;
    }

    /** SIGKILL: what an OOM kill or a lost node does to the operator's pod. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** How many times the process has been started. */
    int starts() {
        return starts;
    }

    /** Where the operator serves {@code path} (health, metrics) on this machine. */
    java.net.URI url(String path) {
        return java.net.URI.create("http://127.0.0.1:" + httpPort + path);
    }

    /** The operator's output so far, for assertion messages. */
    String log() throws IOException {
        return Files.readString(log);
    }

    @Override
    public void close() throws InterruptedException {
        if (isAlive()) {
            process.destroy();
            process.waitFor();
        }
    }
}
