package dev.pollard.operator;

import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;

/** Environment variables that a pod the operator creates reads from its own object. */
final class DownwardApi {
    private DownwardApi() {
    }

    /**
     * The field's apiVersion is spelled out: the API server fills it in, and a desired Deployment without it never
     * matches the actual one, so every reconciliation applied it again (docs/results.md, "Operator at scale").
     */
    static EnvVar env(String name, String fieldPath) {
        return new EnvVarBuilder().withName(name).withNewValueFrom().withNewFieldRef().withApiVersion("v1")
                .withFieldPath(fieldPath).endFieldRef().endValueFrom().build();
    }
}
