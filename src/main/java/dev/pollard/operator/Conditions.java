package dev.pollard.operator;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Kubernetes-style conditions: one per type, lastTransitionTime kept while a condition's status is unchanged, and the
 * three that kstatus (and so Flux and Argo CD) reads on every Pollard kind: Ready, Reconciling and Stalled, exactly
 * one of them True.
 */
public final class Conditions {
    public static final String READY = "Ready";
    public static final String RECONCILING = "Reconciling";
    public static final String STALLED = "Stalled";

    /** Where a resource stands, in kstatus terms. */
    public enum State {
        /** Done: what the spec asks for is in place. */
        READY,
        /** Work in progress: a run pending or going, a rollout. */
        RECONCILING,
        /** Will not get further without a change: a failed run, an invalid spec, a missing dependency. */
        STALLED
    }

    private Conditions() {
    }

    /**
     * Sets Ready, Reconciling and Stalled for {@code state} (one True, two False, all with this reason and message),
     * carrying the transition times of {@code previous}; conditions of other types in {@code previous} are kept.
     */
    public static List<Condition> kstatus(List<Condition> previous, State state, String reason, String message,
            long observedGeneration) {
        List<Condition> conditions = new ArrayList<>(previous == null ? List.of() : previous);
        set(conditions, READY, state == State.READY, reason, message, observedGeneration);
        set(conditions, RECONCILING, state == State.RECONCILING, reason, message, observedGeneration);
        set(conditions, STALLED, state == State.STALLED, reason, message, observedGeneration);
        return conditions;
    }

    public static void set(List<Condition> conditions, String type, boolean status, String reason, String message,
            Long observedGeneration) {
        String statusText = status ? "True" : "False";
        Optional<Condition> existing = find(conditions, type);
        String transition = existing.filter(c -> statusText.equals(c.getStatus()))
                .map(Condition::getLastTransitionTime)
                .orElseGet(() -> Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        existing.ifPresent(conditions::remove);
        conditions.add(new ConditionBuilder().withType(type).withStatus(statusText).withReason(reason)
                .withMessage(message).withObservedGeneration(observedGeneration).withLastTransitionTime(transition)
                .build());
        conditions.sort(Comparator.comparing((Condition c) -> !READY.equals(c.getType())).thenComparing(Condition::getType));
    }

    public static Optional<Condition> find(List<Condition> conditions, String type) {
        return conditions == null ? Optional.empty() : conditions.stream().filter(c -> type.equals(c.getType())).findFirst();
    }

    /** The condition of this type if it is True. */
    public static Optional<Condition> whenTrue(List<Condition> conditions, String type) {
        return find(conditions, type).filter(c -> "True".equals(c.getStatus()));
    }
}
