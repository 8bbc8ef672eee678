package dev.pollard.e2e;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A client polling an InferenceDeployment the whole time: each poll asks the replicas that are ready (and not being
 * deleted) for an inference, and counts as failed only if none answers, twice in a row of fresh listings (a listing can
 * name a pod that went away an instant later, while its successor was already ready). The served model's name is the
 * deployment's (as in the examples).
 */
final class Availability implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    final List<String> failures = new CopyOnWriteArrayList<>();
    final AtomicInteger polls = new AtomicInteger();
    private final ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor();

    Availability(KubernetesClient client, String namespace, String name) {
        // a client's own pace, one request every half second: nothing waits for it
        poller.scheduleWithFixedDelay(() -> {
            if (!answers(client, namespace, name) && !answers(client, namespace, name)) {
                failures.add(Instant.now() + ": no ready replica of " + name + " answered");
            }
            polls.incrementAndGet();
        }, 0, 500, TimeUnit.MILLISECONDS);
    }

    private static boolean answers(KubernetesClient client, String namespace, String name) {
        List<Pod> ready;
        try {
            ready = readyPods(client, namespace, name);
        } catch (RuntimeException e) {
            return false; // no listing, no answer (and the poller goes on: an exception would end it silently)
        }
        for (Pod pod : ready) {
            try {
                if (infer(pod, name).statusCode() == 200) {
                    return true;
                }
            } catch (Exception e) {
                // try the next ready replica
            }
        }
        return false;
    }

    static List<Pod> readyPods(KubernetesClient client, String namespace, String name) {
        return client.pods().inNamespace(namespace).withLabel("app.kubernetes.io/instance", name)
                .withLabel("app.kubernetes.io/component", "serving").list().getItems().stream()
                .filter(p -> p.getMetadata().getDeletionTimestamp() == null && p.getStatus() != null
                        && p.getStatus().getConditions() != null && p.getStatus().getConditions().stream()
                                .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus())))
                .toList();
    }

    /** One Fashion-MNIST-shaped image through fashion-cnn on this pod. */
    static HttpResponse<String> infer(Pod pod) throws Exception {
        return infer(pod, "fashion-cnn");
    }

    /** One image of shape [1,1,28,28] through the model of this name on this pod. */
    static HttpResponse<String> infer(Pod pod, String model) throws Exception {
        StringBuilder pixels = new StringBuilder();
        for (int i = 0; i < 784; i++) {
            pixels.append(i == 0 ? "" : ",").append((i % 28) / 28.0);
        }
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://" + pod.getStatus().getPodIP()
                + ":8080/v2/models/" + model + "/infer")).timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofString("{\"inputs\":[{\"name\":\"image\",\"shape\":[1,1,28,28],"
                        + "\"datatype\":\"FP32\",\"data\":[" + pixels + "]}]}")).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() throws InterruptedException {
        poller.shutdownNow();
        poller.awaitTermination(1, TimeUnit.MINUTES);
    }
}
