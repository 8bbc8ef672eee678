package dev.pollard.operator;

import dev.pollard.api.RunSummary;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * What a run's Job and its pods say, read and nothing else (the Flink operator's observer): the reconciler decides
 * what to do with it and the status aggregator writes it down.
 *
 * @param progress while it runs, what the worker last published
 * @param report once it has ended, the worker's summary (on failure, its error)
 * @param failure once it has failed, why, in one line
 */
record RunObservation(String jobName, Outcome outcome, Optional<RunSummary.Progress> progress,
        Optional<RunSummary> report, String failure) {

    enum Outcome {
        /** The Job exists but no pod of it has started yet (or it was created in this very reconciliation). */
        PENDING,
        RUNNING,
        SUCCEEDED,
        FAILED
    }

    /**
     * @param expectedArtifactUri where this run writes its model: a report naming another file is refused
     * @param pinnedSourceSha256 spec.model.sha256, when the spec pins the source
     * @param job the run's Job; empty when it was only created now
     * @param pods candidate pods: only those the Job itself controls (by owner UID) are read, never one that merely
     *     carries its labels
     * @param progressOf how progress is read from running pods (HTTP in the operator)
     */
    static RunObservation observe(String jobName, String expectedArtifactUri, String pinnedSourceSha256, Optional<Job> job,
            Collection<Pod> pods, Function<List<Pod>, Optional<RunSummary.Progress>> progressOf) {
        if (job.isEmpty()) {
            return new RunObservation(jobName, Outcome.PENDING, Optional.empty(), Optional.empty(), null);
        }
        List<Pod> own = pods.stream().filter(p -> controlledBy(p, job.get())).toList();
        Optional<String> finished = finishedCondition(job.get());
        if (finished.isEmpty()) {
            // started once a pod of it runs; a pod that has ended while the Job controller has not yet said how is still
            // the run going (not back to pending)
            boolean started = own.stream().anyMatch(p -> p.getStatus() != null
                    && List.of("Running", "Succeeded", "Failed").contains(p.getStatus().getPhase()));
            return started ? new RunObservation(jobName, Outcome.RUNNING, progressOf.apply(own), Optional.empty(), null)
                    : new RunObservation(jobName, Outcome.PENDING, Optional.empty(), Optional.empty(), null);
        }
        Optional<RunSummary> report = WorkerReports.summary(own);
        boolean complete = "Complete".equals(finished.get());
        if (complete && report.isPresent() && report.get().error == null) {
            Optional<String> refused = WorkerReportCheck.problem(report.get(), expectedArtifactUri, pinnedSourceSha256);
            return refused.isEmpty() ? new RunObservation(jobName, Outcome.SUCCEEDED, Optional.empty(), report, null)
                    : new RunObservation(jobName, Outcome.FAILED, Optional.empty(), Optional.empty(), refused.get());
        }
        String why = report.map(r -> r.error).map(WorkerReportCheck::oneLine).orElseGet(() -> complete ? "the worker finished without a report"
                : job.get().getStatus().getConditions().stream().filter(c -> "Failed".equals(c.getType()))
                        .map(c -> "DeadlineExceeded".equals(c.getReason())
                                ? "the run took longer than spec.runDeadlineSeconds (" + job.get().getSpec().getActiveDeadlineSeconds()
                                        + " s) and was stopped"
                                : c.getReason() + ": " + c.getMessage())
                        .findFirst().orElse("the Job failed"));
        return new RunObservation(jobName, Outcome.FAILED, Optional.empty(), report, why);
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

    /** Whether a pod of this Job runs now: the only time there is progress to read from it. */
    static boolean workerRunning(Job job, Collection<Pod> pods) {
        return pods.stream().anyMatch(p -> controlledBy(p, job) && p.getStatus() != null && "Running".equals(p.getStatus().getPhase()));
    }

    private static boolean controlledBy(Pod pod, Job job) {
        List<OwnerReference> owners = pod.getMetadata().getOwnerReferences();
        return owners != null && owners.stream().anyMatch(o -> Boolean.TRUE.equals(o.getController())
                && job.getMetadata().getUid().equals(o.getUid()));
    }
}
