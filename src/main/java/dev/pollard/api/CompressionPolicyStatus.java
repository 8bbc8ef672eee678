package dev.pollard.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** What a CompressionPolicy matched, what it generated, and how each target stands. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class CompressionPolicyStatus {
    @JsonPropertyDescription("The metadata.generation this status describes.")
    public Long observedGeneration;

    @JsonPropertyDescription("Ready (every target serves a pruned model of its current source), Reconciling (runs "
            + "pending or going) and Stalled (the failure limit was reached), with kstatus meanings.")
    public List<Condition> conditions = new ArrayList<>();

    @JsonPropertyDescription("How many deployments match and how the runs of the current generation stand.")
    public Counts counts;

    @JsonPropertyDescription("One row per selected InferenceDeployment and HardwareClass.")
    public List<Target> targets;

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Counts {
        @JsonPropertyDescription("InferenceDeployments the selector matches (with compression enabled).")
        public Integer matched;
        @JsonPropertyDescription("Generated PruningJobs of the current generation that have not finished.")
        public Integer running;
        @JsonPropertyDescription("Generated PruningJobs of the current generation that succeeded.")
        public Integer succeeded;
        @JsonPropertyDescription("Generated PruningJobs of the current generation that failed.")
        public Integer failed;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Target {
        @JsonPropertyDescription("The InferenceDeployment.")
        public String inferenceDeployment;
        @JsonPropertyDescription("The HardwareClass it is compressed for.")
        public String hardwareClass;
        @JsonPropertyDescription("The generated PruningJob for its current source and this generation (none yet while "
                + "it waits for a free slot).")
        public String pruningJob;
        @JsonPropertyDescription("Waiting, or that PruningJob's phase.")
        public String phase;
        @JsonPropertyDescription("Energy reduction of that run (EPR), once it succeeded.")
        public Double energyReduction;
        @JsonPropertyDescription("Accuracy lost by that run, once it succeeded.")
        public Double accuracyDrop;
        @JsonPropertyDescription("sha256 of the model the InferenceDeployment serves now.")
        public String servedSha256;
    }
}
