package dev.pollard.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pollard.data.Digests;
import dev.pollard.energy.FakeNvml;
import dev.pollard.energy.NvmlMeter;
import dev.pollard.testing.Waits;
import dev.pollard.testing.TinyOnnx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The model server's energy metrics from NVML through JNA for real, against the fake libnvidia-ml (a GPU at 250 W). */
class NvmlServingTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    void energyComesFromTheGpuEnergyCounterLabelledToJoinDcgmAndKepler(@TempDir Path dir) throws Exception {
        FakeNvml.compile().fakeNvmlConfigure(250, 20, 1_000_000, 1, 0, 0);
        Path model = TinyOnnx.write(dir.resolve("tiny.onnx"));
        try (NvmlMeter nvml = NvmlMeter.open(FakeNvml.LIBRARY.toString(), "0");
                ModelServer server = Serving.loaded(model, "tiny", ServerSettings.loopback(),
                        ServeCommand.seriesLabels("h100", "team-a", "tiny-7d9f-x2", nvml), nvml)) {
            String base = "http://127.0.0.1:" + server.port();
            String labels = "{model=\"tiny\",hardware_class=\"h100\",UUID=\"GPU-fake-0000\",pod_namespace=\"team-a\","
                    + "pod_name=\"tiny-7d9f-x2\",model_sha256=\"" + Digests.sha256(model) + "\"";
            // the counter moves every 20 ms: keep inferring until a scrape sees energy spent since the model was loaded
            await().atMost(Waits.REACTION).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
                HttpResponse<String> answer = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v2/models/tiny/infer"))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"inputs\":[{\"name\":\"input\",\"shape\":[1,4],"
                                + "\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}")).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(answer.statusCode()).isEqualTo(200);
                assertThat(value(get(base + "/metrics"), "pollard_energy_joules_total" + labels + ",meter=\"nvml\"}")).isPositive();
            });
            String metrics = get(base + "/metrics");
            assertThat(value(metrics, "pollard_inferences_total" + labels + "}")).isPositive();
            assertThat(metrics).contains("# TYPE pollard_energy_joules_total counter")
                    .contains("pollard_inference_duration_seconds_count" + labels + "}")
                    .doesNotContain("joules_per_inference"); // a ratio of rates, for Prometheus to compute
        }
    }

    private static String get(String url) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    private static double value(String metrics, String series) {
        return metrics.lines().filter(l -> l.startsWith(series + " ")).mapToDouble(l -> Double.parseDouble(l.substring(series.length() + 1)))
                .findFirst().orElse(Double.NaN);
    }
}
