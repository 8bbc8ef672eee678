package dev.pollard.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pollard.api.InferenceDeployment;
import dev.pollard.api.InferenceDeploymentSpec;
import dev.pollard.api.PruningJob;
import dev.pollard.api.PruningJobStatus;
import dev.pollard.testing.Resources;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which model a deployment serves, from the results offered to it. */
class ServedModelsTest {
    private static final String SOURCE = "5".repeat(64);

    private static InferenceDeployment deployment() {
        InferenceDeployment infd = Serialization.jsonMapper().convertValue(Resources.readYaml("examples/inferencedeployment.yaml"),
                InferenceDeployment.class);
        infd.getMetadata().setNamespace("team-a");
        infd.getSpec().model.sha256 = SOURCE;
        return infd;
    }

    private static PruningJob offering(String name, String deployTo, PruningJobStatus.HardwareResult... results) {
        PruningJob pj = Serialization.jsonMapper().convertValue(Resources.readYaml("examples/pruningjob.yaml"), PruningJob.class);
        pj.getMetadata().setName(name);
        pj.getMetadata().setNamespace("team-a");
        pj.getSpec().deployTo = deployTo;
        pj.setStatus(new PruningJobStatus());
        pj.getStatus().resultsByHardware = List.of(results);
        return pj;
    }

    private static PruningJobStatus.HardwareResult result(String source, String hardwareClass, String sha, String finished) {
        PruningJobStatus.HardwareResult r = new PruningJobStatus.HardwareResult();
        r.sourceSha256 = source;
        r.hardwareClass = hardwareClass;
        r.completionTime = finished;
        r.jobName = "run-" + sha.charAt(0);
        r.artifact = new PruningJobStatus.Artifact();
        r.artifact.uri = "pvc://models/pruned/" + sha.charAt(0) + "/model.onnx";
        r.artifact.sha256 = sha;
        return r;
    }

    @Test
    void aPruningJobCutToItsOfferIsChosenAlike() {
        PruningJob full = offering("a", "fashion-cnn", result(SOURCE, "h100", "a".repeat(64), "2026-12-01T10:00:00Z"));
        full.getStatus().iterations = List.of(new PruningJobStatus.Iteration());
        PruningJob cut = Serialization.clone(full);
        ServedModels.keepOnlyTheOffer(cut);
        PruningJob notOffering = offering("b", null, result(SOURCE, "h100", "b".repeat(64), "2026-12-02T10:00:00Z"));
        ServedModels.keepOnlyTheOffer(notOffering);

        assertThat(cut.getStatus().iterations).isNull();
        assertThat(cut.getSpec().model).isNull();
        assertThat(notOffering.getStatus()).isNull();
        assertThat(ServedModels.choose(deployment(), List.of(cut, notOffering)))
                .usingRecursiveComparison().isEqualTo(ServedModels.choose(deployment(), List.of(full)));
    }

    @Test
    void withoutAnOfferTheSourceIsServed() {
        var served = ServedModels.choose(deployment(), List.of());
        assertThat(served.origin).isEqualTo("Source");
        assertThat(served.sha256).isEqualTo(SOURCE);
    }

    @Test
    void theNewestResultOfTheSameSourceForTheSameClassIsServed() {
        var served = ServedModels.choose(deployment(), List.of(
                offering("a", "fashion-cnn", result(SOURCE, "h100", "a".repeat(64), "2026-12-01T10:00:00Z"),
                        result(SOURCE, "l4", "b".repeat(64), "2026-12-03T10:00:00Z")),
                offering("c", "fashion-cnn", result(SOURCE, "h100", "c".repeat(64), "2026-12-02T10:00:00Z")),
                offering("d", "fashion-cnn", result("0".repeat(64), "h100", "d".repeat(64), "2026-12-04T10:00:00Z")),
                offering("e", "another", result(SOURCE, "h100", "e".repeat(64), "2026-12-05T10:00:00Z"))));
        assertThat(served.sha256).isEqualTo("c".repeat(64));
        assertThat(served.origin).isEqualTo("PruningJob");
        assertThat(served.pruningJob).isEqualTo("c");
        assertThat(served.run).isEqualTo("run-c");
        assertThat(served.sourceSha256).isEqualTo(SOURCE);
    }

    @Test
    void aMalformedDigestIsNeverServed() {
        var served = ServedModels.choose(deployment(), List.of(
                offering("a", "fashion-cnn", result(SOURCE, "h100", "not-a-digest", "2026-12-01T10:00:00Z"))));
        assertThat(served.origin).isEqualTo("Source");
    }

    @Test
    void aDeploymentThatOptsOutServesItsSource() {
        InferenceDeployment infd = deployment();
        infd.getSpec().compression = new InferenceDeploymentSpec.Compression();
        infd.getSpec().compression.enabled = false;
        var served = ServedModels.choose(infd, List.of(
                offering("a", "fashion-cnn", result(SOURCE, "h100", "a".repeat(64), "2026-12-01T10:00:00Z"))));
        assertThat(served.origin).isEqualTo("Source");
    }
}
