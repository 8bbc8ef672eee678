package dev.pollard.operator;

import dev.pollard.api.HardwareClass;
import dev.pollard.api.PruningJob;
import dev.pollard.api.PruningJobStatus;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
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
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkiverse.operatorsdk.runtime.api.ConfigurableReconciler;
import jakarta.inject.Inject;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Drives a PruningJob: resolves its HardwareClass, runs one batch/v1 Job per (spec generation, class generation) as a
 * dependent resource, observes the run (progress while it goes, the worker's report when it ends) and writes status.
 * It never touches an InferenceDeployment: a deployment named in deployTo reads this job's results itself. Watches
 * HardwareClasses, its Jobs and their pods; only a running worker's progress is polled.
 */
@ControllerConfiguration(name = PruningJobReconciler.NAME, fieldManager = Labels.OPERATOR,
        informer = @Informer(itemStore = TrimmedCache.class))
@Workflow(explicitInvocation = true, dependents = @Dependent(name = "worker", type = WorkerJob.class))
// Reconciler named as well: JOSDK reads the resource type from the Reconciler interface the class itself lists
public class PruningJobReconciler implements Reconciler<PruningJob>, ConfigurableReconciler<PruningJob> {
    public static final String NAME = "pruningjob";
    static final Duration PROGRESS_INTERVAL = Duration.ofSeconds(5);

    private final OperatorSettings settings;
    private final RunMetrics metrics;
    private final RunSlots slots = new RunSlots(Clock.systemUTC());

    @Inject
    public PruningJobReconciler(OperatorSettings settings, MeterRegistry registry) {
        this.settings = settings;
        this.metrics = new RunMetrics(registry);
    }

    @Override
    public void updateConfigurationFrom(ControllerConfigurationOverrider<PruningJob> configuration) {
        settings.watch(configuration);
    }

    @Override
    public List<EventSource<?, PruningJob>> prepareEventSources(EventSourceContext<PruningJob> context) {
        // the pods of runs, cached: read for progress and reports; a pod is then trusted only if its Job controls it
        var pods = InformerEventSourceConfiguration.from(Pod.class, PruningJob.class)
                .withName("worker-pods")
                .withItemStore(new TrimmedCache<>())
                .withLabelSelector(Labels.COMPONENT + "=" + PruningRun.COMPONENT)
                .withSecondaryToPrimaryMapper(pod -> {
                    String owner = pod.getMetadata().getLabels().get(PruningRun.JOB_LABEL);
                    return owner == null ? Set.of() : Set.of(new ResourceID(owner, pod.getMetadata().getNamespace()));
                })
                .build();
        return List.of(HardwareClassWatch.create(context, PruningJob.class,
                pj -> pj.getSpec() == null ? null : pj.getSpec().hardwareClass),
                new InformerEventSource<>(pods, context));
    }

    @Override
    public UpdateControl<PruningJob> reconcile(PruningJob pj, Context<PruningJob> context) {
        PruningJobStatusAggregator status = new PruningJobStatusAggregator(pj);
        Optional<HardwareClass> hardwareClass = context.getSecondaryResource(HardwareClass.class);
        if (hardwareClass.isEmpty()) {
            return update(pj, status.hardwareClassMissing(), context, null);
        }
        HardwareClass hwc = hardwareClass.get();
        Optional<String> notAllowed = HardwareClassPolicy.namespaceRefused(hwc, pj.getMetadata().getNamespace());
        if (notAllowed.isPresent()) {
            return update(pj, status.hardwareClassNotAllowed(notAllowed.get()), context, null);
        }
        status.hardwareClassResolved(hwc);
        String run = PruningRun.jobName(pj, hwc);
        if (PruningJobStatusAggregator.finished(pj, run)) {
            return update(pj, status.unchanged(), context, null);
        }
        List<Job> jobs = List.copyOf(context.getSecondaryResources(Job.class));
        stopSupersededRuns(jobs, run, context);
        Optional<Job> job = jobs.stream().filter(j -> run.equals(j.getMetadata().getName())).findFirst();
        if (job.isEmpty()) {
            if (!runSlotFree(hwc, run, context)) {
                // nothing wakes a waiting run when another class's run ends: look again now and then
                return update(pj, status.waitingForRunSlot(hwc), context, PROGRESS_INTERVAL);
            }
            context.managedWorkflowAndDependentResourceContext().put(OperatorSettings.class, settings);
            context.managedWorkflowAndDependentResourceContext().reconcileManagedWorkflow(); // creates the run's Job
        }
        RunObservation observed = RunObservation.observe(run, PruningRun.runUri(pj, hwc) + "/model.onnx",
                pj.getSpec().model.sha256, job, context.getSecondaryResources(Pod.class), WorkerReports::progress);
        RunObservation.Outcome outcome = observed.outcome();
        if (outcome == RunObservation.Outcome.SUCCEEDED || outcome == RunObservation.Outcome.FAILED) {
            metrics.ended(job.orElseThrow(), hwc.getMetadata().getName(), outcome);
        }
        // Job and pod events wake the reconciler; only a running worker's progress needs a look now and then (polling
        // every run that has a Job, at scale, filled the queue ahead of new PruningJobs)
        boolean progressToRead = outcome == RunObservation.Outcome.RUNNING
                && RunObservation.workerRunning(job.orElseThrow(), context.getSecondaryResources(Pod.class));
        return update(pj, status.run(hwc, observed), context, progressToRead ? PROGRESS_INTERVAL : null);
    }

    /** Whether the run may start now: its class has fewer runs active, in any namespace, than spec.maxConcurrentRuns. */
    private boolean runSlotFree(HardwareClass hwc, String run, Context<PruningJob> context) {
        String classUid = hwc.getMetadata().getUid();
        Set<String> cached = new HashSet<>();
        Set<String> active = new HashSet<>();
        // the worker Jobs' informer watches every namespace the operator does, so it sees the class's other runs too
        var allRuns = (InformerEventSource<Job, PruningJob>) context.eventSourceRetriever().getEventSourceFor(Job.class);
        allRuns.list(j -> classUid.equals(
                j.getMetadata().getLabels().get(PruningRun.HARDWARE_CLASS_UID_LABEL))).forEach(j -> {
                    cached.add(j.getMetadata().getName());
                    if (RunObservation.finishedCondition(j).isEmpty()) {
                        active.add(j.getMetadata().getName());
                    }
                });
        return slots.tryAcquire(classUid, run, PruningRun.maxConcurrentRuns(hwc), cached, active);
    }

    /** Runs of this PruningJob for an older spec or hardware class generation are stopped; their results stay in status. */
    private static void stopSupersededRuns(List<Job> jobs, String current, Context<PruningJob> context) {
        for (Job old : jobs) {
            if (!current.equals(old.getMetadata().getName()) && RunObservation.finishedCondition(old).isEmpty()) {
                context.getClient().resource(old).withPropagationPolicy(DeletionPropagation.BACKGROUND).delete();
            }
        }
    }

    private static UpdateControl<PruningJob> update(PruningJob pj, PruningJobStatus next, Context<PruningJob> context,
            Duration reschedule) {
        UpdateControl<PruningJob> control = StatusUpdates.patchIfChanged(pj, next, PruningJob::new, s -> s.conditions,
                context);
        return reschedule == null ? control : control.rescheduleAfter(reschedule);
    }

    @Override
    public ErrorStatusUpdateControl<PruningJob> updateErrorStatus(PruningJob pj, Context<PruningJob> context, Exception e) {
        return StatusUpdates.onError(pj, e, PruningJob::new,
                (invalid, message) -> new PruningJobStatusAggregator(pj).error(invalid, message), s -> s.conditions,
                context);
    }
}
