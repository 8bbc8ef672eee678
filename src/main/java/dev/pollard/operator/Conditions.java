package dev.pollard.operator;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/** Kubernetes-style conditions: one per type, Ready first, lastTransitionTime kept while the status is unchanged. */
public final class Conditions {
    public static final String READY = "Ready";

    private Conditions() {
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
        return conditions.stream().filter(c -> type.equals(c.getType())).findFirst();
    }
}
