package dev.pollard.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pollard.data.Digests;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The scenario on the local control plane (e2e/cluster.sh) with a process node, and the operator as its own process
 * ({@code pollard operator} from the packaged jar), killed with SIGKILL mid-run.
 */
class PruningE2E extends PruningScenario {
    private E2EEnvironment env;
    private OperatorProcess operator;

    @Override
    protected KubernetesClient startCluster() throws Exception {
        env = E2EEnvironment.start("gpu-node-1",
                Map.of("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3", "pollard.dev/pool", "gpu"),
                Map.of("nvidia.com/gpu", "4")); // two serving replicas, one more during a rollout, one worker
        operator = new OperatorProcess(env.cluster().kubeconfig(), env.cluster().dir()).start();
        return env.client();
    }

    @Override
    protected void stopCluster() throws Exception {
        if (operator != null) {
            operator.close();
        }
        if (env != null) {
            env.close();
        }
    }

    @Override
    protected String nodeName() {
        return env.node().name();
    }

    @Override
    protected void provideClaims(String namespace) throws Exception {
        Path models = env.node().provideClaim(namespace, "pollard-models");
        Path data = env.node().provideClaim(namespace, "pollard-data");
        if (namespace.equals("default")) {
            try (InputStream embedded = PruningE2E.class.getResourceAsStream("/models/fashion-cnn.onnx")) {
                Files.createDirectories(models.resolve("fashion-cnn"));
                Files.copy(embedded, models.resolve("fashion-cnn/model.onnx"));
            }
            Files.createDirectories(data.resolve("fashion-mnist"));
            try (var files = Files.list(Path.of("/usr/share/datasets/fashion-mnist"))) {
                for (Path f : files.toList()) {
                    Files.copy(f, data.resolve("fashion-mnist").resolve(f.getFileName()));
                }
            }
        }
    }

    @Override
    protected String sha256(String pvcUri) throws Exception {
        String rest = pvcUri.substring("pvc://".length());
        int slash = rest.indexOf('/');
        return Digests.sha256(env.node().claimDir(rest.substring(0, slash)).resolve(rest.substring(slash + 1)));
    }

    @Override
    protected void killOperator() throws Exception {
        operator.kill();
    }

    @Override
    protected void restartOperator() throws Exception {
        operator.start();
    }

    @Override
    protected void assertOperatorHealthy() throws Exception {
        assertThat(operator.isAlive()).as(operator.log()).isTrue();
    }

    @Override
    protected Path kubeconfig() {
        return env.cluster().kubeconfig();
    }

    @Override
    protected Optional<ThreadHold> holdWorker(String namespace, Predicate<List<Object>> when) {
        return Optional.of(env.node().hold(pod -> namespace.equals(pod.getMetadata().getNamespace())
                && "pruning".equals(pod.getMetadata().getLabels().get("app.kubernetes.io/component")),
                "dev.pollard.worker.ProgressServer", "update", when, "respond"));
    }

    @Override
    protected URI reach(Pod pod, int port) {
        return URI.create("http://" + pod.getStatus().getPodIP() + ":" + port);
    }
}
