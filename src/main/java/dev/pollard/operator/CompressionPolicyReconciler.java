package dev.pollard.operator;

import dev.pollard.api.CompressionPolicy;
import dev.pollard.api.CompressionPolicySpec;
import dev.pollard.api.CompressionPolicyStatus;
import dev.pollard.api.HardwareClass;
import dev.pollard.api.InferenceDeployment;
import dev.pollard.api.PruningJob;
import dev.pollard.operator.Conditions.State;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.ControllerConfigurationOverrider;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.Mappers;
import io.quarkiverse.operatorsdk.runtime.api.ConfigurableReconciler;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Keeps exactly one generated PruningJob per (selected InferenceDeployment, HardwareClass, source sha256, policy
 * generation), as Kyverno generate rules and Katib experiments own what they create: creates what is missing (at most
 * {@code parallelism} going at once, none after {@code failureLimit} failures or while suspended), reverts hand
 * edits, stops superseded runs that still go, keeps finished ones up to the history limits, and deletes the runs of a
 * deployment that no longer matches. Deleting the policy deletes its runs through their owner references.
 */
@ControllerConfiguration(name = CompressionPolicyReconciler.NAME, fieldManager = Labels.OPERATOR,
        informer = @Informer(itemStore = TrimmedCache.class))
// Reconciler named as well: JOSDK reads the resource type from the Reconciler interface the class itself lists
public class CompressionPolicyReconciler implements Reconciler<CompressionPolicy>, ConfigurableReconciler<CompressionPolicy> {
    public static final String NAME = "compressionpolicy";
    private static final String TARGETS = "targets";

    private final OperatorSettings settings;

    @Inject
    public CompressionPolicyReconciler(OperatorSettings settings) {
        this.settings = settings;
    }

    @Override
    public void updateConfigurationFrom(ControllerConfigurationOverrider<CompressionPolicy> configuration) {
        settings.watch(configuration);
    }

