package dev.pollard.operator;

import dev.pollard.api.HardwareClass;
import dev.pollard.api.PruningJob;
import dev.pollard.api.PruningJobStatus;
import dev.pollard.api.PruningJobStatus.Phase;
import dev.pollard.api.RunSummary;
import dev.pollard.operator.Conditions.State;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds a PruningJob's status anew on every reconciliation from what was observed, carrying over only what must
 * outlive a run: the latest successful result (baseline, result, ratios, artifact, ...), the results per hardware
 * class and the conditions' transition times (Keycloak's status aggregator). The resource's own status is never
 * modified, so a failure half-way leaves the persisted status as it was.
 */
final class PruningJobStatusAggregator {
    static final String HARDWARE_CLASS_RESOLVED = "HardwareClassResolved";

    private final PruningJob pj;
    private final PruningJobStatus previous;
    private final PruningJobStatus next = new PruningJobStatus();

    PruningJobStatusAggregator(PruningJob pj) {
        this.pj = pj;
        this.previous = pj.getStatus() != null ? pj.getStatus() : new PruningJobStatus();
        next.observedGeneration = pj.getMetadata().getGeneration();
        next.conditions = new ArrayList<>(previous.conditions == null ? List.of() : previous.conditions);
        // the latest successful result stays until another run succeeds
        next.baseline = previous.baseline;
        next.result = previous.result;
        next.ratios = previous.ratios;
        next.accuracyDrop = previous.accuracyDrop;
        next.iterations = previous.iterations;
        next.hardware = previous.hardware;
        next.artifact = previous.artifact;
        next.source = previous.source;
        next.resultsByHardware = previous.resultsByHardware;
        next.jobName = previous.jobName;
        next.phase = previous.phase;
    }

    /** Whether the persisted status already records this run as finished. */
    static boolean finished(PruningJob pj, String jobName) {
        PruningJobStatus s = pj.getStatus();
        return s != null && jobName.equals(s.jobName) && (s.phase == Phase.SUCCEEDED || s.phase == Phase.FAILED);
    }

    /** The named HardwareClass does not exist: no run can start; a result already there stays valid. */
    PruningJobStatus hardwareClassMissing() {
        return hardwareClassUnusable(Reason.HardwareClassNotFound, "HardwareClass '" + pj.getSpec().hardwareClass
                + "' not found: create it or fix spec.hardwareClass");
    }

    /** The class exists but this namespace may not use it: as if it were missing. */
    PruningJobStatus hardwareClassNotAllowed(String message) {
        return hardwareClassUnusable(Reason.HardwareClassNotAllowed, message);
    }

    private PruningJobStatus hardwareClassUnusable(Reason reason, String message) {
        Conditions.set(next.conditions, HARDWARE_CLASS_RESOLVED, false, reason.name(), message, generation());
        next.progress = null;
        if (previous.phase == Phase.SUCCEEDED && Conditions.whenTrue(previous.conditions, Conditions.READY).isPresent()) {
            return next; // the result stands; HardwareClassResolved says why no new run can start
        }
        next.phase = Phase.PENDING;
        return state(State.STALLED, reason, message);
    }

    /** The run may start once one of the class's spec.maxConcurrentRuns slots frees; a result already there stays. */
    PruningJobStatus waitingForRunSlot(HardwareClass hwc) {
        next.phase = Phase.PENDING;
        next.progress = null;
        return state(State.RECONCILING, Reason.WaitingForRunSlot, "all " + PruningRun.maxConcurrentRuns(hwc)
                + " run slots of HardwareClass '" + hwc.getMetadata().getName() + "' are taken (spec.maxConcurrentRuns); "
                + "this run starts when one frees");
    }

    PruningJobStatus hardwareClassResolved(HardwareClass hwc) {
        Conditions.set(next.conditions, HARDWARE_CLASS_RESOLVED, true, "Found", "HardwareClass '" + hwc.getMetadata().getName()
                + "' (generation " + hwc.getMetadata().getGeneration() + ") resolved", generation());
        return next;
    }

    /** The current run has already finished and its outcome is recorded: nothing changes but the class's condition. */
    PruningJobStatus unchanged() {
        return next;
    }

