package dev.pollard.e2e;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * The stand-in node for benchmarks ({@code bench/operator-scale.sh}): registers a GPU-labelled node (the labels the
 * local H100 class selects) on the current kubeconfig's cluster with room for many pods, and completes or serves the
 * pods bound to it at once (see {@link StandInNode}) until interrupted.
 *
 * <pre>StandInNodeMain [NODE_NAME] [PODS] [GPUS]     (default stand-in-node-1, 5000, as many GPUs as pods)</pre>
 */
public final class StandInNodeMain {
    private StandInNodeMain() {
    }

    public static void main(String[] args) throws Exception {
        String name = args.length > 0 ? args[0] : "stand-in-node-1";
        int pods = args.length > 1 ? Integer.parseInt(args[1]) : 5000;
        int gpus = args.length > 2 ? Integer.parseInt(args[2]) : pods;
        KubernetesClient client = new KubernetesClientBuilder().build();
        StandInNode node = new StandInNode(client, name, 8)
                .start(Map.of("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3", "pollard.dev/pool", "gpu"), pods,
                        Map.of("nvidia.com/gpu", Integer.toString(gpus)));
        System.out.printf("stand-in node %s ready: room for %d pods and %d GPUs; worker pods complete and serving pods are "
                + "ready at once. Ctrl-C stops it.%n", name, pods, gpus);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("stand-in node " + name + ": " + node.counts());
            node.close();
            client.close();
            stopped.countDown();
        }));
        stopped.await();
    }
}
