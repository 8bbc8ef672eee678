package dev.pollard.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pollard.api.CompressionPolicy;
import dev.pollard.api.InferenceDeployment;
import dev.pollard.api.PruningJob;
import dev.pollard.testing.Resources;
import io.fabric8.kubernetes.client.utils.Serialization;
import org.junit.jupiter.api.Test;

/** The PruningJobs a policy generates, without a cluster. */
class GeneratedRunsTest {

    private static CompressionPolicy policy() {
        CompressionPolicy policy = Serialization.jsonMapper().convertValue(Resources.readYaml("examples/compressionpolicy.yaml"),
                CompressionPolicy.class);
        policy.getMetadata().setNamespace("team-a");
        policy.getMetadata().setUid("policy-uid");
        policy.getMetadata().setGeneration(1L);
        return policy;
    }

    private static InferenceDeployment target() {
        InferenceDeployment infd = Serialization.jsonMapper().convertValue(Resources.readYaml("examples/inferencedeployment.yaml"),
                InferenceDeployment.class);
        infd.getMetadata().setNamespace("team-a");
        return infd;
    }

    @Test
    void aRunIsTheTemplatePlusTheTargetsSourceOwnedByThePolicy() {
        PruningJob pj = GeneratedRuns.desired(policy(), target(), "h100");
        assertThat(pj.getSpec().model.uri).isEqualTo(target().getSpec().model.uri);
        assertThat(pj.getSpec().model.sha256).isEqualTo(target().getSpec().model.sha256);
        assertThat(pj.getSpec().hardwareClass).isEqualTo("h100");
        assertThat(pj.getSpec().deployTo).isEqualTo("fashion-cnn");
        assertThat(pj.getSpec().accuracy.epsilon).isEqualTo(0.01);
        assertThat(pj.getSpec().dataset).isNotSameAs(policy().getSpec().template.dataset);
        assertThat(pj.getMetadata().getNamespace()).isEqualTo("team-a");
        assertThat(pj.getMetadata().getName()).startsWith("fashion-models-fashion-cnn-").hasSizeLessThanOrEqualTo(63);
        assertThat(pj.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
            assertThat(o.getKind()).isEqualTo("CompressionPolicy");
            assertThat(o.getUid()).isEqualTo("policy-uid");
            assertThat(o.getController()).isTrue();
        });
        assertThat(pj.getMetadata().getLabels()).containsEntry(GeneratedRuns.TARGET_LABEL, "fashion-cnn")
                .containsEntry(GeneratedRuns.HARDWARE_CLASS_LABEL, "h100").containsEntry(GeneratedRuns.POLICY_GENERATION_LABEL, "1");
        assertThat(pj.getMetadata().getLabels().values()).allSatisfy(v -> assertThat(v).hasSizeLessThanOrEqualTo(63));
    }

    @Test
    void theNameChangesWithTheSourceThePolicyGenerationAndTheClassOnly() {
        CompressionPolicy policy = policy();
        InferenceDeployment target = target();
        String name = GeneratedRuns.name(policy, target, "h100");
        assertThat(GeneratedRuns.name(policy, target, "h100")).isEqualTo(name);
        assertThat(GeneratedRuns.name(policy, target, "l4")).isNotEqualTo(name);
        target.getSpec().replicas = 5;
        assertThat(GeneratedRuns.name(policy, target, "h100")).isEqualTo(name);
        target.getSpec().model.sha256 = "0".repeat(64);
        String newSource = GeneratedRuns.name(policy, target, "h100");
        assertThat(newSource).isNotEqualTo(name);
        policy.getMetadata().setGeneration(2L);
        assertThat(GeneratedRuns.name(policy, target, "h100")).isNotEqualTo(newSource);
    }

    @Test
    void aHandEditIsSeen() {
        PruningJob desired = GeneratedRuns.desired(policy(), target(), "h100");
        PruningJob actual = GeneratedRuns.desired(policy(), target(), "h100");
        assertThat(GeneratedRuns.matches(actual, desired)).isTrue();
        actual.getSpec().accuracy.epsilon = 0.05;
        assertThat(GeneratedRuns.matches(actual, desired)).isFalse();
    }
}
