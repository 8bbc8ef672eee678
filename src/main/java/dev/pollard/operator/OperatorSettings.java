package dev.pollard.operator;

import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.api.config.ControllerConfigurationOverrider;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.function.Function;

/**
 * Settings the operator reads from its environment once, at start (set by the Helm chart or manifests/06-deployment.yaml).
 *
 * @param workerImage image of worker and serving pods
 * @param workerResources CPU and memory of a worker when neither its PruningJob nor its HardwareClass says
 * @param scratchLimit size limit of a worker's scratch volume (/tmp: downloads, temporary files)
 * @param finishedRunTtlSeconds how long a finished run's Job stays (its result is in the PruningJob's status)
 * @param watchNamespaces the namespaces whose PruningJobs, InferenceDeployments and CompressionPolicies the operator
 *     watches (POLLARD_WATCH_NAMESPACES, comma-separated); empty: all of them
 */
public record OperatorSettings(String workerImage, ResourceRequirements workerResources, Quantity scratchLimit,
        int finishedRunTtlSeconds, Set<String> watchNamespaces) {
    static final String DEFAULT_IMAGE = "ghcr.io/pollard-dev/pollard:0.1.0";

    public static OperatorSettings fromEnvironment() {
        return from(System::getenv);
    }

    /** From variables (POLLARD_*); a value that does not parse stops the operator with the variable's name. */
    static OperatorSettings from(Function<String, String> environment) {
        Function<String, String> get = name -> {
            String value = environment.apply(name);
            return value == null || value.isBlank() ? null : value.strip();
        };
        String image = get.apply("POLLARD_WORKER_IMAGE");
        ResourceRequirements resources = new ResourceRequirementsBuilder()
                .withRequests(Map.of("cpu", quantity(get, "POLLARD_WORKER_CPU_REQUEST", "2"),
                        "memory", quantity(get, "POLLARD_WORKER_MEMORY_REQUEST", "4Gi")))
                .withLimits(Map.of("cpu", quantity(get, "POLLARD_WORKER_CPU_LIMIT", "8"),
                        "memory", quantity(get, "POLLARD_WORKER_MEMORY_LIMIT", "16Gi")))
                .build();
        String ttl = get.apply("POLLARD_FINISHED_RUN_TTL_SECONDS");
        int ttlSeconds;
        try {
            ttlSeconds = ttl == null ? 7 * 24 * 3600 : Integer.parseInt(ttl);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("POLLARD_FINISHED_RUN_TTL_SECONDS: '" + ttl + "' is not a number of seconds");
        }
        String watch = get.apply("POLLARD_WATCH_NAMESPACES");
        Set<String> namespaces = watch == null ? Set.of() : Arrays.stream(watch.split(",")).map(String::strip)
                .filter(ns -> !ns.isEmpty()).collect(Collectors.toUnmodifiableSet());
        return new OperatorSettings(image == null ? DEFAULT_IMAGE : image, resources,
                quantity(get, "POLLARD_WORKER_SCRATCH_LIMIT", "20Gi"), ttlSeconds, namespaces);
    }

    /**
     * Limits a controller of a namespaced kind to the watched namespaces (HardwareClasses are cluster-scoped and watched
     * everywhere): the Quarkus Operator SDK calls this, through ConfigurableReconciler, before the controller starts.
     */
    <R extends HasMetadata> void watch(ControllerConfigurationOverrider<R> controller) {
        if (!watchNamespaces.isEmpty()) {
            controller.settingNamespaces(watchNamespaces);
        }
    }

    private static Quantity quantity(Function<String, String> get, String name, String fallback) {
        String value = get.apply(name);
        try {
            Quantity q = new Quantity(value == null ? fallback : value);
            Quantity.getAmountInBytes(q); // parses it: a typo fails here, at start, not in every pod
            return q;
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new IllegalArgumentException(name + ": '" + value + "' is not a Kubernetes quantity (e.g. 2, 500m, 4Gi)");
        }
    }

    /** What the reconcilers are given in the running operator. */
    static final class Producer {
        @Produces
        @Singleton
        OperatorSettings settings() {
            return fromEnvironment();
        }
    }
}
