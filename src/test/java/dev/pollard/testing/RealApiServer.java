package dev.pollard.testing;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubeapitest.KubeAPITestException;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;

/**
 * One real kube-apiserver + etcd per test JVM, built from source by {@code e2e/build-k8s.sh} (never a mock server).
 * Started on first use and stopped when the JVM exits; each test works in a namespace of its own.
 */
public final class RealApiServer {
    private static KubeAPIServer server;
    private static String kubeConfigYaml;

    private RealApiServer() {
    }

    public static synchronized String kubeConfigYaml() {
        if (server == null) {
            start();
        }
        return kubeConfigYaml;
    }

    /** A new client as cluster admin (the caller closes it). */
    public static KubernetesClient adminClient() {
        return new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(kubeConfigYaml())).build();
    }

    public static String version() {
        return System.getProperty("pollard.k8s.version", "1.33.13");
    }

    /** Directory holding k8s/VERSION-linux-amd64/{kube-apiserver,etcd,kubectl}. */
    public static Path binaryRoot() {
        String dir = System.getenv("POLLARD_K8S_CACHE");
        return dir != null ? Path.of(dir) : Path.of(System.getProperty("user.home"), ".cache", "pollard");
    }

    public static Path binaryDir() {
        return binaryRoot().resolve("k8s").resolve(version() + "-linux-amd64");
    }

    private static void start() {
        Path apiserver = binaryDir().resolve("kube-apiserver");
        if (!Files.isExecutable(apiserver)) {
            throw new IllegalStateException("No kube-apiserver at " + apiserver
                    + ": build the control plane first with e2e/build-k8s.sh (the tests never use a mock server)");
        }
        // kube-api-test 7.4 times its readiness poll with LocalTime, which wraps at midnight: a start less than the
        // startup timeout before midnight fails at once (a CI run started at 23:56 did). Such an attempt is stopped
        // and made again, on a monotonic deadline, until the poll's own deadline no longer wraps.
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        while (true) {
            server = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig()
                    .withTestDir(binaryRoot().toString())
                    .withApiServerVersion(version())
                    .withOfflineMode(true)
                    .withUpdateKubeConfig(false)
                    .withStartupTimeout(60_000) // a bound for failures only: it starts in seconds
                    .build());
            try {
                server.start();
                break;
            } catch (KubeAPITestException e) {
                server.stop();
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                System.out.println("[pollard-test] kube-apiserver did not start (" + e.getMessage() + "); starting it again");
            }
        }
        kubeConfigYaml = server.getKubeConfigYaml();
        Runtime.getRuntime().addShutdownHook(new Thread(server::stop, "kube-apiserver-stop"));
        try (KubernetesClient client = adminClient()) {
            // said on stdout so a CI log shows which server the API tier really ran against
            System.out.printf("[pollard-test] real kube-apiserver %s (from %s) at %s%n",
                    client.getKubernetesVersion().getGitVersion(), apiserver, client.getMasterUrl());
        }
    }

    /** Creates a namespace with a random name for one test. */
    public static String newNamespace(KubernetesClient client, String prefix) {
        String name = prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
        Namespace ns = new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build();
        client.namespaces().resource(ns).create();
        return name;
    }
}