    @Override
    public List<EventSource<?, CompressionPolicy>> prepareEventSources(EventSourceContext<CompressionPolicy> context) {
        // any change of a deployment may change which policies select it: look at every policy of its namespace
        var targets = InformerEventSourceConfiguration.from(InferenceDeployment.class, CompressionPolicy.class)
                .withName(TARGETS)
                .withItemStore(new TrimmedCache<>())
                .withSecondaryToPrimaryMapper(infd -> context.getPrimaryCache().list(infd.getMetadata().getNamespace())
                        .map(ResourceID::fromResource).collect(Collectors.toSet()))
                .build();
        var classes = InformerEventSourceConfiguration.from(HardwareClass.class, CompressionPolicy.class)
                .withName("hardwareclasses")
                .withWatchAllNamespaces()
                .withSecondaryToPrimaryMapper(hwc -> context.getPrimaryCache().list().map(ResourceID::fromResource)
                        .collect(Collectors.toSet()))
                .withPrimaryToSecondaryMapper((CompressionPolicy p) -> Set.of())
                .build();
        var generated = InformerEventSourceConfiguration.from(PruningJob.class, CompressionPolicy.class)
                .withName("generated")
                .withItemStore(new TrimmedCache<>())
                .withLabelSelector(GeneratedRuns.POLICY_LABEL)
                .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(CompressionPolicy.class))
                .build();
        return List.of(new InformerEventSource<>(targets, context), new InformerEventSource<>(classes, context),
                new InformerEventSource<>(generated, context));
    }

    @Override
    @SuppressWarnings("unchecked")
    public UpdateControl<CompressionPolicy> reconcile(CompressionPolicy policy, Context<CompressionPolicy> context) {
        CompressionPolicySpec spec = policy.getSpec();
        String namespace = policy.getMetadata().getNamespace();
        var targetCache = (InformerEventSource<InferenceDeployment, CompressionPolicy>) context.eventSourceRetriever()
                .getEventSourceFor(InferenceDeployment.class, TARGETS);
        List<InferenceDeployment> targets = targetCache.list(namespace, infd -> Selectors.matches(spec.selector,
                infd.getMetadata().getLabels()) && (infd.getSpec().compression == null
                        || !Boolean.FALSE.equals(infd.getSpec().compression.enabled)))
                .sorted(Comparator.comparing(infd -> infd.getMetadata().getName())).toList();
        List<HardwareClass> classes = context.getSecondaryResources(HardwareClass.class).stream()
                .sorted(Comparator.comparing(h -> h.getMetadata().getName())).toList();
        Map<String, PruningJob> owned = new HashMap<>();
        for (PruningJob pj : context.getSecondaryResources(PruningJob.class)) {
            owned.put(pj.getMetadata().getName(), pj);
        }
        KubernetesClient client = context.getClient();

        // what the policy wants now, in a stable order
        List<CompressionPolicyStatus.Target> rows = new ArrayList<>();
        List<PruningJob> wanted = new ArrayList<>();
        for (InferenceDeployment target : targets) {
            for (String hardwareClass : hardwareClasses(spec, target, classes)) {
                wanted.add(GeneratedRuns.desired(policy, target, hardwareClass));
            }
        }
        List<PruningJob> current = wanted.stream().map(w -> owned.get(w.getMetadata().getName())).filter(Objects::nonNull).toList();
        int failed = (int) current.stream().filter(GeneratedRuns::failed).count();
        int going = (int) current.stream().filter(pj -> !GeneratedRuns.finished(pj)).count();
        boolean suspended = Boolean.TRUE.equals(spec.suspend);
        boolean failureLimitReached = failed >= spec.failureLimit;
        for (PruningJob desired : wanted) {
            PruningJob existing = owned.get(desired.getMetadata().getName());
            if (existing != null && !GeneratedRuns.matches(existing, desired)) {
                existing = GeneratedRuns.revert(client, existing, desired);
                EventRecorder.record(client, policy, Reason.RunReverted, "PruningJob " + desired.getMetadata().getName()
                        + " was changed by hand; put back as the policy generates it");
            } else if (existing == null && !suspended && !failureLimitReached && going < spec.parallelism) {
                existing = client.resource(desired).fieldManager(Labels.OPERATOR).forceConflicts().serverSideApply();
                going++;
                EventRecorder.record(client, policy, Reason.RunCreated, "PruningJob " + desired.getMetadata().getName()
                        + " created for InferenceDeployment " + desired.getSpec().deployTo + " on '"
                        + desired.getSpec().hardwareClass + "'");
            }
            rows.add(row(desired, existing, targets));
        }
        removeSuperseded(policy, owned, wanted, targets, client);

        CompressionPolicyStatus next = new CompressionPolicyStatus();
        next.observedGeneration = policy.getMetadata().getGeneration();
        next.targets = rows;
        next.counts = new CompressionPolicyStatus.Counts();
        next.counts.matched = targets.size();
        next.counts.failed = failed;
        next.counts.running = (int) rows.stream().filter(r -> r.pruningJob != null && !List.of("Succeeded", "Failed")
                .contains(r.phase) && !"Waiting".equals(r.phase)).count();
        next.counts.succeeded = (int) rows.stream().filter(r -> "Succeeded".equals(r.phase)).count();
        next.conditions = conditions(policy, next, suspended, failureLimitReached, rows.size());
        return StatusUpdates.patchIfChanged(policy, next, CompressionPolicy::new, s -> s.conditions, context);
    }

    /** The classes a target is compressed for: the policy's names or selector, else the target's own class. */
    private static List<String> hardwareClasses(CompressionPolicySpec spec, InferenceDeployment target,
            List<HardwareClass> classes) {
        if (spec.hardwareClasses == null) {
            return target.getSpec().hardwareClass == null ? List.of() : List.of(target.getSpec().hardwareClass);
        }
        if (spec.hardwareClasses.names != null) {
            return spec.hardwareClasses.names.stream().sorted().distinct().toList();
        }
        return classes.stream().filter(h -> Selectors.matches(spec.hardwareClasses.selector, h.getMetadata().getLabels()))
                .map(h -> h.getMetadata().getName()).toList();
    }

    /**
     * Runs no longer wanted: all of a deployment that stopped matching; of one still matched, those that still go
     * (superseded by a new source or policy generation) and finished ones beyond the history limits.
     */
    private static void removeSuperseded(CompressionPolicy policy, Map<String, PruningJob> owned, List<PruningJob> wanted,
            List<InferenceDeployment> targets, KubernetesClient client) {
        Set<String> wantedNames = wanted.stream().map(pj -> pj.getMetadata().getName()).collect(Collectors.toSet());
        Set<String> matched = targets.stream().map(t -> t.getMetadata().getName()).collect(Collectors.toSet());
        Map<String, List<PruningJob>> oldByTarget = owned.values().stream()
                .filter(pj -> !wantedNames.contains(pj.getMetadata().getName()))
                .collect(Collectors.groupingBy(pj -> pj.getMetadata().getLabels().getOrDefault(GeneratedRuns.TARGET_LABEL, "")));
        for (var entry : oldByTarget.entrySet()) {
            List<PruningJob> old = entry.getValue().stream().sorted(GeneratedRuns.NEWEST_FIRST).toList();
            int succeededKept = 0;
            int failedKept = 0;
            for (PruningJob pj : old) {
                boolean keep = false;
                if (matched.contains(entry.getKey()) && GeneratedRuns.succeeded(pj)) {
                    keep = succeededKept++ < policy.getSpec().successfulRunsHistoryLimit;
                } else if (matched.contains(entry.getKey()) && GeneratedRuns.failed(pj)) {
                    keep = failedKept++ < policy.getSpec().failedRunsHistoryLimit;
                }
                if (!keep) {
                    client.resource(pj).withPropagationPolicy(DeletionPropagation.BACKGROUND).delete();
                    EventRecorder.record(client, policy, Reason.RunDeleted, "PruningJob " + pj.getMetadata().getName()
                            + (matched.contains(entry.getKey()) ? (GeneratedRuns.finished(pj) ? " is beyond the history limit"
                                    : " was superseded while it ran") : " belongs to InferenceDeployment " + entry.getKey()
                                            + ", which the policy no longer selects"));
                }
            }
        }
    }

    private static CompressionPolicyStatus.Target row(PruningJob desired, PruningJob existing, List<InferenceDeployment> targets) {
        CompressionPolicyStatus.Target row = new CompressionPolicyStatus.Target();
        row.inferenceDeployment = desired.getSpec().deployTo;
        row.hardwareClass = desired.getSpec().hardwareClass;
        if (existing == null) {
            row.phase = "Waiting";
        } else {
            row.pruningJob = existing.getMetadata().getName();
            row.phase = existing.getStatus() == null || existing.getStatus().phase == null ? "Pending"
                    : existing.getStatus().phase.name().charAt(0) + existing.getStatus().phase.name().substring(1).toLowerCase();
            if (GeneratedRuns.succeeded(existing)) {
                row.energyReduction = existing.getStatus().ratios == null ? null : existing.getStatus().ratios.energyReduction;
                row.accuracyDrop = existing.getStatus().accuracyDrop;
            }
        }
        targets.stream().filter(t -> t.getMetadata().getName().equals(row.inferenceDeployment)).findFirst()
                .filter(t -> t.getStatus() != null && t.getStatus().servedModel != null)
                .ifPresent(t -> row.servedSha256 = t.getStatus().servedModel.sha256);
        return row;
    }

    private static List<io.fabric8.kubernetes.api.model.Condition> conditions(CompressionPolicy policy,
            CompressionPolicyStatus next, boolean suspended, boolean failureLimitReached, int wanted) {
        List<io.fabric8.kubernetes.api.model.Condition> previous = policy.getStatus() == null ? List.of()
                : policy.getStatus().conditions;
        long generation = policy.getMetadata().getGeneration();
        if (failureLimitReached) {
            return Conditions.kstatus(previous, State.STALLED, Reason.FailureLimitReached.name(), next.counts.failed
                    + " runs of this generation failed (failureLimit " + policy.getSpec().failureLimit + "): no new run "
                    + "starts until the policy changes", generation);
        }
        if (suspended) {
            return Conditions.kstatus(previous, State.READY, Reason.Suspended.name(),
                    "suspended: no new run starts; deployments keep what they serve", generation);
        }
        if (wanted == 0) {
            return Conditions.kstatus(previous, State.READY, Reason.NoTargets.name(),
                    "no InferenceDeployment with compression enabled matches spec.selector", generation);
        }
        if (next.counts.succeeded == wanted) {
            return Conditions.kstatus(previous, State.READY, Reason.AllTargetsCompressed.name(), wanted
                    + " runs succeeded for " + next.counts.matched + " InferenceDeployments", generation);
        }
        long waiting = next.targets.stream().filter(r -> "Waiting".equals(r.phase)).count();
        return Conditions.kstatus(previous, State.RECONCILING, Reason.RunsInProgress.name(), next.counts.succeeded + " of "
                + wanted + " runs succeeded, " + next.counts.running + " going, " + waiting + " waiting", generation);
    }

    @Override
    public ErrorStatusUpdateControl<CompressionPolicy> updateErrorStatus(CompressionPolicy policy,
            Context<CompressionPolicy> context, Exception e) {
        return StatusUpdates.onError(policy, e, CompressionPolicy::new, (invalid, message) -> {
            CompressionPolicyStatus next = new CompressionPolicyStatus();
            CompressionPolicyStatus previous = policy.getStatus() != null ? policy.getStatus() : new CompressionPolicyStatus();
            next.observedGeneration = policy.getMetadata().getGeneration();
            next.counts = previous.counts;
            next.targets = previous.targets;
            next.conditions = Conditions.kstatus(previous.conditions, invalid ? State.STALLED : State.RECONCILING,
                    (invalid ? Reason.InvalidSpec : Reason.ReconcileError).name(), invalid ? message : message + " (retrying)",
                    policy.getMetadata().getGeneration());
            return next;
        }, s -> s.conditions, context);
    }
}
