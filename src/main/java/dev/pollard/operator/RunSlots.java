package dev.pollard.operator;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Bounds the runs active at once on each HardwareClass (spec.maxConcurrentRuns), across namespaces. The informer cache
 * says which runs are active; a slot granted a moment ago whose Job the cache has not shown yet is remembered here, so
 * that reconciliations running side by side never grant more slots than there are.
 */
final class RunSlots {
    /** How long a granted slot is held for a Job that never shows up in the cache (its creation failed). */
    static final Duration GRANT_HELD = Duration.ofSeconds(60);

    private final Clock clock;
    /** class UID, run name, when the slot was granted */
    private final Map<String, Map<String, Instant>> granted = new HashMap<>();

    RunSlots(Clock clock) {
        this.clock = clock;
    }

    /**
     * @param cachedRuns the names of every Job of this class in the cache, finished or not
     * @param activeRuns those of them that have not finished
     * @return whether {@code run} may have its Job: it already holds a slot, or a slot is free and is now its own
     */
    synchronized boolean tryAcquire(String classUid, String run, int max, Set<String> cachedRuns, Set<String> activeRuns) {
        Map<String, Instant> pending = granted.computeIfAbsent(classUid, k -> new HashMap<>());
        Instant now = clock.instant();
        pending.keySet().removeIf(name -> cachedRuns.contains(name) || pending.get(name).plus(GRANT_HELD).isBefore(now));
        Set<String> holding = new HashSet<>(activeRuns);
        holding.addAll(pending.keySet());
        if (holding.contains(run)) {
            return true;
        }
        if (holding.size() >= max) {
            return false;
        }
        pending.put(run, now);
        return true;
    }
}
