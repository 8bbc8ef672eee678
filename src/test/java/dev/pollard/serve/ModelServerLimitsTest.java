package dev.pollard.serve;

import static dev.pollard.testing.Waits.REACTION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pollard.testing.TinyOnnx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a slow or hostile client can take from the server: an inference slot for a bounded time, a body of bounded
 * size, never its health checks. Slow clients here are sockets the test drives byte by byte, and a slow inference is a
 * model told to count to a trillion: nothing depends on how fast the machine is.
 */
class ModelServerLimitsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static final String ONE_SAMPLE = "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,4],\"datatype\":\"FP32\","
            + "\"data\":[1,2,3,4]}]}";
    private static final int BOUND_MILLIS = (int) REACTION.toMillis();

    @TempDir
    Path dir;

    @Test
    void healthAndMetricsAnswerWhileSlowClientsHoldEveryInferenceSlot() throws Exception {
        ServerSettings oneThreadOneWaiting = ServerSettings.loopback().withInference(1, 1).withTimeouts(REACTION, REACTION);
        try (ModelServer server = Serving.loaded(TinyOnnx.write(dir.resolve("tiny.onnx")), "tiny", oneThreadOneWaiting, null);
                RawHttpClient slow1 = new RawHttpClient(server.port(), BOUND_MILLIS);
                RawHttpClient slow2 = new RawHttpClient(server.port(), BOUND_MILLIS)) {
            // two clients announce a body and send a byte of it: each holds an admission, one on the thread, one waiting
            for (RawHttpClient slow : new RawHttpClient[] {slow1, slow2}) {
                slow.postHeaders("/v2/models/tiny/infer", "Content-Length: " + ONE_SAMPLE.length()).send("{");
            }
            await().atMost(REACTION).until(() -> inferenceRequestsInFlight(server) == 2);

            assertThat(get(server, "/v2/health/ready").statusCode()).isEqualTo(200);
            assertThat(get(server, "/v2/health/live").statusCode()).isEqualTo(200);
            assertThat(get(server, "/metrics").statusCode()).isEqualTo(200);
            HttpResponse<String> refused = infer(server, ONE_SAMPLE);
            assertThat(refused.statusCode()).as(refused.body()).isEqualTo(503);
            assertThat(refused.headers().firstValue("Retry-After")).isPresent();
            assertThat(JSON.readTree(refused.body()).get("error").asText())
                    .contains("2 inference requests are running or waiting", "--inference-threads", "--inference-queue");

            // the slow clients finish their bodies: both are answered, and the slots are free again
            slow1.send(ONE_SAMPLE.substring(1));
            slow2.send(ONE_SAMPLE.substring(1));
            assertThat(slow1.response().status()).isEqualTo(200);
            assertThat(slow2.response().status()).isEqualTo(200);
            await().atMost(REACTION).until(() -> inferenceRequestsInFlight(server) == 0);
            assertThat(infer(server, ONE_SAMPLE).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aBodyOverTheCapIsRefusedWith413() throws Exception {
        ServerSettings kibibyte = ServerSettings.loopback().withMaxBodyBytes(1024);
        try (ModelServer server = Serving.loaded(TinyOnnx.write(dir.resolve("tiny.onnx")), "tiny", kibibyte, null)) {
            // announced too large: refused before a byte of the body is read
            try (RawHttpClient client = new RawHttpClient(server.port(), BOUND_MILLIS)) {
                RawHttpClient.Response response = client.postHeaders("/v2/models/tiny/infer", "Content-Length: 1025").response();
                assertThat(response.status()).isEqualTo(413);
                assertThat(JSON.readTree(response.body()).get("error").asText())
                        .contains("1025 bytes", "1024", "--max-body-bytes");
                assertThat(client.closedByServer()).isTrue();
            }
            // chunked, no length announced: refused once the received bytes pass the cap
            try (RawHttpClient client = new RawHttpClient(server.port(), BOUND_MILLIS)) {
                String chunk = " ".repeat(1100);
                RawHttpClient.Response response = client.postHeaders("/v2/models/tiny/infer", "Transfer-Encoding: chunked")
                        .send(Integer.toHexString(chunk.length()) + "\r\n" + chunk + "\r\n").response();
                assertThat(response.status()).isEqualTo(413);
                assertThat(JSON.readTree(response.body()).get("error").asText()).contains("1024", "--max-body-bytes");
                assertThat(client.closedByServer()).isTrue();
            }
            // at the cap: read and answered
            String padded = ONE_SAMPLE + " ".repeat(1024 - ONE_SAMPLE.length());
            assertThat(infer(server, padded).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aClientTricklingItsBodyIsCutOffWith408() throws Exception {
        ServerSettings oneSecond = ServerSettings.loopback().withTimeouts(Duration.ofSeconds(1), REACTION);
        try (ModelServer server = Serving.loaded(TinyOnnx.write(dir.resolve("tiny.onnx")), "tiny", oneSecond, null);
                RawHttpClient client = new RawHttpClient(server.port(), BOUND_MILLIS)) {
            // the rest of the body never comes: the server's clock, not the test's, ends the wait
            RawHttpClient.Response response = client.postHeaders("/v2/models/tiny/infer", "Content-Length: 100")
                    .send("{\"inputs\":").response();
            assertThat(response.status()).isEqualTo(408);
            assertThat(JSON.readTree(response.body()).get("error").asText())
                    .contains("10 of 100 bytes", "1 s", "--request-timeout-seconds");
            assertThat(client.closedByServer()).isTrue();
            await().atMost(REACTION).until(() -> inferenceRequestsInFlight(server) == 0);
        }
    }

    @Test
    void anInferenceOverItsTimeLimitIsStoppedWith504() throws Exception {
        ServerSettings oneSecond = ServerSettings.loopback().withInference(1, 0).withTimeouts(REACTION, Duration.ofSeconds(1));
        try (ModelServer server = Serving.loaded(CountingOnnx.write(dir.resolve("counting.onnx")), "counting", oneSecond, null)) {
            HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(base(server)
                    + "/v2/models/counting/infer")).POST(HttpRequest.BodyPublishers.ofString("{\"inputs\":[{\"name\":"
                    + "\"iterations\",\"shape\":[],\"datatype\":\"INT64\",\"data\":[1000000000000]}]}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).as(response.body()).isEqualTo(504);
            assertThat(JSON.readTree(response.body()).get("error").asText()).contains("1 s", "--inference-timeout-seconds");
            // the run itself stops, freeing its thread: a trillion iterations would hold it for days
            await().atMost(REACTION).until(() -> inferenceRequestsInFlight(server) == 0);
        }
    }

    private static long inferenceRequestsInFlight(ModelServer server) throws Exception {
        String series = "pollard_inference_requests_in_flight{model=\"";
        return get(server, "/metrics").body().lines().filter(l -> l.startsWith(series))
                .mapToLong(l -> Long.parseLong(l.substring(l.lastIndexOf(' ') + 1))).findFirst().orElse(-1);
    }

    private static String base(ModelServer server) {
        return "http://127.0.0.1:" + server.port();
    }

    private static HttpResponse<String> get(ModelServer server, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base(server) + path)).timeout(REACTION).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> infer(ModelServer server, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base(server) + "/v2/models/tiny/infer")).timeout(REACTION)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
