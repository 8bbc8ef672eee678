package dev.pollard.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pollard.testing.TinyOnnx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What clients can do to /metrics through the paths they request: neither forge series nor grow it without bound. */
class MetricsExpositionTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    /** A sample line of the Prometheus text format: name, optional labels with escaped values, a value. */
    private static final Pattern SAMPLE = Pattern.compile(
            "[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\\n]|\\\\[\\\\\"n])*\",?)*})? \\S+");
    @TempDir
    static Path dir;
    private static ModelServer server;
    private static String base;

    @BeforeAll
    static void start() throws Exception {
        Path model = TinyOnnx.write(dir.resolve("tiny.onnx"));
        server = Serving.loaded(model, "tiny", ServerSettings.loopback(), null);
        base = "http://127.0.0.1:" + server.port();
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    @Test
    void aCraftedPathCannotInjectALine() throws Exception {
        // quotes, a brace and a newline: what it takes to close a label value and start a forged series
        for (String path : List.of("/v2/models/tiny%22%7D%201%0Aforged_series%7Bx%3D%22y%22%7D%201%0A%23",
                "/v2/x%5C%22%7D%201%0Aforged_series%201", "/v2/models/tiny/infer%0Aforged_series%201")) {
            send(path);
        }
        String metrics = get("/metrics");
        assertThat(metrics.lines()).noneMatch(l -> l.startsWith("forged_series"));
        assertThat(metrics.lines().filter(l -> !l.startsWith("#"))).allSatisfy(l -> assertThat(l).matches(SAMPLE));
    }

    @Test
    void tenThousandDistinctPathsDoNotGrowMetrics() throws Exception {
        send("/v2/no-such-endpoint/warm-up"); // the label every unknown path collapses into exists from here on
        send("/v2/models/other-model/warm-up");
        get("/metrics"); // and the scrape's own
        List<String> before = get("/metrics").lines().map(MetricsExpositionTest::series).toList();
        for (int i = 0; i < 10_000; i++) {
            send(i % 2 == 0 ? "/v2/bogus-" + i : "/v2/models/other-model/bogus-" + i);
        }
        List<String> after = get("/metrics").lines().map(MetricsExpositionTest::series).toList();
        assertThat(after).containsExactlyInAnyOrderElementsOf(before);
    }

    /** A line without its value: the series it is a sample of. */
    private static String series(String line) {
        return line.startsWith("#") ? line : line.substring(0, line.lastIndexOf(' '));
    }

    private static void send(String path) throws Exception {
        HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).build(), HttpResponse.BodyHandlers.discarding());
    }

    private static String get(String path) throws Exception {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        return response.body();
    }
}
