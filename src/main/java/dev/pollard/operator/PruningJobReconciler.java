package dev.pollard.operator;

import dev.pollard.api.HardwareClass;
import dev.pollard.api.PruningJob;
import dev.pollard.api.PruningJobStatus;
import dev.pollard.api.PruningJobStatus.Phase;
import io.fabric8.kubernetes.api.model.Condition;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Drives a PruningJob. Watches HardwareClasses too, so a job waiting for its class moves on as soon as the class
 * is created or changed (an informer, not polling).
 */
@ControllerConfiguration(name = PruningJobReconciler.NAME)
public class PruningJobReconciler implements Reconciler<PruningJob> {
    public static final String NAME = "pruningjob";

    public static final String REASON_HARDWARE_CLASS_NOT_FOUND = "HardwareClassNotFound";
    public static final String REASON_AWAITING_RUN = "AwaitingRun";
    public static final String REASON_RECONCILE_ERROR = "ReconcileError";
    public static final String HARDWARE_CLASS_RESOLVED = "HardwareClassResolved";

    @Override
    public List<EventSource<?, PruningJob>> prepareEventSources(EventSourceContext<PruningJob> context) {
        return List.of(HardwareClassWatch.create(context, PruningJob.class,
                pj -> pj.getSpec() == null ? null : pj.getSpec().hardwareClass));
    }

    @Override
    public UpdateControl<PruningJob> reconcile(PruningJob job, Context<PruningJob> context) {
        PruningJobStatus before = copyOf(job.getStatus());
        PruningJobStatus status = job.getStatus() != null ? job.getStatus() : new PruningJobStatus();
        job.setStatus(status);
        long generation = job.getMetadata().getGeneration();
        status.observedGeneration = generation;

        Optional<HardwareClass> hardwareClass = context.getSecondaryResource(HardwareClass.class);
        if (hardwareClass.isEmpty()) {
            String message = "HardwareClass '" + job.getSpec().hardwareClass + "' not found: create it or fix spec.hardwareClass";
            status.phase = Phase.PENDING;
            Conditions.set(status.conditions, HARDWARE_CLASS_RESOLVED, false, REASON_HARDWARE_CLASS_NOT_FOUND, message, generation);
            setReady(job, context, false, REASON_HARDWARE_CLASS_NOT_FOUND, message, true);
        } else {
            HardwareClass hwc = hardwareClass.get();
            String message = "HardwareClass '" + hwc.getMetadata().getName() + "' (generation "
                    + hwc.getMetadata().getGeneration() + ") resolved";
            Conditions.set(status.conditions, HARDWARE_CLASS_RESOLVED, true, "Found", message, generation);
            if (status.phase == null || status.phase == Phase.PENDING) {
                status.phase = Phase.PENDING;
                setReady(job, context, false, REASON_AWAITING_RUN, message + "; waiting for a pruning run to start", false);
            }
        }
        return Objects.equals(json(before), json(status)) ? UpdateControl.noUpdate() : UpdateControl.patchStatus(job);
    }

    @Override
    public ErrorStatusUpdateControl<PruningJob> updateErrorStatus(PruningJob job, Context<PruningJob> context, Exception e) {
        PruningJobStatus status = job.getStatus() != null ? job.getStatus() : new PruningJobStatus();
        job.setStatus(status);
        String message = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        setReady(job, context, false, REASON_RECONCILE_ERROR, message, true);
        // JOSDK keeps retrying with its backoff; the status and an Event say why meanwhile
        return ErrorStatusUpdateControl.patchStatus(job);
    }

    /** Sets the Ready condition and emits an Event when its reason changes (not on every reconciliation). */
    private static void setReady(PruningJob job, Context<PruningJob> context, boolean ready, String reason, String message,
            boolean warning) {
        List<Condition> conditions = job.getStatus().conditions;
        String previousReason = Conditions.find(conditions, Conditions.READY).map(Condition::getReason).orElse(null);
        Conditions.set(conditions, Conditions.READY, ready, reason, message, job.getMetadata().getGeneration());
        if (!reason.equals(previousReason)) {
            if (warning) {
                EventRecorder.warning(context.getClient(), job, reason, message);
            } else {
                EventRecorder.normal(context.getClient(), job, reason, message);
            }
        }
    }

    private static PruningJobStatus copyOf(PruningJobStatus status) {
        return status == null ? null : io.fabric8.kubernetes.client.utils.Serialization.clone(status);
    }

    private static String json(Object o) {
        return o == null ? null : io.fabric8.kubernetes.client.utils.Serialization.asJson(o);
    }
}
