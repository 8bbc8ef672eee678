package dev.pollard.operator;

import dev.pollard.api.HardwareClass;
import dev.pollard.api.InferenceDeployment;
import dev.pollard.api.InferenceDeploymentSpec;
import dev.pollard.api.PruningJob;
import dev.pollard.api.PruningJobStatus;
import dev.pollard.api.PruningJobStatus.Phase;
import dev.pollard.api.RunSummary;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.Mappers;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Drives a PruningJob: resolves its HardwareClass, runs one batch/v1 Job per (spec generation, class generation), follows
 * the run's progress, copies the worker's report into status and, after a successful run only, points the
 * InferenceDeployment named in deployTo at the pruned model. Watches HardwareClasses and its Jobs, so it reacts to them
 * without polling; only progress of a running worker is polled.
 */
@ControllerConfiguration(name = PruningJobReconciler.NAME)
public class PruningJobReconciler implements Reconciler<PruningJob> {
    public static final String NAME = "pruningjob";
    static final Duration PROGRESS_INTERVAL = Duration.ofSeconds(5);

    public static final String REASON_HARDWARE_CLASS_NOT_FOUND = "HardwareClassNotFound";
    public static final String REASON_RUN_STARTED = "RunStarted";
    public static final String REASON_RUNNING = "Running";
    public static final String REASON_SUCCEEDED = "Succeeded";
    public static final String REASON_RUN_FAILED = "RunFailed";
    public static final String REASON_INVALID_SPEC = "InvalidSpec";
    public static final String REASON_RECONCILE_ERROR = "ReconcileError";
    public static final String HARDWARE_CLASS_RESOLVED = "HardwareClassResolved";
    static final String DEPLOYED_BY_LABEL = "pollard.dev/deployed-by";

    private static final Logger LOG = Logger.getLogger(PruningJobReconciler.class);

    private final OperatorSettings settings = OperatorSettings.fromEnvironment();

