package dev.pollard.operator;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.Map;

/** Recommended labels on everything the operator creates. */
final class Labels {
    static final String NAME = "app.kubernetes.io/name";
    static final String INSTANCE = "app.kubernetes.io/instance";
    static final String COMPONENT = "app.kubernetes.io/component";
    static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    static final String OPERATOR = "pollard-operator";

    private Labels() {
    }

    /** Labels that select the pods of one owner's component. */
    static Map<String, String> selector(HasMetadata owner, String component) {
        return Map.of(NAME, "pollard", INSTANCE, owner.getMetadata().getName(), COMPONENT, component);
    }

    static Map<String, String> all(HasMetadata owner, String component) {
        return Map.of(NAME, "pollard", INSTANCE, owner.getMetadata().getName(), COMPONENT, component, MANAGED_BY, OPERATOR);
    }
}
