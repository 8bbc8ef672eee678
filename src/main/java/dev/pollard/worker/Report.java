package dev.pollard.worker;

import dev.pollard.api.PruningJobStatus;
import java.util.ArrayList;
import java.util.List;

/** report.json: everything a run measured. Documented in docs/report.md. */
public class Report {
    public String model;
    /** sha256 of the model file that was read. */
    public String modelSha256;
    public String dataset;
    public String hardwareClass;
    public String meter;
    /** The batch (and sequence length, for a token model with a symbolic one) every figure was taken at. */
    public int servingBatch;
    public Integer sequenceLength;
    public String criterion;
    public double alpha;
    public double beta;
    public double targetJoulesPerInference;
    public double epsilon;
    public double gridGramsCo2PerKwh;
    public PruningJobStatus.ModelMetrics baseline;
    public PruningJobStatus.ModelMetrics result;
    public PruningJobStatus.Ratios ratios;
    public double accuracyDrop;
    public List<PruningJobStatus.Iteration> iterations = new ArrayList<>();
    public List<Group> groups = new ArrayList<>();
    public PruningJobStatus.Artifact artifact;
    public String stopReason;
    public double seconds;

    /** Width of one pruning group before and after. */
    public static class Group {
        public String id;
        public String kind;
        public int widthBefore;
        public int widthAfter;
    }
}
