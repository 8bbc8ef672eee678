package dev.pollard.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.ResourceRequirements;

/** What to compress and under which limits. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class PruningJobSpec {

    @Required
    @JsonPropertyDescription("The model to prune.")
    public ModelSource model;

    @Required
    @JsonPropertyDescription("The data used to evaluate accuracy and to fine-tune between pruning steps.")
    public DatasetSource dataset;

    @Required
    @Pattern(Patterns.DNS_SUBDOMAIN)
    @JsonPropertyDescription("Name of the HardwareClass to prune for: it decides where the worker runs, which meter "
            + "measures energy and which energy model applies. Changing it starts a new run.")
    public String hardwareClass;

    @Required
    @JsonPropertyDescription("How much energy per inference the pruned model may use.")
    public EnergyBudget energyBudget;

    @Required
    @JsonPropertyDescription("How much accuracy the pruned model may lose.")
    public AccuracyTolerance accuracy;

    @JsonPropertyDescription("How channels are chosen and how the model is fine-tuned. Defaults follow the paper.")
    public Strategy strategy;

    @JsonPropertyDescription("The shape the model is served at. Every energy figure, fingerprint and latency of a run is "
            + "taken at it (energy per sample of the batch), because what pruning saves depends on it: at batch 1 weight "
            + "traffic dominates, at serving batches compute does. Changing it starts a new run.")
    public Serving serving;

    @Required
    @JsonPropertyDescription("Where the pruned ONNX model and its report are written.")
    public Output output;

    @Default("21600")
    @Min(10)
    @Max(604800)
    @JsonPropertyDescription("Longest a run may take, in seconds (the Job's activeDeadlineSeconds; default 6 hours): a "
            + "run past it is stopped and fails with that reason, so a hung worker never holds a GPU for good.")
    public Integer runDeadlineSeconds;

    @JsonPropertyDescription("CPU and memory requests and limits of the worker (default: the HardwareClass's "
            + "workerResources, else the operator's defaults). GPUs come from the HardwareClass.")
    public ResourceRequirements resources;

    @Pattern(Patterns.DNS_SUBDOMAIN)
    @JsonPropertyDescription("Name of an InferenceDeployment in this namespace that may serve this job's results: it "
            + "serves the newest successful one pruned from its own source model (by sha256) for its own hardware class. "
            + "The operator never edits that deployment's spec; the link shows in its status.servedModel.")
    public String deployTo;

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @ValidationRule(value = Patterns.NO_S3, message = Patterns.NO_S3_MESSAGE)
    @ValidationRule(value = Patterns.SECRET_OVER_TLS, message = Patterns.SECRET_OVER_TLS_MESSAGE)
    public static class ModelSource {
        @Required
        @Pattern(Patterns.READABLE_URI)
        @JsonPropertyDescription("Location of the model: pvc://<claim>/<path>, http(s)://... (credentials from secretRef) "
                + "or file:///<path> for local runs.")
        public String uri;

        @Default("onnx")
        @JsonPropertyDescription("Format of the model file. Only onnx is supported.")
        public ModelFormat format;

        @JsonPropertyDescription("Secret holding credentials for the model's URI.")
        public SecretReference secretRef;

        @Pattern(Patterns.SHA256)
        @JsonPropertyDescription("Expected sha256 of the model file (64 lowercase hex digits): a run whose file differs "
                + "fails with that reason instead of pruning another model.")
        public String sha256;
    }

    public enum ModelFormat {
        @JsonProperty("onnx") ONNX
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @ValidationRule(value = Patterns.NO_S3, message = Patterns.NO_S3_MESSAGE)
    @ValidationRule(value = Patterns.SECRET_OVER_TLS, message = Patterns.SECRET_OVER_TLS_MESSAGE)
    @ValidationRule(value = "!(self.uri.startsWith('http://') || self.uri.startsWith('https://')) || self.format != 'idx'",
            message = "an idx dataset is a directory, which http(s) cannot hand over: give one .npz, .npy or .csv file")
    public static class DatasetSource {
        @Required
        @Pattern(Patterns.READABLE_URI)
        @JsonPropertyDescription("Location of the dataset: a directory of IDX files, an .npz/.npy file or a .csv file, "
                + "as pvc://, http(s):// (one file; credentials from secretRef) or file:/// URI.")
        public String uri;

        @Required
        @JsonPropertyDescription("Format of the dataset: idx (MNIST-style, gzip or raw), npz, npy or csv.")
        public DatasetFormat format;

        @JsonPropertyDescription("Secret holding credentials for the dataset's URI.")
        public SecretReference secretRef;

        @Min(1)
        @JsonPropertyDescription("How many held-out samples measure accuracy (default: the whole test split).")
        public Integer evaluationSamples;

        @Min(0)
        @JsonPropertyDescription("How many training samples fine-tuning may draw from (default: the whole train split).")
        public Integer trainingSamples;
    }

    public enum DatasetFormat {
        @JsonProperty("idx") IDX,
        @JsonProperty("npz") NPZ,
        @JsonProperty("npy") NPY,
        @JsonProperty("csv") CSV
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @ValidationRule(value = "has(self.targetReduction) != has(self.maxJoulesPerInference)",
            message = "set exactly one of energyBudget.targetReduction and energyBudget.maxJoulesPerInference")
    public static class EnergyBudget {
        @Min(value = 0, inclusive = false)
        @Max(value = 1, inclusive = false)
        @JsonPropertyDescription("Fraction T of the baseline energy per inference to remove, 0 < T < 1: pruning continues "
                + "while energy > (1 - T) x baseline.")
        public Double targetReduction;

        @Min(value = 0, inclusive = false)
        @JsonPropertyDescription("Absolute budget in joules per inference on the target hardware.")
        public Double maxJoulesPerInference;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class AccuracyTolerance {
        @Required
        @Min(0)
        @Max(value = 1, inclusive = false)
        @JsonPropertyDescription("Largest allowed absolute drop of the metric (epsilon), 0 <= epsilon < 1: 0.01 allows "
                + "one percentage point of top-1 accuracy. A step that drops more is rolled back.")
        public Double epsilon;

        @Default("top1")
        @JsonPropertyDescription("Metric measured on the evaluation split.")
        public Metric metric;
    }

    public enum Metric {
        @JsonProperty("top1") TOP1
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @ValidationRule(value = "!has(self.alpha) || !has(self.beta) || self.alpha + self.beta > 0.0",
            message = "strategy.alpha and strategy.beta must not both be zero")
    public static class Strategy {
        @Default("energy-aware")
        @JsonPropertyDescription("How channels are ranked: energy-aware (energy saved^beta / accuracy cost^alpha), "
                + "magnitude (L2 norm only) or knapsack (keep the most importance that fits the energy budget).")
        public Criterion criterion;

        @Default("0.6")
        @Min(0)
        @JsonPropertyDescription("Weight of accuracy cost in the removal priority: a channel's L2 norm relative to its "
                + "layer's, times the layer's loss sensitivity measured on training samples. 0 gives energy-only pruning.")
        public Double alpha;

        @Default("0.4")
        @Min(0)
        @JsonPropertyDescription("Weight of the energy a removal saves in the removal priority. 0 gives magnitude-only "
                + "pruning.")
        public Double beta;

        @Default("0.1")
        @Min(value = 0, inclusive = false)
        @Max(0.5)
        @JsonPropertyDescription("Fraction of the remaining prunable channels removed per step, in (0, 0.5] (of the "
                + "energy, for knapsack), and no more than the energy budget still needs; no layer loses more than a "
                + "quarter of its channels in one step; after a rollback the next step takes at most half of what the "
                + "undone one took.")
        public Double stepFraction;

        @Default("1.5")
        @Min(1)
        @Max(4)
        @JsonPropertyDescription("Factor the step grows by after a kept step that left more than half of epsilon "
                + "unused, up to a step of 0.5; 1 keeps the step.")
        public Double stepGrowth;

        @Default("8")
        @Min(1)
        @JsonPropertyDescription("Pruned widths stay multiples of this number (8 keeps tensor cores busy); a group "
                + "narrower than 4 multiples uses the largest power of two that is at most a quarter of its width (4 for "
                + "16 channels), so that its smallest step never takes half of it.")
        public Integer channelMultiple;

        @Default("20")
        @Min(1)
        @Max(1000)
        @JsonPropertyDescription("Upper bound on fine-tuning rounds: one per pruning step, two for a step whose first round "
                + "left accuracy below the floor; rolled-back steps included.")
        public Integer maxIterations;

        @JsonPropertyDescription("Brief fine-tuning after each step.")
        public FineTuning fineTuning;
    }

    public enum Criterion {
        @JsonProperty("energy-aware") ENERGY_AWARE,
        @JsonProperty("magnitude") MAGNITUDE,
        @JsonProperty("knapsack") KNAPSACK
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class FineTuning {
        @Default("0.001")
        @Min(value = 0, inclusive = false)
        @JsonPropertyDescription("Adam learning rate.")
        public Double learningRate;

        @Default("128")
        @Min(1)
        @JsonPropertyDescription("Samples per fine-tuning batch.")
        public Integer batchSize;

        @Default("0.0001")
        @Min(0)
        @JsonPropertyDescription("Adam weight decay.")
        public Double weightDecay;

        @Default("200")
        @Min(0)
        @JsonPropertyDescription("Optimizer steps after each pruning step (0 disables fine-tuning).")
        public Integer stepsPerIteration;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Serving {
        @Min(1)
        @Max(4096)
        @JsonPropertyDescription("Samples per inference call on the serving hardware (default 32, what dynamic batching "
                + "on a GPU server commonly caps at; 1 for a latency-bound service answering one request at a time).")
        public Integer batchSize;

        @Min(1)
        @Max(1048576)
        @JsonPropertyDescription("For a token model exported with a symbolic sequence axis: the sequence length it is "
                + "served at (required for such a model; refused for a model whose inputs have fixed sizes).")
        public Integer sequenceLength;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @ValidationRule(value = Patterns.NO_S3, message = Patterns.NO_S3_MESSAGE)
    public static class Output {
        @Required
        @Pattern(Patterns.WRITABLE_URI)
        @JsonPropertyDescription("Directory for the pruned models: each run writes model.onnx, report.json and summary.txt into "
                + "a subdirectory named after its Job, so a new run never overwrites a served model. pvc://<claim>/<path> "
                + "or file:///<path> for local runs.")
        public String uri;
    }
}
