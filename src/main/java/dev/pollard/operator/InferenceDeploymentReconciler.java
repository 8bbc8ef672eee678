package dev.pollard.operator;

import dev.pollard.api.HardwareClass;
import dev.pollard.api.InferenceDeployment;
import dev.pollard.api.InferenceDeploymentStatus;
import dev.pollard.api.PruningJob;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.javaoperatorsdk.operator.api.config.ControllerConfigurationOverrider;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Workflow;
import io.javaoperatorsdk.operator.api.reconciler.dependent.Dependent;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.quarkiverse.operatorsdk.runtime.api.ConfigurableReconciler;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Serves an InferenceDeployment: decides which model it serves (its source, or the newest pruned result of that source
 * for its hardware class that a PruningJob offers it), then keeps a Deployment running {@code pollard serve} on that
 * model and a Service in front of it (written off the reconciliation threads: {@link ServingService}). Its spec is
 * the user's (Git's): the decision lives in status.servedModel.
 */
@ControllerConfiguration(name = InferenceDeploymentReconciler.NAME, fieldManager = Labels.OPERATOR,
        informer = @Informer(itemStore = TrimmedCache.class))
@Workflow(explicitInvocation = true, dependents = @Dependent(name = "deployment", type = ServingDeployment.class))
// Reconciler named as well: JOSDK reads the resource type from the Reconciler interface the class itself lists
public class InferenceDeploymentReconciler implements Reconciler<InferenceDeployment>, ConfigurableReconciler<InferenceDeployment> {
    public static final String NAME = "inferencedeployment";

    private final OperatorSettings settings;
    private ServingService services;

    @Inject
    public InferenceDeploymentReconciler(OperatorSettings settings) {
        this.settings = settings;
    }

    @Override
    public void updateConfigurationFrom(ControllerConfigurationOverrider<InferenceDeployment> configuration) {
        settings.watch(configuration);
    }

    @Override
    public List<EventSource<?, InferenceDeployment>> prepareEventSources(EventSourceContext<InferenceDeployment> context) {
        // PruningJobs that offer their results to a deployment (deployTo), so a new result is served without polling
        var offering = InformerEventSourceConfiguration.from(PruningJob.class, InferenceDeployment.class)
                .withName("offering-pruningjobs")
                .withItemStore(new TrimmedCache<PruningJob>(ServedModels::keepOnlyTheOffer))
                .withSecondaryToPrimaryMapper(pj -> pj.getSpec() == null || pj.getSpec().deployTo == null ? Set.of()
                        : Set.of(new ResourceID(pj.getSpec().deployTo, pj.getMetadata().getNamespace())))
                .build();
        services = new ServingService(context);
        List<EventSource<?, InferenceDeployment>> sources = new ArrayList<>(services.eventSources());
        sources.add(HardwareClassWatch.create(context, InferenceDeployment.class,
                infd -> infd.getSpec() == null ? null : infd.getSpec().hardwareClass));
        sources.add(new InformerEventSource<>(offering, context));
        return sources;
    }

    @Override
    public UpdateControl<InferenceDeployment> reconcile(InferenceDeployment infd, Context<InferenceDeployment> context) {
        InferenceDeploymentStatusAggregator status = new InferenceDeploymentStatusAggregator(infd);
        Optional<HardwareClass> hwc = context.getSecondaryResource(HardwareClass.class);
        // in each of these cases create nothing and take nothing away: the pods already there keep serving
        if (infd.getSpec().hardwareClass != null && hwc.isEmpty()) {
            // a pod without its class's node selector could land anywhere
            return update(infd, status.hardwareClassMissing(), context);
        }
        Optional<String> namespaceRefused = hwc.flatMap(h -> HardwareClassPolicy.namespaceRefused(h, infd.getMetadata().getNamespace()));
        if (namespaceRefused.isPresent()) {
            return update(infd, status.refused(Reason.HardwareClassNotAllowed, namespaceRefused.get()), context);
        }
        Optional<String> imageRefused = HardwareClassPolicy.imageRefused(hwc.orElse(null),
                infd.getSpec().runtime == null ? null : infd.getSpec().runtime.image, settings.workerImage());
        if (imageRefused.isPresent()) {
            return update(infd, status.refused(Reason.ImageNotAllowed, imageRefused.get()), context);
        }
        InferenceDeploymentStatus.Model chosen = ServedModels.choose(infd, context.getSecondaryResources(PruningJob.class));
        var dependents = context.managedWorkflowAndDependentResourceContext();
        dependents.put(OperatorSettings.class, settings);
        dependents.put(InferenceDeploymentStatus.Model.class, chosen);
        dependents.reconcileManagedWorkflow();
        services.reconcile(infd, context);
        InferenceDeploymentStatus next = status.serving(chosen, context.getSecondaryResource(Deployment.class));
        if (status.servedModelChanged(next)) {
            EventRecorder.record(context.getClient(), infd, Reason.ServedModelChanged, "every replica serves "
                    + ServedModels.describe(next.servedModel) + " instead of " + ServedModels.describe(next.previousModel));
        }
        return update(infd, next, context);
    }

    private static UpdateControl<InferenceDeployment> update(InferenceDeployment infd, InferenceDeploymentStatus next,
            Context<InferenceDeployment> context) {
        return StatusUpdates.patchIfChanged(infd, next, InferenceDeployment::new, s -> s.conditions, context);
    }

    @Override
    public ErrorStatusUpdateControl<InferenceDeployment> updateErrorStatus(InferenceDeployment infd,
            Context<InferenceDeployment> context, Exception e) {
        return StatusUpdates.onError(infd, e, InferenceDeployment::new,
                (invalid, message) -> new InferenceDeploymentStatusAggregator(infd).error(invalid, message),
                s -> s.conditions, context);
    }
}
