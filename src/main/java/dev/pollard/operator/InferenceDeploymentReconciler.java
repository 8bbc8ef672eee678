package dev.pollard.operator;

import dev.pollard.api.HardwareClass;
import dev.pollard.api.InferenceDeployment;
import dev.pollard.api.InferenceDeploymentStatus;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Workflow;
import io.javaoperatorsdk.operator.api.reconciler.dependent.Dependent;
import io.javaoperatorsdk.operator.api.reconciler.dependent.DependentResource;
import io.javaoperatorsdk.operator.processing.dependent.workflow.Condition;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** Serves an InferenceDeployment's model: a Deployment running {@code pollard serve} and a Service in front of it. */
@ControllerConfiguration(name = InferenceDeploymentReconciler.NAME)
@Workflow(dependents = {
        @Dependent(name = "deployment", type = ServingDeployment.class,
                reconcilePrecondition = InferenceDeploymentReconciler.HardwareClassKnown.class),
        @Dependent(name = "service", type = ServingService.class)})
public class InferenceDeploymentReconciler implements Reconciler<InferenceDeployment> {
    public static final String NAME = "inferencedeployment";
    public static final String REASON_SERVING = "Serving";
    public static final String REASON_ROLLING_OUT = "RollingOut";
    public static final String REASON_HARDWARE_CLASS_NOT_FOUND = "HardwareClassNotFound";
    public static final String REASON_INVALID_SPEC = "InvalidSpec";

    @Override
    public List<EventSource<?, InferenceDeployment>> prepareEventSources(EventSourceContext<InferenceDeployment> context) {
        return List.of(HardwareClassWatch.create(context, InferenceDeployment.class,
                infd -> infd.getSpec() == null ? null : infd.getSpec().hardwareClass));
    }

    @Override
    public UpdateControl<InferenceDeployment> reconcile(InferenceDeployment infd, Context<InferenceDeployment> context) {
        String before = json(infd.getStatus());
        InferenceDeploymentStatus status = infd.getStatus() != null ? infd.getStatus() : new InferenceDeploymentStatus();
        infd.setStatus(status);
        long generation = infd.getMetadata().getGeneration();
        status.observedGeneration = generation;
        int port = ServingService.port(infd);
        status.url = "http://" + infd.getMetadata().getName() + "." + infd.getMetadata().getNamespace() + ".svc:" + port
                + "/v2/models/" + ServingDeployment.servedName(infd);

        if (!HardwareClassKnown.met(infd, context)) {
            Conditions.set(status.conditions, Conditions.READY, false, REASON_HARDWARE_CLASS_NOT_FOUND,
                    "HardwareClass '" + infd.getSpec().hardwareClass + "' not found: create it or fix spec.hardwareClass",
                    generation);
        } else {
            Optional<Deployment> deployment = context.getSecondaryResource(Deployment.class);
            int wanted = infd.getSpec().replicas != null ? infd.getSpec().replicas : 1;
            int ready = deployment.map(d -> d.getStatus() == null ? null : d.getStatus().getReadyReplicas())
                    .map(Integer::intValue).orElse(0);
            status.readyReplicas = ready;
            if (deployment.isPresent() && rolledOut(deployment.get(), wanted)) {
                status.servedSha256 = infd.getSpec().model.sha256;
                status.modelDigest = "sha256:" + status.servedSha256.substring(0, 12);
                Conditions.set(status.conditions, Conditions.READY, true, REASON_SERVING,
                        ready + "/" + wanted + " replicas serve sha256:" + status.servedSha256, generation);
            } else {
                Conditions.set(status.conditions, Conditions.READY, false, REASON_ROLLING_OUT,
                        ready + "/" + wanted + " replicas ready with sha256:" + infd.getSpec().model.sha256, generation);
            }
        }
        return Objects.equals(before, json(status)) ? UpdateControl.noUpdate() : UpdateControl.patchStatus(infd);
    }

    /** Every wanted replica runs the current pod template and is ready. */
    static boolean rolledOut(Deployment d, int wanted) {
        var s = d.getStatus();
        return s != null && s.getObservedGeneration() != null && s.getObservedGeneration() >= d.getMetadata().getGeneration()
                && Objects.equals(s.getUpdatedReplicas() == null ? 0 : s.getUpdatedReplicas(), wanted)
                && Objects.equals(s.getReadyReplicas() == null ? 0 : s.getReadyReplicas(), wanted)
                && Objects.equals(s.getReplicas() == null ? 0 : s.getReplicas(), wanted);
    }

    @Override
    public ErrorStatusUpdateControl<InferenceDeployment> updateErrorStatus(InferenceDeployment infd,
            Context<InferenceDeployment> context, Exception e) {
        if (Errors.conflict(e)) {
            return ErrorStatusUpdateControl.defaultErrorProcessing(); // retried at once; no status noise, no Event
        }
        InferenceDeploymentStatus status = infd.getStatus() != null ? infd.getStatus() : new InferenceDeploymentStatus();
        infd.setStatus(status);
        boolean invalid = Errors.invalidSpec(e).isPresent();
        String reason = invalid ? REASON_INVALID_SPEC : "ReconcileError";
        String message = Errors.message(e);
        String previous = Conditions.find(status.conditions, Conditions.READY).map(c -> c.getMessage()).orElse(null);
        Conditions.set(status.conditions, Conditions.READY, false, reason, message, infd.getMetadata().getGeneration());
        if (!message.equals(previous)) {
            EventRecorder.warning(context.getClient(), infd, reason, message);
        }
        // an invalid spec will not fix itself: wait for the user to change it instead of retrying
        return invalid ? ErrorStatusUpdateControl.patchStatus(infd).withNoRetry() : ErrorStatusUpdateControl.patchStatus(infd);
    }

    private static String json(Object o) {
        return o == null ? null : io.fabric8.kubernetes.client.utils.Serialization.asJson(o);
    }

    /** Deploy only once the named HardwareClass exists (a pod without its node selector could land anywhere). */
    public static class HardwareClassKnown implements Condition<Deployment, InferenceDeployment> {
        @Override
        public boolean isMet(DependentResource<Deployment, InferenceDeployment> dependent, InferenceDeployment infd,
                Context<InferenceDeployment> context) {
            return met(infd, context);
        }

        static boolean met(InferenceDeployment infd, Context<InferenceDeployment> context) {
            return infd.getSpec().hardwareClass == null || context.getSecondaryResource(HardwareClass.class).isPresent();
        }
    }
}
