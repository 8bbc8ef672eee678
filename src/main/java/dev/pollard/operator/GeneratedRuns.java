package dev.pollard.operator;

import dev.pollard.api.CompressionPolicy;
import dev.pollard.api.CompressionPolicySpec;
import dev.pollard.api.InferenceDeployment;
import dev.pollard.api.PruningJob;
import dev.pollard.api.PruningJobSpec;
import dev.pollard.api.PruningJobStatus.Phase;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The PruningJobs a CompressionPolicy generates: one per (InferenceDeployment, HardwareClass, source sha256, policy
 * generation), named deterministically from that key, owned by the policy (controller reference), labelled with what
 * it was generated for, and specified entirely by the policy's template and the deployment's source model.
 */
final class GeneratedRuns {
    static final String POLICY_LABEL = "pollard.dev/policy";
    static final String TARGET_LABEL = "pollard.dev/target";
    static final String HARDWARE_CLASS_LABEL = "pollard.dev/hardware-class";
    static final String POLICY_GENERATION_LABEL = "pollard.dev/policy-generation";
    /** Label values hold 63 characters: the label has the first 16 hex digits, the annotation all 64. */
    static final String SOURCE_LABEL = "pollard.dev/source-sha256";
    static final String SOURCE_ANNOTATION = "pollard.dev/source-sha256";

    private GeneratedRuns() {
    }

    static String name(CompressionPolicy policy, InferenceDeployment target, String hardwareClass) {
        return Hashes.name(policy.getMetadata().getName() + "-" + target.getMetadata().getName(), String.join("/",
                policy.getMetadata().getUid(), target.getMetadata().getName(), hardwareClass, target.getSpec().model.sha256,
                policy.getMetadata().getGeneration().toString()));
    }

    static PruningJob desired(CompressionPolicy policy, InferenceDeployment target, String hardwareClass) {
        CompressionPolicySpec.PruningJobTemplate template = policy.getSpec().template;
        PruningJobSpec spec = new PruningJobSpec();
        spec.model = new PruningJobSpec.ModelSource();
        spec.model.uri = target.getSpec().model.uri;
        spec.model.sha256 = target.getSpec().model.sha256;
        spec.model.secretRef = target.getSpec().model.secretRef;
        spec.model.format = PruningJobSpec.ModelFormat.ONNX; // the schema's default, set so that spec compares equal
        spec.hardwareClass = hardwareClass;
        spec.deployTo = target.getMetadata().getName();
        // copies: the template stays the policy's (the server has already filled its defaults, as it will the job's)
        spec.dataset = copy(template.dataset, PruningJobSpec.DatasetSource.class);
        spec.energyBudget = copy(template.energyBudget, PruningJobSpec.EnergyBudget.class);
        spec.accuracy = copy(template.accuracy, PruningJobSpec.AccuracyTolerance.class);
        spec.strategy = copy(template.strategy, PruningJobSpec.Strategy.class);
        spec.serving = copy(template.serving, PruningJobSpec.Serving.class);
        spec.output = copy(template.output, PruningJobSpec.Output.class);
        spec.runDeadlineSeconds = template.runDeadlineSeconds;
        spec.resources = copy(template.resources, io.fabric8.kubernetes.api.model.ResourceRequirements.class);

        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(Labels.NAME, "pollard");
        labels.put(Labels.MANAGED_BY, Labels.OPERATOR);
        labels.put(POLICY_LABEL, policy.getMetadata().getName());
        labels.put(TARGET_LABEL, target.getMetadata().getName());
        labels.put(HARDWARE_CLASS_LABEL, hardwareClass);
        labels.put(SOURCE_LABEL, target.getSpec().model.sha256.substring(0, 16));
        labels.put(POLICY_GENERATION_LABEL, policy.getMetadata().getGeneration().toString());
        PruningJob pj = new PruningJob();
        pj.setMetadata(new ObjectMetaBuilder().withName(name(policy, target, hardwareClass))
                .withNamespace(policy.getMetadata().getNamespace()).withLabels(labels)
                .withAnnotations(Map.of(SOURCE_ANNOTATION, target.getSpec().model.sha256))
                .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion(policy.getApiVersion())
                        .withKind(policy.getKind()).withName(policy.getMetadata().getName())
                        .withUid(policy.getMetadata().getUid()).withController(true).withBlockOwnerDeletion(true).build())
                .build());
        pj.setSpec(spec);
        return pj;
    }

    /** Whether the job still says what the policy generated (a hand edit, or an older policy's template, does not). */
    static boolean matches(PruningJob actual, PruningJob desired) {
        return StatusUpdates.same(actual.getSpec(), desired.getSpec())
                && actual.getMetadata().getLabels().entrySet().containsAll(desired.getMetadata().getLabels().entrySet());
    }

    /**
     * Puts a changed job back as generated: spec and labels replaced whole (fields added by hand go too), under the
     * operator's field manager, and only if nobody changed it again meanwhile (resourceVersion test).
     */
    static PruningJob revert(KubernetesClient client, PruningJob actual, PruningJob desired) {
        var json = Serialization.jsonMapper();
        var patch = json.createArrayNode();
        patch.addObject().put("op", "test").put("path", "/metadata/resourceVersion")
                .put("value", actual.getMetadata().getResourceVersion());
        patch.addObject().put("op", "replace").put("path", "/spec").set("value", json.valueToTree(desired.getSpec()));
        patch.addObject().put("op", "replace").put("path", "/metadata/labels")
                .set("value", json.valueToTree(desired.getMetadata().getLabels()));
        return client.resource(actual).patch(new PatchContext.Builder().withPatchType(PatchType.JSON)
                .withFieldManager(Labels.OPERATOR).build(), patch.toString());
    }

    static boolean finished(PruningJob pj) {
        return pj.getStatus() != null && (pj.getStatus().phase == Phase.SUCCEEDED || pj.getStatus().phase == Phase.FAILED);
    }

    static boolean succeeded(PruningJob pj) {
        return pj.getStatus() != null && pj.getStatus().phase == Phase.SUCCEEDED;
    }

    static boolean failed(PruningJob pj) {
        return pj.getStatus() != null && pj.getStatus().phase == Phase.FAILED;
    }

    /** Newest first, by creation time then name. */
    static final Comparator<PruningJob> NEWEST_FIRST = Comparator
            .comparing((PruningJob pj) -> pj.getMetadata().getCreationTimestamp(), Comparator.nullsFirst(Comparator.naturalOrder()))
            .thenComparing(pj -> pj.getMetadata().getName()).reversed();

    private static <T> T copy(T value, Class<T> type) {
        return value == null ? null : Serialization.jsonMapper().convertValue(value, type);
    }
}
