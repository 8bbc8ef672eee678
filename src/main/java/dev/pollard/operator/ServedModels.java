package dev.pollard.operator;

import dev.pollard.api.InferenceDeployment;
import dev.pollard.api.InferenceDeploymentStatus;
import dev.pollard.api.Patterns;
import dev.pollard.api.PruningJob;
import dev.pollard.api.PruningJobSpec;
import dev.pollard.api.PruningJobStatus;
import java.util.Collection;
import java.util.Comparator;
import java.util.Objects;
import java.util.Optional;

/**
 * Which model an InferenceDeployment serves: the newest successful pruned result of its current source model (by
 * sha256) for its hardware class, among the PruningJobs that offer it their results (deployTo), or the source itself
 * until one exists. A result of an older source is never served, and a failed run has no result to offer.
 */
final class ServedModels {
    private ServedModels() {
    }

    static InferenceDeploymentStatus.Model choose(InferenceDeployment infd, Collection<PruningJob> offering) {
        var spec = infd.getSpec();
        if (spec.compression != null && Boolean.FALSE.equals(spec.compression.enabled)) {
            return source(infd);
        }
        record Candidate(PruningJob job, PruningJobStatus.HardwareResult result) {
        }
        Optional<Candidate> newest = offering.stream()
                .filter(pj -> pj.getStatus() != null && pj.getStatus().resultsByHardware != null)
                .filter(pj -> infd.getMetadata().getName().equals(pj.getSpec().deployTo)
                        && Objects.equals(infd.getMetadata().getNamespace(), pj.getMetadata().getNamespace()))
                .flatMap(pj -> pj.getStatus().resultsByHardware.stream().map(r -> new Candidate(pj, r)))
                .filter(c -> spec.model.sha256.equals(c.result().sourceSha256))
                .filter(c -> spec.hardwareClass == null || spec.hardwareClass.equals(c.result().hardwareClass))
                .filter(c -> c.result().artifact != null && c.result().artifact.uri != null
                        && c.result().artifact.sha256 != null && c.result().artifact.sha256.matches(Patterns.SHA256))
                .max(Comparator.comparing((Candidate c) -> Objects.toString(c.result().completionTime, ""))
                        .thenComparing(c -> c.job().getMetadata().getName()));
        if (newest.isEmpty()) {
            return source(infd);
        }
        InferenceDeploymentStatus.Model model = new InferenceDeploymentStatus.Model();
        model.uri = newest.get().result().artifact.uri;
        model.sha256 = newest.get().result().artifact.sha256;
        model.origin = InferenceDeploymentStatus.ORIGIN_PRUNING_JOB;
        model.pruningJob = newest.get().job().getMetadata().getName();
        model.run = newest.get().result().jobName;
        model.hardwareClass = newest.get().result().hardwareClass;
        model.sourceSha256 = spec.model.sha256;
        return model;
    }

    /**
     * Cuts a PruningJob to what {@link #choose} reads of it: its name, the deployment it offers its results to and
     * those results. The InferenceDeployment controller caches every PruningJob; this keeps a run's status (up to
     * 50 iterations, conditions, metrics) out of that second copy.
     */
    static void keepOnlyTheOffer(PruningJob pj) {
        PruningJobSpec offer = new PruningJobSpec();
        offer.deployTo = pj.getSpec() == null ? null : pj.getSpec().deployTo;
        PruningJobStatus results = null;
        if (offer.deployTo != null && pj.getStatus() != null) {
            results = new PruningJobStatus();
            results.conditions = null;
            results.resultsByHardware = pj.getStatus().resultsByHardware;
        }
        pj.setSpec(offer);
        pj.setStatus(results);
    }

    static InferenceDeploymentStatus.Model source(InferenceDeployment infd) {
        InferenceDeploymentStatus.Model model = new InferenceDeploymentStatus.Model();
        model.uri = infd.getSpec().model.uri;
        model.sha256 = infd.getSpec().model.sha256;
        model.origin = InferenceDeploymentStatus.ORIGIN_SOURCE;
        model.sourceSha256 = infd.getSpec().model.sha256;
        return model;
    }

    /** How a served model is named in messages. */
    static String describe(InferenceDeploymentStatus.Model model) {
        String digest = "sha256:" + model.sha256.substring(0, Math.min(12, model.sha256.length()));
        return InferenceDeploymentStatus.ORIGIN_PRUNING_JOB.equals(model.origin)
                ? digest + " (pruned by PruningJob " + model.pruningJob + " for '" + model.hardwareClass + "')"
                : digest + " (the source model)";
    }
}
