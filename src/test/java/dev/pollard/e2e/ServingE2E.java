package dev.pollard.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pollard.api.InferenceDeployment;
import dev.pollard.data.Digests;
import dev.pollard.operator.InferenceDeploymentReconciler;
import dev.pollard.operator.OperatorSettings;
import dev.pollard.operator.Reason;
import dev.pollard.testing.Resources;
import dev.pollard.testing.TinyOnnx;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An InferenceDeployment on a whole local control plane: the real scheduler and controllers, the process node running
 * {@code pollard serve}, and inference requests answered by the served ONNX model.
 */
class ServingE2E {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static E2EEnvironment env;
    private static KubernetesClient client;
    private static ProcessNode node;

    @BeforeAll
    static void start() throws Exception {
        env = E2EEnvironment.start("cpu-node-1", Map.of(), Map.of(), new InferenceDeploymentReconciler(OperatorSettings.fromEnvironment()));
        client = env.client();
        node = env.node();
    }

    @AfterAll
    static void stop() throws Exception {
        env.close();
    }

    @Test
    void servesTheModelAndKeepsServingWhenAnUpdateIsBroken() throws Exception {
        Path model = TinyOnnx.write(node.provideClaim("default", "pollard-models").resolve("tiny/model.onnx"));
        String sha = Digests.sha256(model);
        InferenceDeployment infd = client.getKubernetesSerialization()
                .convertValue(Resources.readYaml("examples/inferencedeployment.yaml"), InferenceDeployment.class);
        infd.getMetadata().setNamespace("default");
        infd.getMetadata().setName("tiny");
        infd.getSpec().hardwareClass = null;
        infd.getSpec().replicas = 1;
        infd.getSpec().model.uri = "pvc://pollard-models/tiny/model.onnx";
        infd.getSpec().model.sha256 = sha;
        infd.getSpec().model.name = "tiny";
        infd.getSpec().runtime.resources = null;
        client.resource(infd).create();

        await().atMost(LocalCluster.PATIENCE).untilAsserted(() -> {
            InferenceDeployment seen = get();
            assertThat(seen.getStatus()).isNotNull();
            assertThat(seen.getStatus().conditions.get(0).getStatus()).as(seen.getStatus().conditions.get(0).getMessage())
                    .isEqualTo("True");
            assertThat(seen.getStatus().servedModel.sha256).isEqualTo(sha);
        });
        String podIp = readyPodIps().get(0);
        JsonNode answer = infer(podIp);
        double[] expected = TinyOnnx.expected(new float[] {1, 2, 3, 4});
        assertThat(answer.get("outputs").get(0).get("data").get(0).asDouble()).isCloseTo(expected[0],
                org.assertj.core.data.Offset.offset(1e-5));

        // an update whose model does not match its sha256 never becomes ready, and the old pod keeps serving
        client.resources(InferenceDeployment.class).inNamespace("default").withName("tiny").patch(
                PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"model\":{\"sha256\":\"" + "0".repeat(64) + "\"}}}");
        await().atMost(LocalCluster.PATIENCE).untilAsserted(() -> assertThat(get().getStatus().conditions.get(0).getReason())
                .isEqualTo(Reason.RollingOut.name()));
        await().atMost(LocalCluster.PATIENCE).untilAsserted(() -> assertThat(client.pods().inNamespace("default")
                .withLabel("app.kubernetes.io/instance", "tiny").list().getItems()).hasSize(2));
        assertThat(readyPodIps()).containsExactly(podIp);
        assertThat(infer(podIp).get("model_name").asText()).isEqualTo("tiny");
        assertThat(get().getStatus().servedModel.sha256).isEqualTo(sha);
    }

    private static InferenceDeployment get() {
        return client.resources(InferenceDeployment.class).inNamespace("default").withName("tiny").get();
    }

    private static List<String> readyPodIps() {
        return client.pods().inNamespace("default").withLabel("app.kubernetes.io/instance", "tiny").list().getItems().stream()
                .filter(p -> p.getStatus() != null && p.getStatus().getConditions() != null && p.getStatus().getConditions().stream()
                        .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus())))
                .map((Pod p) -> p.getStatus().getPodIP()).toList();
    }

    private static JsonNode infer(String podIp) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://" + podIp + ":8080/v2/models/tiny/infer")).POST(HttpRequest.BodyPublishers.ofString(
                        "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return JSON.readTree(response.body());
    }
}
