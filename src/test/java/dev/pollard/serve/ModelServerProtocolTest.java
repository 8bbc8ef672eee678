package dev.pollard.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.onnx.proto.OnnxMl;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pollard.data.Digests;
import dev.pollard.testing.TinyOnnx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every REST endpoint of the Open Inference Protocol (KServe v2), positive and negative: health, server metadata, model
 * metadata, model ready and infer, each with and without /versions/{version}; the JSON bodies and status codes the
 * protocol gives; and a model that is not ready until it has been loaded and verified.
 */
class ModelServerProtocolTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static final String ONE_SAMPLE = "{\"name\":\"input\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}";
    @TempDir
    static Path dir;
    private static Path tiny;
    private static ModelServer server;

    @BeforeAll
    static void start() throws Exception {
        tiny = TinyOnnx.write(dir.resolve("tiny.onnx"));
        server = new ModelServer("tiny", ServerSettings.loopback(), Map.of(), null).start();
        server.load(tiny, Digests.sha256(tiny));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    @Test
    void serverLiveAndServerReady() throws Exception {
        assertThat(call(server, "GET", "/v2/health/live", null)).isEqualTo(new Answer(200, "{\"live\":true}"));
        assertThat(call(server, "GET", "/v2/health/ready", null)).isEqualTo(new Answer(200, "{\"ready\":true}"));
        assertError(call(server, "POST", "/v2/health/live", "{}"), 405, "POST /v2/health/live: use GET");
        assertError(call(server, "DELETE", "/v2/health/ready", null), 405, "use GET");
    }

    @Test
    void serverMetadata() throws Exception {
        for (String path : List.of("/v2", "/v2/")) {
            Answer answer = call(server, "GET", path, null);
            assertThat(answer.status()).isEqualTo(200);
            assertThat(answer.json().get("name").asText()).isEqualTo("pollard");
            assertThat(answer.json().get("version").asText()).isNotBlank();
            assertThat(answer.json().get("extensions").isArray()).isTrue();
            assertThat(answer.json().get("extensions")).isEmpty();
        }
        assertError(call(server, "POST", "/v2", "{}"), 405, "use GET");
    }

    @Test
    void modelMetadataForTheModelAndEachVersionItAdvertises() throws Exception {
        Answer metadata = call(server, "GET", "/v2/models/tiny", null);
        assertThat(metadata.status()).isEqualTo(200);
        assertThat(metadata.json()).isEqualTo(JSON.readTree("{\"name\":\"tiny\",\"versions\":[\"1\"],\"platform\":\"onnx_onnxv1\","
                + "\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[-1,4]}],"
                + "\"outputs\":[{\"name\":\"probabilities\",\"datatype\":\"FP32\",\"shape\":[-1,3]}]}"));
        for (JsonNode version : metadata.json().get("versions")) {
            assertThat(call(server, "GET", "/v2/models/tiny/versions/" + version.asText(), null)).isEqualTo(metadata);
        }
        assertError(call(server, "GET", "/v2/models/tiny/versions/2", null), 404, "model 'tiny' has no version '2' (versions: 1)");
        assertError(call(server, "GET", "/v2/models/other", null), 404, "no model 'other': this server serves 'tiny'");
        assertError(call(server, "GET", "/v2/models/other/versions/1", null), 404, "no model 'other'");
        assertError(call(server, "POST", "/v2/models/tiny", "{}"), 405, "use GET");
    }

    @Test
    void modelReadyForTheModelAndEachVersionItAdvertises() throws Exception {
        Answer ready = new Answer(200, "{\"name\":\"tiny\",\"ready\":true}");
        assertThat(call(server, "GET", "/v2/models/tiny/ready", null)).isEqualTo(ready);
        assertThat(call(server, "GET", "/v2/models/tiny/versions/1/ready", null)).isEqualTo(ready);
        assertError(call(server, "GET", "/v2/models/tiny/versions/0/ready", null), 404, "model 'tiny' has no version '0'");
        assertError(call(server, "GET", "/v2/models/other/ready", null), 404, "no model 'other'");
        assertError(call(server, "GET", "/v2/models/other/versions/1/ready", null), 404, "no model 'other'");
        assertError(call(server, "PUT", "/v2/models/tiny/ready", "{}"), 405, "use GET");
    }

    @Test
    void inferForTheModelAndEachVersionItAdvertises() throws Exception {
        double[] expected = TinyOnnx.expected(new float[] {1, 2, 3, 4});
        for (String path : List.of("/v2/models/tiny/infer", "/v2/models/tiny/versions/1/infer")) {
            Answer answer = call(server, "POST", path, "{\"id\":\"r-7\",\"parameters\":{\"priority\":1},\"inputs\":["
                    + ONE_SAMPLE + "]}");
            assertThat(answer.status()).as(answer.body()).isEqualTo(200);
            assertThat(answer.json().get("model_name").asText()).isEqualTo("tiny");
            assertThat(answer.json().get("model_version").asText()).isEqualTo("1");
            assertThat(answer.json().get("id").asText()).isEqualTo("r-7");
            JsonNode output = answer.json().get("outputs").get(0);
            assertThat(output.get("name").asText()).isEqualTo("probabilities");
            assertThat(output.get("datatype").asText()).isEqualTo("FP32");
            assertThat(output.get("shape").toString()).isEqualTo("[1,3]");
            for (int c = 0; c < 3; c++) {
                assertThat(output.get("data").get(c).asDouble()).isCloseTo(expected[c], within(1e-5));
            }
        }
        // no id given, none answered; tensor data nested as the shape, rather than flat
        Answer nested = call(server, "POST", "/v2/models/tiny/infer", "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,4],"
                + "\"datatype\":\"FP32\",\"data\":[[1,2,3,4]]}]}");
        assertThat(nested.status()).as(nested.body()).isEqualTo(200);
        assertThat(nested.json().has("id")).isFalse();
        assertError(call(server, "POST", "/v2/models/tiny/versions/3/infer", "{\"inputs\":[" + ONE_SAMPLE + "]}"), 404,
                "model 'tiny' has no version '3'");
        assertError(call(server, "POST", "/v2/models/other/infer", "{\"inputs\":[" + ONE_SAMPLE + "]}"), 404, "no model 'other'");
        assertError(call(server, "POST", "/v2/models/other/versions/1/infer", "{}"), 404, "no model 'other'");
        assertError(call(server, "GET", "/v2/models/tiny/infer", null), 405, "GET /v2/models/tiny/infer: use POST");
    }

    @Test
    void inferAnswersTheOutputsRequested() throws Exception {
        Answer answer = call(server, "POST", "/v2/models/tiny/infer", "{\"inputs\":[" + ONE_SAMPLE + "],"
                + "\"outputs\":[{\"name\":\"probabilities\"}]}");
        assertThat(answer.status()).as(answer.body()).isEqualTo(200);
        assertThat(answer.json().get("outputs")).hasSize(1);
        assertError(call(server, "POST", "/v2/models/tiny/infer", "{\"inputs\":[" + ONE_SAMPLE + "],\"outputs\":[{\"name\":"
                + "\"logits\"}]}"), 400, "outputs[].name: 'logits' is not an output of tiny (outputs: [probabilities])");
        assertError(call(server, "POST", "/v2/models/tiny/infer", "{\"inputs\":[" + ONE_SAMPLE + "],\"outputs\":{}}"), 400,
                "outputs: an array of {\"name\": ...}");
    }

    @Test
    void inferErrorsNameWhatIsWrong() throws Exception {
        String infer = "/v2/models/tiny/infer";
        assertError(call(server, "POST", infer, "{not json"), 400, "request body is not valid JSON");
        assertError(call(server, "POST", infer, ""), 400, "request body is empty");
        assertError(call(server, "POST", infer, "[]"), 400, "request body: a JSON object is expected");
        assertError(call(server, "POST", infer, "{}"), 400, "inputs: required, an array of tensors");
        assertError(call(server, "POST", infer, "{\"inputs\":[]}"), 400, "inputs: missing tensor 'input'");
        assertError(call(server, "POST", infer, "{\"inputs\":[" + ONE_SAMPLE + "," + ONE_SAMPLE + "]}"), 400,
                "inputs: tensor 'input' given twice");
        assertError(call(server, "POST", infer, "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\","
                + "\"data\":[1,2,3,4]}]}"), 400, "inputs[].name: 'x' is not an input of tiny (inputs: [input])");
        assertError(call(server, "POST", infer, "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}"),
                400, "inputs[input].shape: required");
        assertError(call(server, "POST", infer, "{\"inputs\":[{\"name\":\"input\",\"shape\":[4],\"datatype\":\"FP32\","
                + "\"data\":[1,2,3,4]}]}"), 400, "inputs[input].shape: rank 1, the model expects rank 2");
        assertError(call(server, "POST", infer, "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,5],\"datatype\":\"FP32\","
                + "\"data\":[1,2,3,4,5]}]}"), 400, "inputs[input].shape: dimension 1 is 5, the model expects [-1, 4]");
        assertError(call(server, "POST", infer, "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,\"four\"],\"datatype\":\"FP32\","
                + "\"data\":[1,2,3,4]}]}"), 400, "inputs[input].shape: dimension 1 is \"four\", not a positive integer");
        assertError(call(server, "POST", infer, "{\"inputs\":[{\"name\":\"input\",\"shape\":[4611686018427387904,4],"
                + "\"datatype\":\"FP32\",\"data\":[1]}]}"), 400, "inputs[input].shape: [4611686018427387904, 4] has more "
                + "elements than a tensor can hold");
        assertError(call(server, "POST", infer, "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,4],\"datatype\":\"INT64\","
                + "\"data\":[1,2,3,4]}]}"), 400, "inputs[input].datatype: 'INT64', the model expects FP32");
        assertError(call(server, "POST", infer, "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,4],\"datatype\":\"FP32\","
                + "\"data\":[1,2,3]}]}"), 400, "inputs[input].data: 3 values for shape [1, 4] (4 expected)");
        assertError(call(server, "POST", infer, "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,4],\"datatype\":\"FP32\","
                + "\"data\":[1,2,\"3\",4]}]}"), 400, "inputs[input].data: expected numbers, found STRING");
    }

    @Test
    void unknownEndpointsAnswer404WithAnError() throws Exception {
        for (String path : List.of("/", "/v1/models/tiny", "/v2/health", "/v2/models", "/v2/models/tiny/versions",
                "/v2/models/tiny/explain", "/v2/models/tiny/versions/1/explain", "/v2/models/tiny/ready/now")) {
            assertError(call(server, "GET", path, null), 404, "no such endpoint: " + path);
        }
    }

    @Test
    void aModelIsNotReadyUntilLoadedAndVerified() throws Exception {
        try (ModelServer loading = new ModelServer("tiny", ServerSettings.loopback(), Map.of(), null).start()) {
            // listening and live while the model is fetched and loaded, but not ready
            assertThat(call(loading, "GET", "/v2/health/live", null)).isEqualTo(new Answer(200, "{\"live\":true}"));
            assertThat(call(loading, "GET", "/v2/health/ready", null)).isEqualTo(new Answer(400, "{\"ready\":false}"));
            assertThat(call(loading, "GET", "/v2/models/tiny/ready", null))
                    .isEqualTo(new Answer(400, "{\"name\":\"tiny\",\"ready\":false}"));
            assertThat(call(loading, "GET", "/v2/models/tiny/versions/1/ready", null))
                    .isEqualTo(new Answer(400, "{\"name\":\"tiny\",\"ready\":false}"));
            assertThat(call(loading, "GET", "/v2", null).status()).isEqualTo(200);
            assertError(call(loading, "GET", "/v2/models/tiny", null), 503, "model 'tiny' is not loaded yet");
            assertError(call(loading, "POST", "/v2/models/tiny/infer", "{\"inputs\":[" + ONE_SAMPLE + "]}"), 503,
                    "model 'tiny' is not loaded yet");

            // a file that is not the model asked for, or not a model, is refused and the server stays unready
            Path notAModel = Files.writeString(dir.resolve("not-a-model.onnx"), "not a model");
            assertThatThrownBy(() -> loading.load(tiny, "0".repeat(64))).isInstanceOf(OnnxModel.Refused.class)
                    .hasMessage("sha256 is " + Digests.sha256(tiny) + ", expected " + "0".repeat(64)
                            + " (refusing to serve a different model)");
            assertThatThrownBy(() -> loading.load(notAModel, null)).isInstanceOf(OnnxModel.Refused.class)
                    .hasMessageStartingWith("ONNX Runtime cannot load it: ");
            assertThatThrownBy(() -> loading.load(textModel(), null)).isInstanceOf(OnnxModel.Refused.class)
                    .hasMessage("input 'text' is a STRING tensor; pollard serve carries FP32 and INT64 tensors");
            assertThat(call(loading, "GET", "/v2/health/ready", null).status()).isEqualTo(400);

            loading.load(tiny, Digests.sha256(tiny).toUpperCase());
            assertThat(call(loading, "GET", "/v2/health/ready", null)).isEqualTo(new Answer(200, "{\"ready\":true}"));
            assertThat(call(loading, "GET", "/v2/models/tiny/ready", null).status()).isEqualTo(200);
            assertThat(call(loading, "POST", "/v2/models/tiny/infer", "{\"inputs\":[" + ONE_SAMPLE + "]}").status()).isEqualTo(200);
            assertThatThrownBy(() -> loading.load(tiny, null)).isInstanceOf(IllegalStateException.class)
                    .hasMessage("model 'tiny' is loaded already; a server serves one model");
        }
    }

    /** A model with a STRING input, which JSON tensors of this server cannot carry. */
    private static Path textModel() throws Exception {
        OnnxMl.ValueInfoProto text = OnnxMl.ValueInfoProto.newBuilder().setName("text").setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.STRING.getNumber())
                        .setShape(OnnxMl.TensorShapeProto.newBuilder().addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder()
                                .setDimValue(1))))).build();
        OnnxMl.GraphProto graph = OnnxMl.GraphProto.newBuilder().setName("echo").addInput(text)
                .addOutput(text.toBuilder().setName("same"))
                .addNode(OnnxMl.NodeProto.newBuilder().setOpType("Identity").addInput("text").addOutput("same")).build();
        return Files.write(dir.resolve("text.onnx"), OnnxMl.ModelProto.newBuilder().setIrVersion(8)
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(17)).setGraph(graph).build().toByteArray());
    }

    private static Answer call(ModelServer target, String method, String path, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + target.port() + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        // every answer of the protocol, errors included, is a JSON object
        assertThat(response.headers().firstValue("Content-Type")).as(method + " " + path).hasValue("application/json");
        return new Answer(response.statusCode(), response.body());
    }

    private static void assertError(Answer answer, int status, String message) throws Exception {
        assertThat(answer.status()).as(answer.body()).isEqualTo(status);
        JsonNode error = answer.json();
        assertThat(error.size()).as(answer.body()).isEqualTo(1);
        assertThat(error.get("error").isTextual()).as(answer.body()).isTrue();
        assertThat(error.get("error").asText()).contains(message);
    }

    /** A status and its body, compared as JSON. */
    private record Answer(int status, String body) {
        JsonNode json() throws Exception {
            return JSON.readTree(body);
        }

        @Override
        public boolean equals(Object o) {
            try {
                return o instanceof Answer a && a.status == status && a.json().equals(json());
            } catch (Exception e) {
                return false;
            }
        }

        @Override
        public int hashCode() {
            return status;
        }
    }
}
