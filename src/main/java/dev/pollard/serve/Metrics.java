package dev.pollard.serve;

import dev.pollard.energy.EnergyCounter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.function.IntSupplier;
import java.util.regex.Pattern;

/**
 * Prometheus text-format metrics of the model server: requests, admitted inferences and, once the model is loaded,
 * inference time, inferred samples and, when metered, joules. Every series carries the labels that identify the
 * server (model, hardware_class, UUID, pod_namespace, pod_name), and the model's series also model_sha256, so that
 * they join the series of dcgm-exporter (UUID) and Kepler (pod_namespace, pod_name). Joules per inference is a
 * ratio of two counters' rates, for Prometheus to compute (docs/serving.md), not a gauge of this server.
 */
final class Metrics {
    private static final double[] BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    /** Labels this class sets itself. */
    private static final Set<String> OWN_LABELS = Set.of("model", "model_sha256", "route", "code", "le", "meter");

    private final String serverLabels;
    private final Map<String, AtomicLong> requests = new ConcurrentHashMap<>();
    private final IntSupplier inferenceRequestsInFlight;
    private final EnergyCounter energy; // null: no meter on this node
    private final AtomicLong[] bucketCounts = new AtomicLong[BUCKETS.length];
    private final AtomicLong latencyCount = new AtomicLong();
    private final DoubleAdder latencySum = new DoubleAdder();
    private final AtomicLong inferences = new AtomicLong();
    private String modelLabels; // null until the model is loaded
    private double joulesAtLoad;

    /**
     * @param labels further labels of every series, e.g. hardware_class, UUID, pod_name; empty values are left out
     */
    Metrics(String model, Map<String, String> labels, EnergyCounter energy, IntSupplier inferenceRequestsInFlight) {
        Map<String, String> all = new LinkedHashMap<>();
        all.put("model", model);
        labels.forEach((name, value) -> {
            if (!LABEL_NAME.matcher(name).matches() || name.startsWith("__") || OWN_LABELS.contains(name)) {
                throw new IllegalArgumentException("metric label '" + name + "': not a label name Prometheus accepts, or one "
                        + "the server sets itself " + OWN_LABELS);
            }
            if (value != null && !value.isEmpty()) {
                all.put(name, value);
            }
        });
        this.serverLabels = render(all);
        this.energy = energy;
        this.inferenceRequestsInFlight = inferenceRequestsInFlight;
        for (int i = 0; i < BUCKETS.length; i++) {
            bucketCounts[i] = new AtomicLong();
        }
    }

    /** From now on the model's series appear, labelled with its sha256; energy counts from here. */
    synchronized void modelLoaded(String sha256) {
        modelLabels = serverLabels + ",model_sha256=\"" + escape(sha256) + "\"";
        joulesAtLoad = energy == null ? 0 : energy.totalJoules();
    }

    /** @param route a {@link Route}'s template, never a raw path: every distinct value is a series forever */
    void request(String route, int code) {
        requests.computeIfAbsent(route + "\u0000" + code, k -> new AtomicLong()).incrementAndGet();
    }

    void inference(int samples, double seconds) {
        inferences.addAndGet(samples);
        latencyCount.incrementAndGet();
        latencySum.add(seconds);
        for (int i = 0; i < BUCKETS.length; i++) {
            if (seconds <= BUCKETS[i]) {
                bucketCounts[i].incrementAndGet();
            }
        }
    }

    synchronized String render() {
        StringBuilder out = new StringBuilder();
        family(out, "pollard_http_requests_total", "counter", "HTTP requests answered, by route template and status code.");
        requests.forEach((key, count) -> {
            String[] routeAndCode = key.split("\u0000");
            sample(out, "pollard_http_requests_total", serverLabels + ",route=\"" + escape(routeAndCode[0]) + "\",code=\""
                    + routeAndCode[1] + "\"", count.get());
        });
        family(out, "pollard_inference_requests_in_flight", "gauge", "Infer requests admitted: receiving their body, waiting "
                + "for an inference thread or running.");
        sample(out, "pollard_inference_requests_in_flight", serverLabels, inferenceRequestsInFlight.getAsInt());
        if (modelLabels == null) {
            return out.toString();
        }
        family(out, "pollard_inference_duration_seconds", "histogram", "Time ONNX Runtime took to run one infer request.");
        for (int i = 0; i < BUCKETS.length; i++) {
            sample(out, "pollard_inference_duration_seconds_bucket", modelLabels + ",le=\"" + BUCKETS[i] + "\"",
                    bucketCounts[i].get());
        }
        sample(out, "pollard_inference_duration_seconds_bucket", modelLabels + ",le=\"+Inf\"", latencyCount.get());
        sample(out, "pollard_inference_duration_seconds_sum", modelLabels, latencySum.sum());
        sample(out, "pollard_inference_duration_seconds_count", modelLabels, latencyCount.get());
        family(out, "pollard_inferences_total", "counter", "Samples inferred (a request may carry a batch of them).");
        sample(out, "pollard_inferences_total", modelLabels, inferences.get());
        if (energy != null) {
            family(out, "pollard_energy_joules_total", "counter", "Energy the accelerator used since the model was loaded, "
                    + "from its meter: the whole device, idle time and any other process on it included.");
            sample(out, "pollard_energy_joules_total", modelLabels + ",meter=\"" + escape(energy.name()) + "\"",
                    energy.totalJoules() - joulesAtLoad);
        }
        return out.toString();
    }

    private static void family(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder out, String name, String labels, Number value) {
        out.append(name).append('{').append(labels).append("} ").append(value).append('\n');
    }

    private static String render(Map<String, String> labels) {
        StringBuilder rendered = new StringBuilder();
        labels.forEach((name, value) -> rendered.append(rendered.isEmpty() ? "" : ",").append(name).append("=\"")
                .append(escape(value)).append('"'));
        return rendered.toString();
    }

    /** A label value as the text format requires: backslash, double quote and line feed escaped. */
    static String escape(String labelValue) {
        return labelValue.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