    /** The current run as observed. */
    PruningJobStatus run(HardwareClass hwc, RunObservation run) {
        next.jobName = run.jobName();
        next.progress = null;
        String hardware = "HardwareClass '" + hwc.getMetadata().getName() + "' (generation " + hwc.getMetadata().getGeneration() + ")";
        switch (run.outcome()) {
            case PENDING -> {
                next.phase = Phase.PENDING;
                return state(State.RECONCILING, Reason.RunStarted, "Job " + run.jobName() + " started for " + hardware);
            }
            case RUNNING -> {
                // until the worker answers, it is loading and measuring: Profiling (or whatever it said last)
                next.phase = previous.phase == Phase.PRUNING && run.jobName().equals(previous.jobName) ? Phase.PRUNING
                        : Phase.PROFILING;
                run.progress().ifPresent(p -> {
                    next.phase = "Profiling".equals(p.phase) ? Phase.PROFILING : Phase.PRUNING;
                    next.progress = new PruningJobStatus.Progress();
                    next.progress.iteration = p.iteration;
                    next.progress.joulesPerInference = p.joulesPerInference;
                    next.progress.accuracy = p.accuracy;
                });
                return state(State.RECONCILING, Reason.Running, "Job " + run.jobName() + " is running for " + hardware);
            }
            case SUCCEEDED -> {
                succeeded(hwc, run.report().orElseThrow());
                return state(State.READY, Reason.RunSucceeded, successMessage(hwc, run.report().get()));
            }
            default -> {
                next.phase = Phase.FAILED;
                return state(State.STALLED, Reason.RunFailed, "Job " + run.jobName() + " failed: " + run.failure());
            }
        }
    }

    /** A reconciliation failed: an invalid spec fails the job for good, anything else is retried. */
    PruningJobStatus error(boolean invalidSpec, String message) {
        if (invalidSpec) {
            next.phase = Phase.FAILED;
            next.progress = null;
            return state(State.STALLED, Reason.InvalidSpec, message);
        }
        next.progress = previous.progress;
        return state(State.RECONCILING, Reason.ReconcileError, message + " (retrying)");
    }

    private void succeeded(HardwareClass hwc, RunSummary summary) {
        next.phase = Phase.SUCCEEDED;
        next.baseline = summary.baseline;
        next.result = summary.result;
        next.ratios = summary.ratios;
        next.accuracyDrop = summary.accuracyDrop;
        // status keeps the latest steps only; report.json next to the artifact has them all
        next.iterations = summary.iterations == null ? null : summary.iterations.subList(
                Math.max(0, summary.iterations.size() - PruningJobStatus.MAX_ITERATIONS_IN_STATUS), summary.iterations.size());
        next.hardware = summary.hardware != null ? summary.hardware : new PruningJobStatus.HardwareUsed();
        next.hardware.hardwareClass = hwc.getMetadata().getName();
        next.hardware.hardwareClassGeneration = hwc.getMetadata().getGeneration();
        next.artifact = summary.artifact;
        next.source = summary.source;

        PruningJobStatus.HardwareResult result = new PruningJobStatus.HardwareResult();
        result.hardwareClass = hwc.getMetadata().getName();
        result.hardwareClassGeneration = hwc.getMetadata().getGeneration();
        result.ratios = summary.ratios;
        result.artifact = summary.artifact;
        result.sourceSha256 = summary.source == null ? null : summary.source.sha256;
        result.jobName = next.jobName;
        result.completionTime = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        List<PruningJobStatus.HardwareResult> results = new ArrayList<>(
                previous.resultsByHardware == null ? List.of() : previous.resultsByHardware);
        results.removeIf(r -> result.hardwareClass.equals(r.hardwareClass));
        results.add(result);
        next.resultsByHardware = results;
    }

    private String successMessage(HardwareClass hwc, RunSummary summary) {
        double energy = summary.ratios == null || summary.ratios.energyReduction == null ? 0 : summary.ratios.energyReduction;
        double drop = summary.accuracyDrop == null ? 0 : summary.accuracyDrop;
        String message = String.format("pruned for '%s': energy -%.1f%%, accuracy %s%.2f points, model sha256:%s",
                hwc.getMetadata().getName(), 100 * energy, drop > 0 ? "-" : "+", 100 * Math.abs(drop),
                summary.artifact.sha256.substring(0, Math.min(12, summary.artifact.sha256.length())));
        return pj.getSpec().deployTo == null ? message
                : message + "; offered to InferenceDeployment " + pj.getSpec().deployTo;
    }

    private PruningJobStatus state(State state, Reason reason, String message) {
        next.conditions = Conditions.kstatus(next.conditions, state, reason.name(), message, generation());
        return next;
    }

    private long generation() {
        return pj.getMetadata().getGeneration();
    }
}
