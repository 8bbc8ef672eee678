package dev.pollard.operator;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.Instant;

/**
 * The operator's own metrics about runs, beside JOSDK's reconciliation metrics: runs that ended, by outcome and
 * hardware class ({@code pollard_runs_total}), and how long they took ({@code pollard_run_duration_seconds}, a
 * histogram). Each run is counted once: when the operator first records its end in the PruningJob's status.
 */
final class RunMetrics {
    private final MeterRegistry registry;

    RunMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    void ended(Job job, String hardwareClass, RunObservation.Outcome outcome) {
        String result = outcome.name().toLowerCase();
        Counter.builder("pollard.runs").description("Pruning runs that ended, by outcome").tag("outcome", result)
                .tag("hardware_class", hardwareClass).register(registry).increment();
        var status = job.getStatus();
        if (status != null && status.getStartTime() != null) {
            Instant start = Instant.parse(status.getStartTime());
            Instant end = status.getCompletionTime() != null ? Instant.parse(status.getCompletionTime()) : Instant.now();
            Timer.builder("pollard.run.duration").description("Time from a run's start to its end")
                    .tag("outcome", result).tag("hardware_class", hardwareClass).publishPercentileHistogram()
                    .register(registry).record(Duration.between(start, end));
        }
    }
}
