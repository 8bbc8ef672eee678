package dev.pollard.e2e;

import dev.pollard.data.FashionMnist;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * The process node for people, not tests ({@code e2e/process-node.sh}): registers a GPU-labelled node on the current
 * kubeconfig's cluster, provides the example's claims in the default namespace, seeded with the embedded model and
 * Debian's Fashion-MNIST, and runs the pods bound to the node until interrupted.
 */
public final class ProcessNodeMain {
    private ProcessNodeMain() {
    }

    public static void main(String[] args) throws Exception {
        String name = args.length > 0 ? args[0] : "gpu-node-1";
        Path root = Path.of(args.length > 1 ? args[1] : "/tmp/pollard-node").toAbsolutePath();
        KubernetesClient client = new KubernetesClientBuilder().build();
        ProcessNode node = new ProcessNode(client, name, root, LocalCluster.pollardCommand())
                .start(Map.of("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3", "pollard.dev/pool", "gpu"),
                        Map.of("nvidia.com/gpu", "4")); // two serving replicas, one more during a rollout, one worker
        Path models = node.provideClaim("default", "pollard-models");
        Path data = node.provideClaim("default", "pollard-data");
        if (!Files.exists(models.resolve("fashion-cnn/model.onnx"))) {
            Files.createDirectories(models.resolve("fashion-cnn"));
            try (InputStream embedded = ProcessNodeMain.class.getResourceAsStream("/models/fashion-cnn.onnx")) {
                Files.copy(embedded, models.resolve("fashion-cnn/model.onnx"));
            }
        }
        Files.createDirectories(data.resolve("fashion-mnist"));
        for (Path f : list(FashionMnist.locate(FashionMnist.INSTALLED, FashionMnist.cached(), System.err))) {
            if (!Files.exists(data.resolve("fashion-mnist").resolve(f.getFileName()))) {
                Files.copy(f, data.resolve("fashion-mnist").resolve(f.getFileName()));
            }
        }
        System.out.printf("process node %s ready (pods' files under %s); claims pollard-models and pollard-data in namespace "
                + "default hold the example's model and dataset. Ctrl-C stops it.%n", name, root);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            node.close();
            client.close();
            stopped.countDown();
        }));
        stopped.await();
    }

    private static List<Path> list(Path dir) throws java.io.IOException {
        try (var files = Files.list(dir)) {
            return files.toList();
        }
    }
}
