package dev.pollard.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** What the operator observed and measured. Written only through the status subresource. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class PruningJobStatus {
    /** Most recent iterations kept in status; the full list is in the report next to the artifact. */
    public static final int MAX_ITERATIONS_IN_STATUS = 50;

    @JsonPropertyDescription("The metadata.generation this status describes.")
    public Long observedGeneration;

    @JsonPropertyDescription("Pending, Profiling, Pruning, Succeeded or Failed.")
    public Phase phase;

    @JsonPropertyDescription("Ready (a run succeeded for the current spec and hardware class), Reconciling (a run is "
            + "pending or going) and Stalled (the run failed, the spec is invalid or the HardwareClass is missing), with "
            + "kstatus meanings; HardwareClassResolved besides.")
    public List<Condition> conditions = new ArrayList<>();

    @JsonPropertyDescription("Progress of the run in flight.")
    public Progress progress;

    @JsonPropertyDescription("The unpruned model, measured on the target hardware.")
    public ModelMetrics baseline;

    @JsonPropertyDescription("The pruned model, measured the same way.")
    public ModelMetrics result;

    @JsonPropertyDescription("The paper's five ratios for this run.")
    public Ratios ratios;

    @JsonPropertyDescription("Baseline accuracy minus pruned accuracy (absolute).")
    public Double accuracyDrop;

    @JsonPropertyDescription("The most recent pruning steps (at most 50; all of them are in the report).")
    public List<Iteration> iterations;

    @JsonPropertyDescription("The hardware the run actually used.")
    public HardwareUsed hardware;

    @JsonPropertyDescription("The pruned model.")
    public Artifact artifact;

    @JsonPropertyDescription("The model the run pruned, with the sha256 the worker computed of the file it read.")
    public Artifact source;

    @JsonPropertyDescription("Name of the batch/v1 Job of the current run.")
    public String jobName;

    @JsonPropertyDescription("The latest successful result for each hardware class this job has been pruned for.")
    public List<HardwareResult> resultsByHardware;

    public enum Phase {
        @JsonProperty("Pending") PENDING,
        @JsonProperty("Profiling") PROFILING,
        @JsonProperty("Pruning") PRUNING,
        @JsonProperty("Succeeded") SUCCEEDED,
        @JsonProperty("Failed") FAILED
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Progress {
        @JsonPropertyDescription("Current pruning step (1-based).")
        public Integer iteration;
        @JsonPropertyDescription("Energy per inference after the latest accepted step, in joules.")
        public Double joulesPerInference;
        @JsonPropertyDescription("Accuracy after the latest step.")
        public Double accuracy;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class ModelMetrics {
        @JsonPropertyDescription("Metric on the evaluation split (top-1 accuracy in [0, 1]).")
        public Double accuracy;
        @JsonPropertyDescription("Energy per inference in joules.")
        public Double joulesPerInference;
        @JsonPropertyDescription("Name of the meter that measured joulesPerInference (nvml, rapl or analytical).")
        public String meter;
        @JsonPropertyDescription("Latency per batch in milliseconds, measured in ONNX Runtime.")
        public Double latencyMs;
        @JsonPropertyDescription("Number of parameters.")
        public Long parameters;
        @JsonPropertyDescription("Size of the ONNX file in bytes.")
        public Long bytes;
        @JsonPropertyDescription("Floating-point operations per inference.")
        public Long flops;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Ratios {
        @JsonPropertyDescription("ARP: pruned accuracy / baseline accuracy.")
        public Double accuracyRetention;
        @JsonPropertyDescription("EPR: 1 - pruned energy / baseline energy.")
        public Double energyReduction;
        @JsonPropertyDescription("LSI: baseline latency / pruned latency.")
        public Double latencySpeedup;
        @JsonPropertyDescription("MSE: 1 - pruned size / baseline size.")
        public Double sizeReduction;
        @JsonPropertyDescription("CFA: 1 - pruned carbon / baseline carbon per inference.")
        public Double carbonReduction;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Iteration {
        @JsonPropertyDescription("Step number, 1-based.")
        public Integer index;
        @JsonPropertyDescription("Channels, neurons or heads removed by this step.")
        public Integer channelsRemoved;
        @JsonPropertyDescription("Accuracy after the step and its fine-tuning.")
        public Double accuracy;
        @JsonPropertyDescription("Energy per inference after the step, in joules.")
        public Double joulesPerInference;
        @JsonPropertyDescription("True when the step cost more accuracy than epsilon allows and was undone.")
        public Boolean rolledBack;
        @JsonPropertyDescription("Fine-tuning rounds after the step: 1, or 2 when the first left accuracy below the floor.")
        public Integer fineTuningRounds;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class HardwareUsed {
        @JsonPropertyDescription("HardwareClass name.")
        public String hardwareClass;
        @JsonPropertyDescription("metadata.generation of the HardwareClass the run used.")
        public Long hardwareClassGeneration;
        @JsonPropertyDescription("GPU product reported by the device (NVML), or the CPU model.")
        public String product;
        @JsonPropertyDescription("Driver version reported by NVML.")
        public String driverVersion;
        @JsonPropertyDescription("Node the worker ran on.")
        public String node;
        @JsonPropertyDescription("Meter used for energy figures.")
        public String meter;
        @JsonPropertyDescription("Batch size every energy figure and latency was taken at (energy is per sample).")
        public Integer batchSize;
        @JsonPropertyDescription("Sequence length a token model's symbolic sequence axis was measured at.")
        public Integer sequenceLength;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Artifact {
        @JsonPropertyDescription("URI of the pruned ONNX model.")
        public String uri;
        @JsonPropertyDescription("sha256 of the pruned ONNX model, hex.")
        public String sha256;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class HardwareResult {
        @JsonPropertyDescription("HardwareClass name.")
        public String hardwareClass;
        @JsonPropertyDescription("metadata.generation of the HardwareClass.")
        public Long hardwareClassGeneration;
        @JsonPropertyDescription("Ratios measured for that hardware.")
        public Ratios ratios;
        @JsonPropertyDescription("The pruned model for that hardware.")
        public Artifact artifact;
        @JsonPropertyDescription("sha256 of the source model that run pruned.")
        public String sourceSha256;
        @JsonPropertyDescription("The run (batch/v1 Job) that produced it.")
        public String jobName;
        @JsonPropertyDescription("When that run finished (RFC 3339).")
        public String completionTime;
    }
}
