package dev.pollard.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.LocalPortForward;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container;
import org.testcontainers.images.builder.ImageFromDockerfile;
import org.testcontainers.k3s.K3sContainer;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.MountableFile;

/**
 * The scenario on k3s in a container (Testcontainers): the image is built from Containerfile and imported into k3s,
 * the operator is installed from manifests/ as a user would, and killed by deleting its pod. The k3s node is labelled
 * and given {@code nvidia.com/gpu} capacity like a GPU node. Needs a Docker engine; where there is none (Pollard's
 * build machines) the suite is skipped with a message saying so.
 */
class K3sPruningE2E extends PruningScenario {
    static final String IMAGE = "ghcr.io/pollard-dev/pollard:0.1.0"; // what manifests/ and the operator's default name
    static final String K3S = "rancher/k3s:v1.33.5-k3s1";
    static final String STORAGE = "/var/lib/pollard-e2e/";
    private K3sContainer k3s;
    private final List<LocalPortForward> forwards = new ArrayList<>();
    private String node;

    @Override
    protected KubernetesClient startCluster() throws Exception {
        boolean docker;
        try {
            docker = DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            docker = false;
        }
        if (!docker) {
            System.out.println("[pollard-e2e] K3sPruningE2E skipped: no Docker engine on this machine (Testcontainers "
                    + "needs one to run k3s); PruningE2E runs the same scenario on the local control plane");
        }
        Assumptions.assumeTrue(docker, "no Docker engine on this machine: the k3s variant of the e2e scenario needs one "
                + "(Testcontainers); PruningE2E runs the same scenario on the local control plane");

        String built = new ImageFromDockerfile(IMAGE, false)
                .withFileFromPath("Containerfile", Path.of("Containerfile"))
                .withFileFromPath("target/quarkus-app", Path.of("target/quarkus-app"))
                .withDockerfilePath("Containerfile").get(10, TimeUnit.MINUTES);
        k3s = new K3sContainer(DockerImageName.parse(K3S));
        k3s.start();
        importImage(built);

        KubernetesClient c = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(k3s.getKubeConfigYaml())).build();
        node = c.nodes().list().getItems().get(0).getMetadata().getName();
        c.nodes().withName(node).edit(n -> new NodeBuilder(n).editMetadata()
                .addToLabels(Map.of("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3", "pollard.dev/pool", "gpu"))
                .endMetadata().build());
        // extended resources are advertised through the node's status, as a device plugin would
        c.nodes().withName(node).editStatus(n -> new NodeBuilder(n).editStatus()
                .addToCapacity("nvidia.com/gpu", new Quantity("2")).addToAllocatable("nvidia.com/gpu", new Quantity("2"))
                .endStatus().build());
        // the operator as users install it: every file of manifests/, in order
        try (var files = Files.list(Path.of("manifests"))) {
            for (Path f : files.sorted().toList()) {
                c.load(Files.newInputStream(f)).serverSideApply();
            }
        }
        client = c;
        awaitOperatorReady();
        return c;
    }

    /** docker save | ctr import: k3s runs containerd, which does not see the Docker engine's images. */
    private void importImage(String image) throws Exception {
        Path tar = Files.createTempFile("pollard-image", ".tar");
        try (InputStream saved = DockerClientFactory.instance().client().saveImageCmd(image).exec()) {
            Files.copy(saved, tar, StandardCopyOption.REPLACE_EXISTING);
        }
        k3s.copyFileToContainer(MountableFile.forHostPath(tar), "/tmp/pollard-image.tar");
        exec("ctr", "-n", "k8s.io", "images", "import", "/tmp/pollard-image.tar");
        Files.delete(tar);
    }

    @Override
    protected void stopCluster() throws Exception {
        for (LocalPortForward f : forwards) {
            f.close();
        }
        if (client != null) {
            client.close();
        }
        if (k3s != null) {
            k3s.stop();
        }
    }

    @Override
    protected String nodeName() {
        return node;
    }

    /** Static PersistentVolumes on a directory of the k3s node, filled with the example's files for "default". */
    @Override
    protected void provideClaims(String namespace) throws Exception {
        for (String claim : List.of("pollard-models", "pollard-data")) {
            exec("mkdir", "-p", STORAGE + claim);
            client.resource(new PersistentVolumeBuilder().withNewMetadata().withName("pv-" + namespace + "-" + claim)
                    .endMetadata().withNewSpec().withCapacity(Map.of("storage", new Quantity("1Gi")))
                    .withAccessModes("ReadWriteMany").withStorageClassName("")
                    .withNewHostPath().withPath(STORAGE + claim).endHostPath()
                    .withNewClaimRef().withNamespace(namespace).withName(claim).endClaimRef().endSpec().build()).create();
            client.resource(new PersistentVolumeClaimBuilder().withNewMetadata().withName(claim).withNamespace(namespace)
                    .endMetadata().withNewSpec().withAccessModes("ReadWriteMany").withStorageClassName("")
                    .withVolumeName("pv-" + namespace + "-" + claim)
                    .withNewResources().addToRequests("storage", new Quantity("1Gi")).endResources().endSpec().build())
                    .create();
        }
        if (namespace.equals("default")) {
            Path model = Files.createTempFile("fashion-cnn", ".onnx");
            try (InputStream embedded = K3sPruningE2E.class.getResourceAsStream("/models/fashion-cnn.onnx")) {
                Files.copy(embedded, model, StandardCopyOption.REPLACE_EXISTING);
            }
            k3s.copyFileToContainer(MountableFile.forHostPath(model), STORAGE + "pollard-models/fashion-cnn/model.onnx");
            k3s.copyFileToContainer(MountableFile.forHostPath("/usr/share/datasets/fashion-mnist"),
                    STORAGE + "pollard-data/fashion-mnist");
            exec("chmod", "-R", "a+rwX", STORAGE); // worker pods run as uid 10001
        }
    }

    @Override
    protected String sha256(String pvcUri) throws Exception {
        String path = STORAGE + pvcUri.substring("pvc://".length());
        return exec("sha256sum", path).split("\\s+")[0];
    }

    @Override
    protected void killOperator() {
        client.pods().inNamespace("pollard-system").withLabel("app.kubernetes.io/component", "operator")
                .withGracePeriod(0).delete();
    }

    @Override
    protected void restartOperator() {
        awaitOperatorReady(); // its Deployment starts a new pod
    }

    @Override
    protected void assertOperatorHealthy() {
        List<Pod> pods = operatorPods();
        assertThat(pods).hasSize(1);
        assertThat(pods.get(0).getStatus().getContainerStatuses().get(0).getRestartCount()).as("operator restarts").isZero();
    }

    @Override
    protected Path kubeconfig() throws Exception {
        Path file = Files.createTempFile("k3s", ".kubeconfig");
        Files.writeString(file, k3s.getKubeConfigYaml());
        return file;
    }

    @Override
    protected URI reach(Pod pod, int port) {
        LocalPortForward forward = client.pods().inNamespace(pod.getMetadata().getNamespace())
                .withName(pod.getMetadata().getName()).portForward(port);
        forwards.add(forward);
        return URI.create("http://127.0.0.1:" + forward.getLocalPort());
    }

    /**
     * A k3s node runs containers, not processes this test can debug: the k3s variant kills the operator at whatever
     * point the run has reached and asserts what holds at any point (adoption, one Job, the result); PruningE2E holds
     * the worker to prove the kill lands mid-run.
     */
    @Override
    protected Optional<ThreadHold> holdWorker(String namespace, Predicate<List<Object>> when) {
        return Optional.empty();
    }

    private void awaitOperatorReady() {
        await().atMost(LocalCluster.PATIENCE).untilAsserted(() ->
                assertThat(operatorPods()).singleElement().satisfies(p -> assertThat(p.getStatus().getConditions())
                        .anySatisfy(c -> {
                            assertThat(c.getType()).isEqualTo("Ready");
                            assertThat(c.getStatus()).isEqualTo("True");
                        })));
    }

    private List<Pod> operatorPods() {
        return client.pods().inNamespace("pollard-system").withLabel("app.kubernetes.io/component", "operator").list()
                .getItems().stream().filter(p -> p.getMetadata().getDeletionTimestamp() == null).toList();
    }

    private String exec(String... command) throws Exception {
        Container.ExecResult result = k3s.execInContainer(command);
        if (result.getExitCode() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed in k3s: " + result.getStderr());
        }
        return result.getStdout();
    }
}
