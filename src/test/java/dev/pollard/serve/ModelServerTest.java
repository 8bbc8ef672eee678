package dev.pollard.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pollard.data.Digests;
import dev.pollard.energy.EnergyCounter;
import dev.pollard.testing.TinyOnnx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The model server over a real ONNX Runtime session, called over real HTTP on loopback. */
class ModelServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    @TempDir
    static Path dir;
    private static final SettableCounter ENERGY = new SettableCounter();
    private static ModelServer server;
    private static String base;

    @BeforeAll
    static void start() throws Exception {
        Path model = TinyOnnx.write(dir.resolve("tiny.onnx"));
        server = Serving.loaded(model, "tiny", ServerSettings.loopback(), ENERGY);
        base = "http://127.0.0.1:" + server.port();
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> infer(String model, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v2/models/" + model + "/infer"))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void answersInferRequestsWithWhatTheModelComputes() throws Exception {
        float[] a = {1f, 2f, 3f, 4f};
        float[] b = {-1f, 0.5f, 0f, 2f};
        HttpResponse<String> response = infer("tiny", "{\"id\":\"r1\",\"inputs\":[{\"name\":\"input\",\"shape\":[2,4],"
                + "\"datatype\":\"FP32\",\"data\":[1,2,3,4,-1,0.5,0,2]}]}");
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        JsonNode body = JSON.readTree(response.body());
        assertThat(body.get("id").asText()).isEqualTo("r1");
        JsonNode out = body.get("outputs").get(0);
        assertThat(out.get("name").asText()).isEqualTo("probabilities");
        assertThat(out.get("shape").toString()).isEqualTo("[2,3]");
        double[] ea = TinyOnnx.expected(a);
        double[] eb = TinyOnnx.expected(b);
        for (int c = 0; c < 3; c++) {
            assertThat(out.get("data").get(c).asDouble()).isCloseTo(ea[c], within(1e-5));
            assertThat(out.get("data").get(3 + c).asDouble()).isCloseTo(eb[c], within(1e-5));
        }
    }

    @Test
    void healthAndMetadata() throws Exception {
        assertThat(get("/v2/health/ready").statusCode()).isEqualTo(200);
        assertThat(get("/v2/health/live").statusCode()).isEqualTo(200);
        assertThat(get("/v2/models/tiny/ready").statusCode()).isEqualTo(200);
        JsonNode meta = JSON.readTree(get("/v2/models/tiny").body());
        assertThat(meta.get("inputs").get(0).get("name").asText()).isEqualTo("input");
        assertThat(meta.get("inputs").get(0).get("shape").toString()).isEqualTo("[-1,4]");
        assertThat(meta.get("outputs").get(0).get("datatype").asText()).isEqualTo("FP32");
    }

    @Test
    void badRequestsNameTheFieldThatIsWrong() throws Exception {
        assertError(infer("tiny", "{not json"), 400, "request body is not valid JSON");
        assertError(infer("tiny", "{}"), 400, "inputs: required");
        assertError(infer("tiny", "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}"),
                400, "inputs[].name: 'x' is not an input of tiny");
        assertError(infer("tiny", "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,5],\"datatype\":\"FP32\",\"data\":[1,2,3,4,5]}]}"),
                400, "inputs[input].shape: dimension 1 is 5");
        assertError(infer("tiny", "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,4],\"datatype\":\"INT64\",\"data\":[1,2,3,4]}]}"),
                400, "inputs[input].datatype: 'INT64', the model expects FP32");
        assertError(infer("tiny", "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3]}]}"),
                400, "inputs[input].data: 3 values for shape [1, 4]");
        assertError(infer("other", "{}"), 404, "no model 'other': this server serves 'tiny'");
    }

    @Test
    void metricsCountRequestsAndInferencesAndExportJoulesWhenMetered() throws Exception {
        String model = "model=\"tiny\",model_sha256=\"" + Digests.sha256(dir.resolve("tiny.onnx")) + "\"";
        String before = get("/metrics").body();
        ENERGY.joules += 0.5;
        infer("tiny", "{\"inputs\":[{\"name\":\"input\",\"shape\":[2,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4,5,6,7,8]}]}");
        String after = get("/metrics").body();
        // a batch of two is two inferences
        assertThat(count(after, "pollard_inferences_total{" + model + "}")).isEqualTo(count(before, "pollard_inferences_total{"
                + model + "}") + 2);
        assertThat(count(after, "pollard_inference_duration_seconds_count{" + model + "}"))
                .isEqualTo(count(before, "pollard_inference_duration_seconds_count{" + model + "}") + 1);
        assertThat(after).contains("# TYPE pollard_http_requests_total counter\n")
                .contains("pollard_http_requests_total{model=\"tiny\",route=\"/v2/models/{name}/infer\",code=\"200\"}")
                .contains("# TYPE pollard_inference_duration_seconds histogram\n")
                .contains("pollard_inference_duration_seconds_bucket{" + model + ",le=\"+Inf\"}")
                .contains("# TYPE pollard_energy_joules_total counter\n")
                // joules since the model was loaded, at 100 J on the meter
                .contains("pollard_energy_joules_total{" + model + ",meter=\"test\"} " + (ENERGY.joules - 100))
                .doesNotContain("joules_per_inference");
    }

    private static long count(String metrics, String series) {
        return metrics.lines().filter(l -> l.startsWith(series + " ")).mapToLong(l -> Long.parseLong(l.substring(series.length() + 1)))
                .findFirst().orElse(0);
    }

    private static void assertError(HttpResponse<String> response, int code, String message) throws Exception {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(code);
        assertThat(JSON.readTree(response.body()).get("error").asText()).contains(message);
    }

    /** A meter the test sets by hand. */
    static final class SettableCounter implements EnergyCounter {
        volatile double joules = 100;

        @Override
        public String name() {
            return "test";
        }

        @Override
        public double totalJoules() {
            return joules;
        }
    }
}
