package dev.pollard.testing;

import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.Resource;

/**
 * A fault of the API server's, for a while: a ValidatingAdmissionPolicy that refuses every create and update of one
 * resource (or subresource, "pruningjobs/status") in one namespace with a message of the test's. The API server applies
 * a new policy a moment later, so a test waits until a write is refused ({@link #awaitRefusing}) before it relies on
 * the refusal. Closing it lifts the policy.
 */
public final class RefusedWrites implements AutoCloseable {
    private final Resource<HasMetadata> policy;
    private final Resource<HasMetadata> binding;
    private final String message;

    private RefusedWrites(Resource<HasMetadata> policy, Resource<HasMetadata> binding, String message) {
        this.policy = policy;
        this.binding = binding;
        this.message = message;
    }

    /** Refuses writes of {@code group}'s {@code resource} in {@code namespace} with {@code message}, until closed. */
    public static RefusedWrites of(KubernetesClient client, String namespace, String group, String resource, String message) {
        Resource<HasMetadata> policy = client.resource(client.getKubernetesSerialization().unmarshal("""
                apiVersion: admissionregistration.k8s.io/v1
                kind: ValidatingAdmissionPolicy
                metadata: {name: %1$s}
                spec:
                  failurePolicy: Fail
                  matchConstraints:
                    resourceRules:
                    - {apiGroups: ["%2$s"], apiVersions: ["*"], operations: [CREATE, UPDATE], resources: ["%3$s"]}
                  validations:
                  - {expression: "false", message: "%4$s"}
                """.formatted(namespace, group, resource, message), HasMetadata.class));
        policy.create();
        Resource<HasMetadata> binding = client.resource(client.getKubernetesSerialization().unmarshal("""
                apiVersion: admissionregistration.k8s.io/v1
                kind: ValidatingAdmissionPolicyBinding
                metadata: {name: %1$s}
                spec:
                  policyName: %1$s
                  validationActions: [Deny]
                  matchResources:
                    namespaceSelector:
                      matchLabels: {kubernetes.io/metadata.name: %1$s}
                """.formatted(namespace), HasMetadata.class));
        binding.create();
        return new RefusedWrites(policy, binding, message);
    }

    /** Returns once the API server refuses {@code dryRunWrite} (a write of the frozen kind, dry-run) with the message. */
    public void awaitRefusing(Runnable dryRunWrite) {
        await().atMost(Waits.REACTION).until(() -> {
            try {
                dryRunWrite.run();
                return false;
            } catch (KubernetesClientException e) {
                return e.getMessage().contains(message);
            }
        });
    }

    @Override
    public void close() {
        binding.delete();
        policy.delete();
    }
}
