package dev.pollard.e2e;

import java.io.IOException;
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
    private Process process;
    private int starts;

    OperatorProcess(Path kubeconfig, Path dir) throws IOException {
        this.kubeconfig = kubeconfig;
        this.log = Files.createDirectories(dir).resolve("operator.log");
    }

    OperatorProcess start() throws IOException {
        List<String> command = new ArrayList<>(LocalCluster.pollardCommand());
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
