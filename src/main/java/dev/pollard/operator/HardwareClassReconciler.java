package dev.pollard.operator;

import dev.pollard.api.HardwareClass;
import dev.pollard.api.HardwareClassStatus;
import dev.pollard.operator.Conditions.State;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.util.ArrayList;
import java.util.List;

/**
 * Gives a HardwareClass the status every Pollard kind has (observedGeneration, Ready/Reconciling/Stalled), so that
 * kstatus, Flux and Argo CD can tell that the operator has seen its current generation. The schema has already
 * checked the spec; what the class means is read by the PruningJob and InferenceDeployment reconcilers.
 */
@ControllerConfiguration(name = HardwareClassReconciler.NAME, fieldManager = Labels.OPERATOR)
public class HardwareClassReconciler implements Reconciler<HardwareClass> {
    public static final String NAME = "hardwareclass";

    @Override
    public UpdateControl<HardwareClass> reconcile(HardwareClass hwc, Context<HardwareClass> context) {
        var spec = hwc.getSpec();
        String what = (spec.gpu == null ? "CPU only" : (spec.gpu.count == null ? 1 : spec.gpu.count) + " x " + spec.gpu.product
                + " per pod") + ", metered by " + (spec.meter == null ? "analytical" : spec.meter.name().toLowerCase());
        return StatusUpdates.patchIfChanged(hwc, status(hwc, State.READY, Reason.Accepted, what), HardwareClass::new,
                s -> s.conditions, context);
    }

    @Override
    public ErrorStatusUpdateControl<HardwareClass> updateErrorStatus(HardwareClass hwc, Context<HardwareClass> context,
            Exception e) {
        return StatusUpdates.onError(hwc, e, HardwareClass::new, (invalid, message) -> status(hwc,
                invalid ? State.STALLED : State.RECONCILING, invalid ? Reason.InvalidSpec : Reason.ReconcileError, message),
                s -> s.conditions, context);
    }

    private static HardwareClassStatus status(HardwareClass hwc, State state, Reason reason, String message) {
        HardwareClassStatus status = new HardwareClassStatus();
        status.observedGeneration = hwc.getMetadata().getGeneration();
        List<io.fabric8.kubernetes.api.model.Condition> previous = hwc.getStatus() == null ? List.of() : hwc.getStatus().conditions;
        status.conditions = Conditions.kstatus(new ArrayList<>(previous), state, reason.name(), message,
                hwc.getMetadata().getGeneration());
        return status;
    }
}