    @Override
    public List<EventSource<?, PruningJob>> prepareEventSources(EventSourceContext<PruningJob> context) {
        var jobs = InformerEventSourceConfiguration.from(Job.class, PruningJob.class)
                .withName("jobs")
                .withLabelSelector(Labels.COMPONENT + "=" + PruningRun.COMPONENT + "," + Labels.MANAGED_BY + "=" + Labels.OPERATOR)
                .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(PruningJob.class))
                .build();
        return List.of(HardwareClassWatch.create(context, PruningJob.class,
                pj -> pj.getSpec() == null ? null : pj.getSpec().hardwareClass),
                new InformerEventSource<>(jobs, context));
    }

    @Override
    public UpdateControl<PruningJob> reconcile(PruningJob pj, Context<PruningJob> context) {
        String before = json(pj.getStatus());
        PruningJobStatus status = pj.getStatus() != null ? pj.getStatus() : new PruningJobStatus();
        pj.setStatus(status);
        long generation = pj.getMetadata().getGeneration();
        status.observedGeneration = generation;
        KubernetesClient client = context.getClient();
        Duration reschedule = null;

        Optional<HardwareClass> hardwareClass = context.getSecondaryResource(HardwareClass.class);
        if (hardwareClass.isEmpty()) {
            String message = "HardwareClass '" + pj.getSpec().hardwareClass + "' not found: create it or fix spec.hardwareClass";
            status.phase = Phase.PENDING;
            Conditions.set(status.conditions, HARDWARE_CLASS_RESOLVED, false, REASON_HARDWARE_CLASS_NOT_FOUND, message, generation);
            setReady(pj, client, false, REASON_HARDWARE_CLASS_NOT_FOUND, message, true);
        } else {
            HardwareClass hwc = hardwareClass.get();
            Conditions.set(status.conditions, HARDWARE_CLASS_RESOLVED, true, "Found", "HardwareClass '"
                    + hwc.getMetadata().getName() + "' (generation " + hwc.getMetadata().getGeneration() + ") resolved", generation);
            reschedule = run(pj, hwc, context);
        }
        UpdateControl<PruningJob> control = Objects.equals(before, json(status)) ? UpdateControl.noUpdate()
                : UpdateControl.patchStatus(pj);
        return reschedule == null ? control : control.rescheduleAfter(reschedule);
    }

    /** Moves the run for the current (generation, hardware class) one step on; returns when to look again, if polling. */
    private Duration run(PruningJob pj, HardwareClass hwc, Context<PruningJob> context) {
        PruningJobStatus status = pj.getStatus();
        KubernetesClient client = context.getClient();
        String name = PruningRun.jobName(pj, hwc);
        boolean finished = name.equals(status.jobName) && (status.phase == Phase.SUCCEEDED || status.phase == Phase.FAILED);
        if (finished) {
            return null;
        }
        Optional<Job> job = context.getSecondaryResources(Job.class).stream()
                .filter(j -> name.equals(j.getMetadata().getName())).findFirst();
        if (job.isEmpty()) {
            deleteSupersededRuns(pj, name, context);
            Job desired = PruningRun.render(pj, hwc, settings);
            desired.addOwnerReference(pj);
            try {
                client.resource(desired).create();
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409) { // 409: already there (e.g. created before a restart): adopt it
                    throw e;
                }
            }
            status.jobName = name;
            status.phase = Phase.PENDING;
            status.progress = null;
            setReady(pj, client, false, REASON_RUN_STARTED, "Job " + name + " started for HardwareClass '"
                    + hwc.getMetadata().getName() + "' (generation " + hwc.getMetadata().getGeneration() + ")", false);
            return PROGRESS_INTERVAL;
        }
        status.jobName = name;
        Optional<String> outcome = finishedCondition(job.get());
        if (outcome.isEmpty()) {
            Optional<RunSummary.Progress> progress = WorkerReports.progress(client, job.get());
            progress.ifPresent(p -> {
                status.phase = "Profiling".equals(p.phase) ? Phase.PROFILING : Phase.PRUNING;
                status.progress = new PruningJobStatus.Progress();
                status.progress.iteration = p.iteration;
                status.progress.joulesPerInference = p.joulesPerInference;
                status.progress.accuracy = p.accuracy;
            });
            setReady(pj, client, false, REASON_RUNNING, "Job " + name + " is running", false);
            return PROGRESS_INTERVAL;
        }
        RunSummary summary = WorkerReports.summary(client, job.get()).orElseGet(RunSummary::new);
        if ("Complete".equals(outcome.get()) && summary.error == null && summary.artifact != null) {
            succeeded(pj, hwc, summary, client);
        } else {
            String why = summary.error != null ? summary.error
                    : "Complete".equals(outcome.get()) ? "the worker finished without a report"
                    : job.get().getStatus().getConditions().stream().filter(c -> "Failed".equals(c.getType()))
                            .map(c -> c.getReason() + ": " + c.getMessage()).findFirst().orElse("the Job failed");
            status.phase = Phase.FAILED;
            status.progress = null;
            setReady(pj, client, false, REASON_RUN_FAILED, "Job " + name + " failed: " + why, true);
        }
        return null;
    }

    private void succeeded(PruningJob pj, HardwareClass hwc, RunSummary summary, KubernetesClient client) {
        PruningJobStatus status = pj.getStatus();
        status.phase = Phase.SUCCEEDED;
        status.progress = null;
        status.baseline = summary.baseline;
        status.result = summary.result;
        status.ratios = summary.ratios;
        status.accuracyDrop = summary.accuracyDrop;
        status.iterations = summary.iterations;
        status.hardware = summary.hardware != null ? summary.hardware : new PruningJobStatus.HardwareUsed();
        status.hardware.hardwareClass = hwc.getMetadata().getName();
        status.hardware.hardwareClassGeneration = hwc.getMetadata().getGeneration();
        status.artifact = summary.artifact;

        PruningJobStatus.HardwareResult result = new PruningJobStatus.HardwareResult();
        result.hardwareClass = hwc.getMetadata().getName();
        result.hardwareClassGeneration = hwc.getMetadata().getGeneration();
        result.ratios = summary.ratios;
        result.artifact = summary.artifact;
        result.completionTime = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        List<PruningJobStatus.HardwareResult> results = new ArrayList<>(
                status.resultsByHardware == null ? List.of() : status.resultsByHardware);
        results.removeIf(r -> result.hardwareClass.equals(r.hardwareClass));
        results.add(result);
        status.resultsByHardware = results;

        String message = String.format("pruned for '%s': energy -%.1f%%, accuracy %s%.2f points, model sha256:%s",
                hwc.getMetadata().getName(), 100 * orZero(summary.ratios == null ? null : summary.ratios.energyReduction),
                orZero(summary.accuracyDrop) > 0 ? "-" : "+", 100 * Math.abs(orZero(summary.accuracyDrop)),
                summary.artifact.sha256.substring(0, 12));
        if (pj.getSpec().deployTo != null) {
            deploy(pj, hwc, summary.artifact, client);
            message += "; InferenceDeployment " + pj.getSpec().deployTo + " updated";
        }
        setReady(pj, client, true, REASON_SUCCEEDED, message, false);
    }

    /** Creates or updates the InferenceDeployment named in deployTo to serve the pruned model. Only after success. */
    private static void deploy(PruningJob pj, HardwareClass hwc, PruningJobStatus.Artifact artifact, KubernetesClient client) {
        var resource = client.resources(InferenceDeployment.class).inNamespace(pj.getMetadata().getNamespace())
                .withName(pj.getSpec().deployTo);
        InferenceDeployment existing = resource.get();
        if (existing == null) {
            InferenceDeployment infd = new InferenceDeployment();
            infd.setMetadata(new ObjectMetaBuilder().withName(pj.getSpec().deployTo).withNamespace(pj.getMetadata().getNamespace())
                    .withLabels(Map.of(DEPLOYED_BY_LABEL, pj.getMetadata().getName(), Labels.MANAGED_BY, Labels.OPERATOR)).build());
            infd.setSpec(new InferenceDeploymentSpec());
            infd.getSpec().model = new InferenceDeploymentSpec.ServedModel();
            infd.getSpec().model.uri = artifact.uri;
            infd.getSpec().model.sha256 = artifact.sha256;
            infd.getSpec().hardwareClass = hwc.getMetadata().getName();
            client.resource(infd).create();
        } else {
            resource.edit(infd -> {
                infd.getSpec().model.uri = artifact.uri;
                infd.getSpec().model.sha256 = artifact.sha256;
                infd.getSpec().hardwareClass = hwc.getMetadata().getName();
                return infd;
            });
        }
    }

    /** Runs of this PruningJob for an older spec or hardware class generation are stopped; their results stay in status. */
    private static void deleteSupersededRuns(PruningJob pj, String current, Context<PruningJob> context) {
        for (Job old : context.getSecondaryResources(Job.class)) {
            if (!current.equals(old.getMetadata().getName()) && finishedCondition(old).isEmpty()) {
                context.getClient().resource(old).withPropagationPolicy(io.fabric8.kubernetes.api.model.DeletionPropagation.BACKGROUND)
                        .delete();
            }
        }
    }

    /** "Complete" or "Failed" once the Job has finished. */
    static Optional<String> finishedCondition(Job job) {
        if (job.getStatus() == null || job.getStatus().getConditions() == null) {
            return Optional.empty();
        }
        return job.getStatus().getConditions().stream()
                .filter(c -> "True".equals(c.getStatus()) && ("Complete".equals(c.getType()) || "Failed".equals(c.getType())))
                .map(JobCondition::getType).findFirst();
    }

    @Override
    public ErrorStatusUpdateControl<PruningJob> updateErrorStatus(PruningJob pj, Context<PruningJob> context, Exception e) {
        if (Errors.conflict(e)) {
            return ErrorStatusUpdateControl.defaultErrorProcessing(); // retried at once; no status noise, no Event
        }
        PruningJobStatus status = pj.getStatus() != null ? pj.getStatus() : new PruningJobStatus();
        pj.setStatus(status);
        boolean invalid = Errors.invalidSpec(e).isPresent();
        if (invalid) {
            status.phase = Phase.FAILED;
        } else {
            LOG.warnf(e, "reconciling PruningJob %s/%s failed; retrying", pj.getMetadata().getNamespace(), pj.getMetadata().getName());
        }
        setReady(pj, context.getClient(), false, invalid ? REASON_INVALID_SPEC : REASON_RECONCILE_ERROR, Errors.message(e), true);
        // an invalid spec waits for the user to change it; anything else is retried with JOSDK's backoff
        return invalid ? ErrorStatusUpdateControl.patchStatus(pj).withNoRetry() : ErrorStatusUpdateControl.patchStatus(pj);
    }

    /** Sets the Ready condition and emits an Event when its reason or message changes (not on every reconciliation). */
    private static void setReady(PruningJob pj, KubernetesClient client, boolean ready, String reason, String message,
            boolean warning) {
        List<Condition> conditions = pj.getStatus().conditions;
        Optional<Condition> previous = Conditions.find(conditions, Conditions.READY);
        Conditions.set(conditions, Conditions.READY, ready, reason, message, pj.getMetadata().getGeneration());
        if (previous.map(c -> !reason.equals(c.getReason()) || !message.equals(c.getMessage())).orElse(true)
                && !REASON_RUNNING.equals(reason)) {
            if (warning) {
                EventRecorder.warning(client, pj, reason, message);
            } else {
                EventRecorder.normal(client, pj, reason, message);
            }
        }
    }

    private static double orZero(Double d) {
        return d == null ? 0 : d;
    }

    private static String json(Object o) {
        return o == null ? null : io.fabric8.kubernetes.client.utils.Serialization.asJson(o);
    }
}
