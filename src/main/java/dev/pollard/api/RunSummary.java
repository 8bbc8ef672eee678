package dev.pollard.api;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * What a pruning worker reports when it ends: written as its container's termination message (at most 4 KiB, so
 * only the latest iterations) and, complete, as report.json next to the artifact. The operator copies it into the
 * PruningJob's status. On failure only {@code error} is set.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class RunSummary {
    public PruningJobStatus.ModelMetrics baseline;
    public PruningJobStatus.ModelMetrics result;
    public PruningJobStatus.Ratios ratios;
    public Double accuracyDrop;
    public List<PruningJobStatus.Iteration> iterations;
    public PruningJobStatus.HardwareUsed hardware;
    public PruningJobStatus.Artifact artifact;
    /** The model the run read, with the sha256 of that file. */
    public PruningJobStatus.Artifact source;
    /** One line saying what went wrong, naming the file or field; null on success. */
    public String error;

    /** Progress of a run in flight, served by the worker at {@code GET /progress}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class Progress {
        /** Profiling or Pruning. */
        public String phase;
        public Integer iteration;
        public Double joulesPerInference;
        public Double accuracy;
    }
}
