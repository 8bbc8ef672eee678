package dev.pollard.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pollard.api.RunSummary;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

class ProgressServerTest {

    @Test
    void servesEveryStageOfARunIncludingTheFirstBeforeAnythingIsMeasured() throws Exception {
        try (ProgressServer server = ProgressServer.start("127.0.0.1:0")) {
            // the run announces itself before the baseline has an energy or an accuracy
            server.update("Profiling", 0, null, null);
            RunSummary.Progress first = get(server);
            assertThat(first.phase).isEqualTo("Profiling");
            assertThat(first.iteration).isZero();
            assertThat(first.joulesPerInference).isNull();
            assertThat(first.accuracy).isNull();

            server.update("Pruning", 3, 0.000123456789, 0.912345);
            RunSummary.Progress later = get(server);
            assertThat(later.iteration).isEqualTo(3);
            assertThat(later.joulesPerInference).isEqualTo(0.0001235);
            assertThat(later.accuracy).isEqualTo(0.9123);
        }
    }

    private static RunSummary.Progress get(ProgressServer server) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/progress")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        return new ObjectMapper().readValue(response.body(), RunSummary.Progress.class);
    }
}
