package dev.pollard.operator;

import dev.pollard.api.InferenceDeployment;
import dev.pollard.api.InferenceDeploymentStatus;
import dev.pollard.operator.Conditions.State;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Builds an InferenceDeployment's status anew on every reconciliation, carrying the served and previous model and the
 * conditions' transition times.
 */
final class InferenceDeploymentStatusAggregator {
    private final InferenceDeployment infd;
    private final InferenceDeploymentStatus previous;
    private final InferenceDeploymentStatus next = new InferenceDeploymentStatus();

    InferenceDeploymentStatusAggregator(InferenceDeployment infd) {
        this.infd = infd;
        this.previous = infd.getStatus() != null ? infd.getStatus() : new InferenceDeploymentStatus();
        next.observedGeneration = infd.getMetadata().getGeneration();
        next.conditions = new ArrayList<>(previous.conditions == null ? List.of() : previous.conditions);
        next.servedModel = previous.servedModel;
        next.rolloutModel = previous.rolloutModel;
        next.previousModel = previous.previousModel;
        next.modelDigest = previous.modelDigest;
        next.readyReplicas = previous.readyReplicas;
        next.url = "http://" + infd.getMetadata().getName() + "." + infd.getMetadata().getNamespace() + ".svc:"
                + ServingService.port(infd) + "/v2/models/" + ServingDeployment.servedName(infd);
    }

    /**
     * The Deployment renders {@code chosen}: once every wanted replica runs it and is ready, it is the served model (and
     * the one before it the previous); until then it is being rolled out and the served model stays what it was.
     */
    InferenceDeploymentStatus serving(InferenceDeploymentStatus.Model chosen, Optional<Deployment> deployment) {
        int wanted = infd.getSpec().replicas != null ? infd.getSpec().replicas : 1;
        int ready = deployment.map(d -> d.getStatus() == null ? null : d.getStatus().getReadyReplicas()).orElse(0);
        next.readyReplicas = ready;
        if (deployment.isPresent() && rolledOut(deployment.get(), wanted)) {
            if (!chosen.sameFile(previous.servedModel)) {
                next.previousModel = previous.servedModel;
            }
            next.servedModel = chosen;
            next.rolloutModel = null;
            next.modelDigest = "sha256:" + chosen.sha256.substring(0, Math.min(12, chosen.sha256.length()));
            return state(State.READY, Reason.Serving, ready + "/" + wanted + " replicas serve " + ServedModels.describe(chosen));
        }
        next.rolloutModel = chosen;
        return state(State.RECONCILING, Reason.RollingOut, ready + "/" + wanted + " replicas ready; rolling out "
                + ServedModels.describe(chosen));
    }

    /** Whether this status serves another file than the persisted one did: a rollout has just completed. */
    boolean servedModelChanged(InferenceDeploymentStatus next) {
        return previous.servedModel != null && next.servedModel != null && !next.servedModel.sameFile(previous.servedModel);
    }

    /** The named class is gone: nothing is created or changed, and the pods already there keep serving. */
    InferenceDeploymentStatus hardwareClassMissing() {
        return refused(Reason.HardwareClassNotFound, "HardwareClass '" + infd.getSpec().hardwareClass
                + "' not found: create it or fix spec.hardwareClass");
    }

    /** What the spec asks is not allowed here (a class's policy): nothing is created or changed either. */
    InferenceDeploymentStatus refused(Reason reason, String message) {
        return state(State.STALLED, reason, message + "; pods already running keep serving");
    }

    InferenceDeploymentStatus error(boolean invalidSpec, String message) {
        return invalidSpec ? state(State.STALLED, Reason.InvalidSpec, message)
                : state(State.RECONCILING, Reason.ReconcileError, message + " (retrying)");
    }

    /** Every wanted replica runs the current pod template and is ready. */
    static boolean rolledOut(Deployment d, int wanted) {
        var s = d.getStatus();
        return s != null && s.getObservedGeneration() != null && s.getObservedGeneration() >= d.getMetadata().getGeneration()
                && Objects.equals(s.getUpdatedReplicas() == null ? 0 : s.getUpdatedReplicas(), wanted)
                && Objects.equals(s.getReadyReplicas() == null ? 0 : s.getReadyReplicas(), wanted)
                && Objects.equals(s.getReplicas() == null ? 0 : s.getReplicas(), wanted);
    }

    private InferenceDeploymentStatus state(State state, Reason reason, String message) {
        next.conditions = Conditions.kstatus(next.conditions, state, reason.name(), message, infd.getMetadata().getGeneration());
        return next;
    }
}
