package dev.pollard.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pollard.api.HardwareClass;
import dev.pollard.api.HardwareClassSpec;
import dev.pollard.api.InferenceDeployment;
import dev.pollard.api.PruningJob;
import dev.pollard.api.PruningJobSpec;
import dev.pollard.api.PruningJobStatus;
import dev.pollard.data.Digests;
import dev.pollard.operator.InferenceDeploymentReconciler;
import dev.pollard.operator.PruningJobReconciler;
import dev.pollard.testing.Resources;
import io.fabric8.kubernetes.api.model.node.v1.RuntimeClassBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The whole path on a local control plane: the example PruningJob becomes a Job, the real scheduler binds its pod to
 * the GPU-labelled process node, {@code pollard prune} runs there, the operator copies the worker's report into
 * status, and the InferenceDeployment serves the pruned model.
 */
class PruningE2E {
    private static E2EEnvironment env;
    private static KubernetesClient client;
    private static ProcessNode node;

    @BeforeAll
    static void start() throws Exception {
        env = E2EEnvironment.start("gpu-node-1",
                Map.of("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3", "pollard.dev/pool", "gpu"),
                Map.of("nvidia.com/gpu", "2"), new PruningJobReconciler(), new InferenceDeploymentReconciler());
        client = env.client();
        node = env.node();
        client.resource(new RuntimeClassBuilder().withNewMetadata().withName("nvidia").endMetadata().withHandler("nvidia")
                .build()).create();
    }

    @AfterAll
    static void stop() throws Exception {
        env.close();
    }

    @Test
    void theExamplePruningJobSucceedsWithRealMetricsAndItsModelIsServed() throws Exception {
        Path models = node.provideClaim("default", "pollard-models");
        Path data = node.provideClaim("default", "pollard-data");
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
        ensureHardwareClass();
        PruningJob pj = client.getKubernetesSerialization().convertValue(Resources.readYaml("examples/pruningjob.yaml"),
                PruningJob.class);
        pj.getMetadata().setNamespace("default");
        pj.getSpec().dataset.evaluationSamples = 2000; // keep the run short; the rest is the example as shipped
        pj.getSpec().strategy.fineTuning.stepsPerIteration = 40;
        pj.getSpec().accuracy.epsilon = 0.03;
        client.resource(pj).create();

        await().atMost(Duration.ofMinutes(8)).pollInterval(Duration.ofSeconds(2)).untilAsserted(() -> {
            PruningJobStatus status = status();
            assertThat(status).isNotNull();
            assertThat(status.phase).as("%s", status.conditions).isIn(PruningJobStatus.Phase.SUCCEEDED);
        });
        PruningJobStatus status = status();
        assertThat(status.conditions.get(0).getStatus()).isEqualTo("True");
        assertThat(status.ratios.energyReduction).isGreaterThanOrEqualTo(0.4);
        assertThat(status.baseline.accuracy - status.result.accuracy).isLessThanOrEqualTo(0.03);
        assertThat(status.baseline.meter).isEqualTo("analytical");
        assertThat(status.iterations).isNotEmpty();
        Path artifact = models.resolve("fashion-cnn/pruned-h100/model.onnx");
        assertThat(status.artifact.uri).isEqualTo("pvc://pollard-models/fashion-cnn/pruned-h100/model.onnx");
        assertThat(status.artifact.sha256).isEqualTo(Digests.sha256(artifact));
        assertThat(client.batch().v1().jobs().inNamespace("default").list().getItems()).hasSize(1);

        await().atMost(Duration.ofMinutes(3)).untilAsserted(() -> {
            InferenceDeployment infd = client.resources(InferenceDeployment.class).inNamespace("default")
                    .withName("fashion-cnn").get();
            assertThat(infd).isNotNull();
            assertThat(infd.getStatus()).isNotNull();
            assertThat(infd.getStatus().servedSha256).isEqualTo(status.artifact.sha256);
        });
        String podIp = client.pods().inNamespace("default").withLabel("app.kubernetes.io/instance", "fashion-cnn")
                .withLabel("app.kubernetes.io/component", "serving").list().getItems().get(0).getStatus().getPodIP();
        StringBuilder pixels = new StringBuilder();
        for (int i = 0; i < 784; i++) {
            pixels.append(i == 0 ? "" : ",").append((i % 28) / 28.0);
        }
        HttpResponse<String> answer = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://" + podIp + ":8080/v2/models/fashion-cnn/infer")).POST(HttpRequest.BodyPublishers.ofString(
                        "{\"inputs\":[{\"name\":\"image\",\"shape\":[1,1,28,28],\"datatype\":\"FP32\",\"data\":[" + pixels
                                + "]}]}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        assertThat(answer.body()).contains("\"shape\":[1,10]");
    }

    /** A model that is not there: the run fails at once with the URI in its reason, and the operator carries on. */
    @Test
    void aMissingModelFailsTheRunWithTheUriInItsReason() throws Exception {
        client.namespaces().resource(new io.fabric8.kubernetes.api.model.NamespaceBuilder().withNewMetadata()
                .withName("missing").endMetadata().build()).create();
        node.provideClaim("missing", "pollard-models");
        node.provideClaim("missing", "pollard-data");
        ensureHardwareClass();
        PruningJob pj = client.getKubernetesSerialization().convertValue(Resources.readYaml("examples/pruningjob.yaml"),
                PruningJob.class);
        pj.getMetadata().setNamespace("missing");
        pj.getSpec().model.uri = "pvc://pollard-models/nowhere/model.onnx";
        pj.getSpec().deployTo = null;
        client.resource(pj).create();
        await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofSeconds(2)).untilAsserted(() -> {
            PruningJobStatus status = client.resources(PruningJob.class).inNamespace("missing").withName("fashion-cnn").get()
                    .getStatus();
            assertThat(status.phase).isEqualTo(PruningJobStatus.Phase.FAILED);
            assertThat(status.conditions.get(0).getReason()).isEqualTo(PruningJobReconciler.REASON_RUN_FAILED);
            assertThat(status.conditions.get(0).getMessage())
                    .contains("model pvc://pollard-models/nowhere/model.onnx: ").contains("no such file");
        });
        // the exit code says retrying cannot help: one pod, no retries, and the Job failed for good
        assertThat(client.pods().inNamespace("missing").list().getItems()).hasSize(1);
        assertThat(env.operator().getRuntimeInfo().allEventSourcesAreHealthy()).isTrue();
    }

    /** The example class, metered by its datasheet model: the process node has no NVIDIA driver. */
    private static void ensureHardwareClass() {
        if (client.resources(HardwareClass.class).withName("h100").get() == null) {
            HardwareClass hwc = client.getKubernetesSerialization()
                    .convertValue(Resources.readYaml("examples/hardwareclass-h100.yaml"), HardwareClass.class);
            hwc.getSpec().meter = HardwareClassSpec.Meter.ANALYTICAL;
            client.resource(hwc).create();
        }
    }

    private static PruningJobStatus status() {
        return client.resources(PruningJob.class).inNamespace("default").withName("fashion-cnn").get().getStatus();
    }
}
