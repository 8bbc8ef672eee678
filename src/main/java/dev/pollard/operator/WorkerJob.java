package dev.pollard.operator;

import dev.pollard.api.HardwareClass;
import dev.pollard.api.PruningJob;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.Creator;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.BooleanWithUndefined;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependentResource;
import io.javaoperatorsdk.operator.api.reconciler.dependent.GarbageCollected;

/**
 * The batch/v1 Job of a PruningJob's current run, as a dependent resource: created once if missing and never updated
 * (a run is not changed under a worker's feet; a new spec or hardware class is a new run with a new name), garbage
 * collected with its PruningJob. Its informer also holds the PruningJob's earlier runs, which the reconciler reads.
 * Created with a POST, not a server-side apply: nothing is ever applied to it again, and the API server takes about
 * three times as long to apply an object of this size as to create it (docs/results.md, "Operator at scale").
 */
@KubernetesDependent(useSSA = BooleanWithUndefined.FALSE, informer = @Informer(labelSelector = Labels.COMPONENT + "="
        + PruningRun.COMPONENT + "," + Labels.MANAGED_BY + "=" + Labels.OPERATOR, itemStore = TrimmedCache.class))
public class WorkerJob extends KubernetesDependentResource<Job, PruningJob>
        implements Creator<Job, PruningJob>, GarbageCollected<PruningJob> {

    public WorkerJob() {
        super(Job.class);
    }

    @Override
    protected Job desired(PruningJob pj, Context<PruningJob> context) {
        HardwareClass hwc = context.getSecondaryResource(HardwareClass.class)
                .orElseThrow(() -> new IllegalStateException("a run is only started once its HardwareClass is resolved"));
        OperatorSettings settings = context.managedWorkflowAndDependentResourceContext()
                .getMandatory(OperatorSettings.class, OperatorSettings.class);
        return PruningRun.render(pj, hwc, settings);
    }
}
