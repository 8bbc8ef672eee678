package dev.pollard.operator;

import io.javaoperatorsdk.operator.api.monitoring.Metrics;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/**
 * JOSDK's reconciliation metrics by kind, not by resource. The Quarkus Operator SDK's default tags every series with
 * the resource's name and namespace: with thousands of resources that is thousands of series, and since a cluster-scoped
 * HardwareClass's series carry no namespace tag, Prometheus's registry then drops every namespaced kind's series (one
 * name, one set of tag keys). This replaces that default bean.
 */
final class ReconciliationMetrics {
    private ReconciliationMetrics() {
    }

    static final class Producer {
        @Produces
        @Singleton
        Metrics metrics(MeterRegistry registry) {
            return MicrometerMetrics.newMicrometerMetricsBuilder(registry).notCollectingMetricsPerResource().build();
        }
    }
}
