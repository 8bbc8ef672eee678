package dev.pollard.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import java.util.List;

/** Which deployments to keep pruned, for which hardware, and how every run it generates is configured. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "(has(self.selector.matchLabels) && size(self.selector.matchLabels) > 0) "
        + "|| (has(self.selector.matchExpressions) && size(self.selector.matchExpressions) > 0)",
        message = "spec.selector must name at least one label: an empty selector would compress every "
                + "InferenceDeployment in the namespace")
@ValidationRule(value = "!has(self.guardrails) || !has(self.guardrails.maxEpsilon) "
        + "|| self.template.accuracy.epsilon <= self.guardrails.maxEpsilon",
        message = "spec.template.accuracy.epsilon exceeds spec.guardrails.maxEpsilon")
@ValidationRule(value = "!has(self.guardrails) || !has(self.guardrails.allowedCriteria) "
        + "|| ((has(self.template.strategy) && has(self.template.strategy.criterion)) ? self.template.strategy.criterion "
        + ": 'energy-aware') in self.guardrails.allowedCriteria",
        message = "spec.template.strategy.criterion (energy-aware when unset) is not one of spec.guardrails.allowedCriteria")
public class CompressionPolicySpec {

    @Required
    @JsonPropertyDescription("InferenceDeployments in this namespace to keep compressed; at least one label. A deployment "
            + "with spec.compression.enabled false is left alone.")
    public LabelSelector selector;

    @JsonPropertyDescription("HardwareClasses to compress each selected deployment for. Default: the deployment's own "
            + "spec.hardwareClass.")
    public HardwareClasses hardwareClasses;

    @Required
    @JsonPropertyDescription("Everything a generated PruningJob needs besides its model and hardware class, which come "
            + "from each selected InferenceDeployment.")
    public PruningJobTemplate template;

    @Default("1")
    @Min(1)
    @Max(100)
    @JsonPropertyDescription("How many generated PruningJobs may run at once; the others wait their turn.")
    public Integer parallelism;

    @Default("3")
    @Min(1)
    @Max(1000)
    @JsonPropertyDescription("After this many failed runs for the current generation of the policy, no new run starts "
            + "and the policy is Stalled until its spec changes.")
    public Integer failureLimit;

    @Default("3")
    @Min(0)
    @Max(100)
    @JsonPropertyDescription("Finished successful runs of earlier sources or policy generations kept per deployment.")
    public Integer successfulRunsHistoryLimit;

    @Default("1")
    @Min(0)
    @Max(100)
    @JsonPropertyDescription("Finished failed runs of earlier sources or policy generations kept per deployment.")
    public Integer failedRunsHistoryLimit;

    @Default("false")
    @JsonPropertyDescription("true: start no new runs; runs already going finish and deployments keep what they serve.")
    public Boolean suspend;

    @JsonPropertyDescription("Limits that the template may not exceed, for platform teams that hand policies to others.")
    public Guardrails guardrails;

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @ValidationRule(value = "has(self.names) != has(self.selector)",
            message = "spec.hardwareClasses: set exactly one of names and selector")
    public static class HardwareClasses {
        @Size(min = 1, max = 16)
        @JsonPropertyDescription("HardwareClass names.")
        public List<@Pattern(Patterns.DNS_SUBDOMAIN) String> names;

        @JsonPropertyDescription("A label selector over HardwareClasses.")
        public LabelSelector selector;
    }

    /** The PruningJob spec without its model, hardware class and deployTo. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class PruningJobTemplate {
        @Required
        @JsonPropertyDescription("The data used to evaluate accuracy and to fine-tune between pruning steps.")
        public PruningJobSpec.DatasetSource dataset;

        @Required
        @JsonPropertyDescription("How much energy per inference the pruned model may use.")
        public PruningJobSpec.EnergyBudget energyBudget;

        @Required
        @JsonPropertyDescription("How much accuracy the pruned model may lose.")
        public PruningJobSpec.AccuracyTolerance accuracy;

        @JsonPropertyDescription("How channels are chosen and how the model is fine-tuned.")
        public PruningJobSpec.Strategy strategy;

        @JsonPropertyDescription("The batch size (and sequence length) the models are served at; energy is measured at it.")
        public PruningJobSpec.Serving serving;

        @Required
        @JsonPropertyDescription("Where pruned models are written; each run writes into a subdirectory named after its Job.")
        public PruningJobSpec.Output output;

        @Default("21600")
        @Min(10)
        @Max(604800)
        @JsonPropertyDescription("Longest a run may take, in seconds (default 6 hours).")
        public Integer runDeadlineSeconds;

        @JsonPropertyDescription("CPU and memory requests and limits of the workers (default: the HardwareClass's).")
        public ResourceRequirements resources;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Guardrails {
        @Min(0)
        @Max(value = 1, inclusive = false)
        @JsonPropertyDescription("Largest accuracy tolerance the template may ask for.")
        public Double maxEpsilon;

        @Size(min = 1, max = 3)
        @JsonPropertyDescription("Criteria the template may use.")
        public List<PruningJobSpec.Criterion> allowedCriteria;
    }
}
