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
    private final Map<ResourceID, AtomicInteger> failed = new ConcurrentHashMap<>();

    @Override
    public void finishedReconciliation(HasMetadata resource, Map<String, Object> metadata) {
        count(finished, resource);
    }

    @Override
    public void failedReconciliation(HasMetadata resource, Exception exception, Map<String, Object> metadata) {
        count(failed, resource);
    }

    /** Reconciliations of this resource that finished without an exception. */
    public int finished(HasMetadata resource) {
        return read(finished, resource);
    }

    /** Reconciliations of this resource that ended in an exception. */
    public int failed(HasMetadata resource) {
        return read(failed, resource);
    }

    private static void count(Map<ResourceID, AtomicInteger> counts, HasMetadata resource) {
        counts.computeIfAbsent(ResourceID.fromResource(resource), id -> new AtomicInteger()).incrementAndGet();
    }

    private static int read(Map<ResourceID, AtomicInteger> counts, HasMetadata resource) {
        AtomicInteger count = counts.get(ResourceID.fromResource(resource));
        return count == null ? 0 : count.get();
    }
}
