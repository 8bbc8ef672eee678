package dev.pollard.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.Toleration;
import java.util.List;
import java.util.Map;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class HardwareClassSpec {

    @JsonPropertyDescription("The accelerator each worker pod gets. Omit for CPU-only classes.")
    public Gpu gpu;

    @JsonPropertyDescription("Labels a node must carry to run this class's pods; gpu.product adds "
            + "nvidia.com/gpu.product=<product> automatically.")
    public Map<String, String> nodeSelector;

    @JsonPropertyDescription("Tolerations added to worker and serving pods (e.g. for tainted GPU nodes).")
    public List<Toleration> tolerations;

    @Pattern(Patterns.DNS_SUBDOMAIN)
    @JsonPropertyDescription("RuntimeClass of worker and serving pods (e.g. nvidia).")
    public String runtimeClassName;

    @Default("analytical")
    @JsonPropertyDescription("Meter the worker must use: nvml (NVIDIA energy counter), rapl (CPU powercap) or analytical "
            + "(datasheet model). A worker that cannot use it fails instead of measuring something else.")
    public Meter meter;

    @Required
    @JsonPropertyDescription("Datasheet figures for the analytical energy model.")
    public EnergyModel energyModel;

    @Default("4")
    @Min(1)
    @Max(10000)
    @JsonPropertyDescription("How many pruning runs on this class may be active at once, in all namespaces together; more "
            + "wait in phase Pending until a slot frees. Bounds the re-runs that an edit of this class starts.")
    public Integer maxConcurrentRuns;

    @Size(max = 1000)
    @JsonPropertyDescription("Namespaces whose PruningJobs and InferenceDeployments may use this class. Omit to let every "
            + "namespace use it; elsewhere nothing is created and the resource says why.")
    public List<@Pattern(Patterns.DNS_LABEL) String> allowedNamespaces;

    @Size(max = 100)
    @JsonPropertyDescription("Images an InferenceDeployment on this class may name in spec.runtime.image besides the "
            + "operator's own: exact references, or prefixes ending in '*' (e.g. registry.example.com/serving/*).")
    public List<@Pattern("^[^\\s*]+\\*?$") String> allowedImages;

    @JsonPropertyDescription("CPU and memory requests and limits of pruning workers on this class (a PruningJob's "
            + "spec.resources overrides them; the operator's defaults apply when both are unset). GPUs come from gpu.")
    public ResourceRequirements workerResources;

    public enum Meter {
        @JsonProperty("nvml") NVML,
        @JsonProperty("rapl") RAPL,
        @JsonProperty("analytical") ANALYTICAL
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Gpu {
        @Required
        @JsonPropertyDescription("GPU product as published in the node label nvidia.com/gpu.product, e.g. NVIDIA-H100-80GB-HBM3.")
        public String product;

        @Default("nvidia.com/gpu")
        @Pattern("^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
        @JsonPropertyDescription("Extended resource that requests the GPU.")
        public String resourceName;

        @Default("1")
        @Min(1)
        @JsonPropertyDescription("GPUs per pod.")
        public Integer count;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @ValidationRule(value = "!has(self.idleWatts) || self.idleWatts < self.tdpWatts",
            message = "energyModel.idleWatts must be lower than energyModel.tdpWatts")
    public static class EnergyModel {
        @Required
        @Min(value = 0, inclusive = false)
        @JsonPropertyDescription("Board power limit (TDP) in watts.")
        public Double tdpWatts;

        @Min(0)
        @JsonPropertyDescription("Power drawn when idle, in watts.")
        public Double idleWatts;

        @Required
        @Min(value = 0, inclusive = false)
        @JsonPropertyDescription("Peak dense throughput used by the model, in TFLOP/s.")
        public Double peakTflops;

        @Required
        @Min(value = 0, inclusive = false)
        @JsonPropertyDescription("Memory bandwidth in GB/s.")
        public Double memoryBandwidthGBs;
    }
}
