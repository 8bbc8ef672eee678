package dev.pollard.operator;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pollard.api.RunSummary;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * What the operator learns from a worker, which itself holds no API credentials: progress over HTTP from the pod while
 * it runs, and the run summary from the container's termination message when it ends.
 */
final class WorkerReports {
    private static final ObjectMapper JSON = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private WorkerReports() {
    }

    /** Newest first. */
    static List<Pod> newestFirst(List<Pod> pods) {
        return pods.stream().sorted(Comparator.comparing((Pod p) -> p.getMetadata().getCreationTimestamp()).reversed()).toList();
    }

    /** Progress from the newest running pod, if it answers. */
    static Optional<RunSummary.Progress> progress(List<Pod> pods) {
        for (Pod pod : newestFirst(pods)) {
            if (pod.getStatus() != null && "Running".equals(pod.getStatus().getPhase()) && pod.getStatus().getPodIP() != null) {
                try {
                    HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(
                            URI.create("http://" + pod.getStatus().getPodIP() + ":" + PruningRun.PROGRESS_PORT + "/progress"))
                            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                    if (response.statusCode() == 200) {
                        return Optional.of(JSON.readValue(response.body(), RunSummary.Progress.class));
                    }
                } catch (IOException e) {
                    return Optional.empty(); // not listening yet, or between phases: try again next time
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        return Optional.empty();
    }

    /** The termination message of the newest pod whose worker container ended, as a summary when it is one. */
    static Optional<RunSummary> summary(List<Pod> pods) {
        return terminationMessage(pods).map(message -> {
            try {
                return JSON.readValue(message, RunSummary.class);
            } catch (IOException e) {
                RunSummary raw = new RunSummary();
                raw.error = message.strip(); // not JSON: the tail of the log (FallbackToLogsOnError)
                return raw;
            }
        });
    }

    private static Optional<String> terminationMessage(List<Pod> pods) {
        for (Pod pod : newestFirst(pods)) {
            if (pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null) {
                continue;
            }
            for (ContainerStatus cs : pod.getStatus().getContainerStatuses()) {
                var terminated = cs.getState() == null ? null : cs.getState().getTerminated();
                if (terminated != null && terminated.getMessage() != null && !terminated.getMessage().isBlank()) {
                    return Optional.of(terminated.getMessage());
                }
            }
        }
        return Optional.empty();
    }
}
