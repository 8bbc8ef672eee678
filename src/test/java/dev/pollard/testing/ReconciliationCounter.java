package dev.pollard.testing;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.api.monitoring.Metrics;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * JOSDK metrics that count the reconciliations an operator finished, per resource: a test waits on "this operator has
 * looked at that resource" instead of on a stretch of time that a slow machine might not cover.
 */
public final class ReconciliationCounter implements Metrics {
    private final Map<ResourceID, AtomicInteger> finished = new ConcurrentHashMap<>();

    @Override
    public void finishedReconciliation(HasMetadata resource, Map<String, Object> metadata) {
        finished.computeIfAbsent(ResourceID.fromResource(resource), id -> new AtomicInteger()).incrementAndGet();
    }

    /** Reconciliations of this resource that finished without an exception. */
    public int finished(HasMetadata resource) {
        AtomicInteger count = finished.get(ResourceID.fromResource(resource));
        return count == null ? 0 : count.get();
    }
}
