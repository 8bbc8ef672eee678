package dev.pollard.e2e;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** A whole local control plane from e2e/cluster.sh (etcd, apiserver, controller-manager, scheduler), one per test class. */
public final class LocalCluster implements AutoCloseable {
    /**
     * How long an e2e step may take before the test gives up: a bound for failures only, far above the slowest honest
     * step (a whole pruning run takes under a minute on an idle 2-core machine). Nothing waits for it to pass.
     */
    public static final Duration PATIENCE = Duration.ofMinutes(20);
    private final Path dir;
    private final Path kubeconfig;

    private LocalCluster(Path dir, Path kubeconfig) {
        this.dir = dir;
        this.kubeconfig = kubeconfig;
    }

    public static LocalCluster start() throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("pollard-e2e-");
        Process up = new ProcessBuilder("e2e/cluster.sh", "up", dir.resolve("cluster").toString())
                .redirectErrorStream(true).start();
        String out = new String(up.getInputStream().readAllBytes());
        if (up.waitFor() != 0) {
            throw new IllegalStateException("e2e/cluster.sh up failed:\n" + out);
        }
        List<String> lines = out.lines().toList();
        Path kubeconfig = Path.of(lines.get(lines.size() - 1));
        System.out.println("[pollard-e2e] local control plane up, kubeconfig " + kubeconfig);
        return new LocalCluster(dir, kubeconfig);
    }

    public Path dir() {
        return dir;
    }

    public Path kubeconfig() {
        return kubeconfig;
    }

    /**
     * What a crash of the API server does: kube-apiserver alone is SIGKILLed (no graceful shutdown, open watches cut);
     * etcd, the controller manager and the scheduler keep running. Returns once its port refuses connections.
     */
    public void killApiServer() throws IOException, InterruptedException {
        script("kill-apiserver");
    }

    /** What a supervisor does next: kube-apiserver again, on the same port and etcd; returns once it is ready. */
    public void startApiServer() throws IOException, InterruptedException {
        script("start-apiserver");
    }

    private void script(String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("e2e/cluster.sh", command, dir.resolve("cluster").toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException("e2e/cluster.sh " + command + " failed:\n" + out);
        }
    }

    public KubernetesClient client() throws IOException {
        return new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(Files.readString(kubeconfig))).build();
    }

    /** How the process node and the tests start our application: the packaged jar on this JVM. */
    public static List<String> pollardCommand() {
        Path jar = Path.of("target", "quarkus-app", "quarkus-run.jar").toAbsolutePath();
        if (!Files.exists(jar)) {
            throw new IllegalStateException(jar + " is missing: the e2e tests run after `mvn package`");
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        return List.of(java, "-Xmx1g", "-jar", jar.toString());
    }

    @Override
    public void close() throws IOException, InterruptedException {
        new ProcessBuilder("e2e/cluster.sh", "down", dir.resolve("cluster").toString()).inheritIO().start().waitFor();
    }
}
