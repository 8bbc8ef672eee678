package dev.pollard.operator;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pollard.api.RunSummary;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What the operator learns from a worker, which itself holds no API credentials: progress over HTTP from the pod while
 * it runs, and the run summary from the container's termination message when it ends.
 */
final class WorkerReports {
    private static final ObjectMapper JSON = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    static final int MAX_PROGRESS_BYTES = 64 * 1024;
    static final Duration PROGRESS_TIMEOUT = Duration.ofSeconds(3);

    private WorkerReports() {
    }

    /** Newest first. */
    static List<Pod> newestFirst(List<Pod> pods) {
        return pods.stream().sorted(Comparator.comparing((Pod p) -> p.getMetadata().getCreationTimestamp()).reversed()).toList();
    }

    /**
     * Progress from the newest running pod, if it answers in time: at most {@value #MAX_PROGRESS_BYTES} bytes within
     * {@link #PROGRESS_TIMEOUT} in all, so that no pod can hold a reconciliation thread or fill the operator's heap.
     */
    static Optional<RunSummary.Progress> progress(List<Pod> pods) {
        return progress(pods, PruningRun.PROGRESS_PORT);
    }

    static Optional<RunSummary.Progress> progress(List<Pod> pods, int port) {
        for (Pod pod : newestFirst(pods)) {
            if (pod.getStatus() != null && "Running".equals(pod.getStatus().getPhase()) && pod.getStatus().getPodIP() != null) {
                var answer = HTTP.sendAsync(HttpRequest.newBuilder(
                        URI.create("http://" + pod.getStatus().getPodIP() + ":" + port + "/progress"))
                        .timeout(PROGRESS_TIMEOUT).build(), info -> capped(MAX_PROGRESS_BYTES));
                try {
                    HttpResponse<byte[]> response = answer.get(PROGRESS_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                    if (response.statusCode() == 200 && response.body() != null) {
                        return Optional.of(JSON.readValue(response.body(), RunSummary.Progress.class)).filter(WorkerReports::finite);
                    }
                } catch (IOException | ExecutionException | TimeoutException e) {
                    answer.cancel(true); // a body still trickling in is dropped, not read on in the background
                    return Optional.empty(); // not listening yet, between phases, too slow or too big: try again next time
                } catch (InterruptedException e) {
                    answer.cancel(true);
                    Thread.currentThread().interrupt();
                }
            }
        }
        return Optional.empty();
    }

    /** A body of at most {@code limit} bytes: a longer one is cut off at once and read as no progress (null). */
    private static HttpResponse.BodySubscriber<byte[]> capped(int limit) {
        return new HttpResponse.BodySubscriber<>() {
            private final CompletableFuture<byte[]> result = new CompletableFuture<>();
            private final ByteArrayOutputStream body = new ByteArrayOutputStream();
            private Flow.Subscription subscription;

            @Override
            public CompletionStage<byte[]> getBody() {
                return result;
            }

            @Override
            public void onSubscribe(Flow.Subscription subscription) {
                this.subscription = subscription;
                subscription.request(Long.MAX_VALUE);
            }

            @Override
            public void onNext(List<ByteBuffer> buffers) {
                for (ByteBuffer b : buffers) {
                    if (result.isDone()) {
                        return; // buffers already on their way after the cut
                    }
                    if (body.size() + b.remaining() > limit) {
                        subscription.cancel();
                        result.complete(null);
                        return;
                    }
                    byte[] bytes = new byte[b.remaining()];
                    b.get(bytes);
                    body.writeBytes(bytes);
                }
            }

            @Override
            public void onError(Throwable throwable) {
                result.completeExceptionally(throwable);
            }

            @Override
            public void onComplete() {
                result.complete(body.toByteArray());
            }
        };
    }

    private static boolean finite(RunSummary.Progress p) {
        return (p.joulesPerInference == null || Double.isFinite(p.joulesPerInference))
                && (p.accuracy == null || Double.isFinite(p.accuracy));
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
