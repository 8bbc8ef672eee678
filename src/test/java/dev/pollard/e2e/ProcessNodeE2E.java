package dev.pollard.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The fixture itself: the real scheduler binds pods to the process node, which runs them and reports back. */
class ProcessNodeE2E {
    private static LocalCluster cluster;
    private static KubernetesClient client;
    private static ProcessNode node;

    @BeforeAll
    static void start() throws Exception {
        cluster = LocalCluster.start();
        client = cluster.client();
        node = new ProcessNode(client, "gpu-node-1", cluster.dir().resolve("node"), LocalCluster.pollardCommand())
                .start(Map.of("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3"), Map.of("nvidia.com/gpu", "1"));
    }

    @AfterAll
    static void stop() throws Exception {
        node.close();
        client.close();
        cluster.close();
    }

    private static Job job(String name, List<String> args) {
        return new JobBuilder().withNewMetadata().withName(name).withNamespace("default").endMetadata()
                .withNewSpec().withBackoffLimit(0).withNewTemplate().withNewSpec().withRestartPolicy("Never")
                .withNodeSelector(Map.of("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3"))
                .addNewContainer().withName("main").withImage("ghcr.io/pollard-dev/pollard:test").withArgs(args)
                .withNewResources().addToLimits("nvidia.com/gpu", new io.fabric8.kubernetes.api.model.Quantity("1"))
                .endResources().endContainer().endSpec().endTemplate().endSpec().build();
    }

    @Test
    void aJobOnTheGpuNodeRunsOurJarAndCompletes() throws Exception {
        client.resource(job("version", List.of("--version"))).create();
        await().atMost(LocalCluster.PATIENCE).untilAsserted(() -> {
            Job seen = client.batch().v1().jobs().inNamespace("default").withName("version").get();
            assertThat(seen.getStatus().getSucceeded()).isEqualTo(1);
        });
        Pod pod = client.pods().inNamespace("default").withLabel("job-name", "version").list().getItems().get(0);
        assertThat(pod.getSpec().getNodeName()).isEqualTo("gpu-node-1");
        assertThat(Files.readString(cluster.dir().resolve("node/pods").resolve(pod.getMetadata().getUid()).resolve("main.log")))
                .contains("pollard");
    }

    @Test
    void aFailingContainerFailsItsJob() {
        client.resource(job("bad-args", List.of("no-such-command"))).create();
        await().atMost(LocalCluster.PATIENCE).untilAsserted(() -> {
            Job seen = client.batch().v1().jobs().inNamespace("default").withName("bad-args").get();
            assertThat(seen.getStatus().getFailed()).isEqualTo(1);
        });
        Pod pod = client.pods().inNamespace("default").withLabel("job-name", "bad-args").list().getItems().get(0);
        assertThat(pod.getStatus().getContainerStatuses().get(0).getState().getTerminated().getExitCode()).isNotZero();
    }
}
