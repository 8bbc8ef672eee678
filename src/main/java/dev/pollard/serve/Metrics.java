package dev.pollard.serve;

import dev.pollard.energy.EnergyCounter;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.function.IntSupplier;

/** Prometheus text-format metrics of the model server: requests, latency, inferences and, when metered, joules. */
final class Metrics {
    private static final double[] BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
    private final String model;
    private final Map<String, AtomicLong> requests = new ConcurrentHashMap<>();
    private final AtomicLong[] bucketCounts = new AtomicLong[BUCKETS.length];
    private final AtomicLong latencyCount = new AtomicLong();
    private final DoubleAdder latencySum = new DoubleAdder();
    private final AtomicLong inferences = new AtomicLong();
    private final IntSupplier inferenceRequestsInFlight;
    private final EnergyCounter energy; // null: no meter on this node
    private final double joulesAtStart;
    private double joulesAtLastScrape;
    private long inferencesAtLastScrape;
    private double joulesPerInference = Double.NaN;

    Metrics(String model, EnergyCounter energy, IntSupplier inferenceRequestsInFlight) {
        this.model = model;
        this.inferenceRequestsInFlight = inferenceRequestsInFlight;
        this.energy = energy;
        this.joulesAtStart = energy == null ? 0 : energy.totalJoules();
        this.joulesAtLastScrape = joulesAtStart;
        for (int i = 0; i < BUCKETS.length; i++) {
            bucketCounts[i] = new AtomicLong();
        }
    }

    /** @param route a {@link Route}'s template, never a raw path: every distinct value is a series forever */
    void request(String route, int code) {
        requests.computeIfAbsent(route + "\u0000" + code, k -> new AtomicLong()).incrementAndGet();
    }

    /** A label value as the text format requires: backslash, double quote and line feed escaped. */
    static String escape(String labelValue) {
        return labelValue.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
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
        String m = "model=\"" + escape(model) + "\"";
        out.append("# HELP pollard_requests_total HTTP requests by endpoint and status code.\n");
        out.append("# TYPE pollard_requests_total counter\n");
        requests.forEach((key, count) -> {
            String[] parts = key.split("\u0000");
            out.append("pollard_requests_total{").append(m).append(",endpoint=\"").append(escape(parts[0])).append("\",code=\"")
                    .append(parts[1]).append("\"} ").append(count.get()).append('\n');
        });
        out.append("# HELP pollard_inference_seconds Time to run one infer request in ONNX Runtime.\n");
        out.append("# TYPE pollard_inference_seconds histogram\n");
        for (int i = 0; i < BUCKETS.length; i++) {
            out.append("pollard_inference_seconds_bucket{").append(m).append(",le=\"").append(BUCKETS[i]).append("\"} ")
                    .append(bucketCounts[i].get()).append('\n');
        }
        out.append("pollard_inference_seconds_bucket{").append(m).append(",le=\"+Inf\"} ").append(latencyCount.get()).append('\n');
        out.append("pollard_inference_seconds_sum{").append(m).append("} ").append(latencySum.sum()).append('\n');
        out.append("pollard_inference_seconds_count{").append(m).append("} ").append(latencyCount.get()).append('\n');
        out.append("# HELP pollard_inferences_total Samples inferred (a request may carry a batch).\n");
        out.append("# TYPE pollard_inferences_total counter\n");
        out.append("pollard_inferences_total{").append(m).append("} ").append(inferences.get()).append('\n');
        out.append("# HELP pollard_inference_requests_in_flight Infer requests admitted: receiving their body, waiting for "
                + "an inference thread or running.\n");
        out.append("# TYPE pollard_inference_requests_in_flight gauge\n");
        out.append("pollard_inference_requests_in_flight{").append(m).append("} ").append(inferenceRequestsInFlight.getAsInt())
                .append('\n');
        if (energy != null) {
            String labels = m + ",meter=\"" + escape(energy.name()) + "\"";
            double joules = energy.totalJoules();
            long samples = inferences.get();
            // the device's whole energy, idle time included, between two scrapes that saw inferences
            if (samples > inferencesAtLastScrape) {
                joulesPerInference = (joules - joulesAtLastScrape) / (samples - inferencesAtLastScrape);
                joulesAtLastScrape = joules;
                inferencesAtLastScrape = samples;
            }
            out.append("# HELP pollard_energy_joules_total Energy the accelerator used since the server started, from its meter.\n");
            out.append("# TYPE pollard_energy_joules_total counter\n");
            out.append("pollard_energy_joules_total{").append(labels).append("} ").append(joules - joulesAtStart).append('\n');
            if (!Double.isNaN(joulesPerInference)) {
                out.append("# HELP pollard_joules_per_inference Accelerator energy per inferred sample between the last two "
                        + "scrapes that saw inferences.\n");
                out.append("# TYPE pollard_joules_per_inference gauge\n");
                out.append("pollard_joules_per_inference{").append(labels).append("} ").append(joulesPerInference).append('\n');
            }
        }
        return out.toString();
    }
}
