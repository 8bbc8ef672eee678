package dev.pollard.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pollard.api.HardwareClass;
import dev.pollard.api.InferenceDeployment;
import dev.pollard.api.InferenceDeploymentSpec;
import dev.pollard.api.InferenceDeploymentStatus;
import dev.pollard.api.PruningJob;
import dev.pollard.api.PruningJobSpec;
import dev.pollard.api.SecretReference;
import dev.pollard.testing.Resources;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the operator renders for a run and for serving, without a cluster: pure functions of the resources. */
class RenderingTest {
    private static final OperatorSettings SETTINGS = OperatorSettings.from(Map.of(
            "POLLARD_WORKER_IMAGE", "registry.example/pollard:1.2.3", "POLLARD_WORKER_SCRATCH_LIMIT", "5Gi")::get);

    private static <T> T example(String file, Class<T> type) {
        return Serialization.jsonMapper().convertValue(Resources.readYaml(file), type);
    }

    private static PruningJob pruningJob() {
        PruningJob pj = example("examples/pruningjob.yaml", PruningJob.class);
        pj.getMetadata().setNamespace("team-a");
        pj.getMetadata().setUid("uid-1");
        pj.getMetadata().setGeneration(3L);
        return pj;
    }

    private static HardwareClass h100() {
        HardwareClass hwc = example("examples/hardwareclass-h100.yaml", HardwareClass.class);
        hwc.getMetadata().setGeneration(2L);
        return hwc;
    }

    @Test
    void theWorkerJobRunsPruneAsArgumentsOnTheClassesNodesWithoutCredentials() {
        PruningJob pj = pruningJob();
        Job job = PruningRun.render(pj, h100(), SETTINGS);
        String name = PruningRun.jobName(pj, h100());
        assertThat(job.getMetadata().getName()).isEqualTo(name).hasSizeLessThanOrEqualTo(63);
        assertThat(job.getMetadata().getAnnotations()).containsEntry(PruningRun.GENERATION_ANNOTATION, "3")
                .containsEntry(PruningRun.HARDWARE_GENERATION_ANNOTATION, "2");
        assertThat(job.getMetadata().getLabels()).containsEntry(PruningRun.JOB_LABEL, "fashion-cnn")
                .containsEntry(Labels.COMPONENT, PruningRun.COMPONENT).containsEntry(Labels.MANAGED_BY, Labels.OPERATOR);
        var pod = job.getSpec().getTemplate().getSpec();
        Container worker = pod.getContainers().get(0);
        assertThat(worker.getImage()).isEqualTo("registry.example/pollard:1.2.3");
        assertThat(worker.getCommand()).as("the image's entry point, never a shell").isNullOrEmpty();
        assertThat(worker.getArgs()).startsWith("prune")
                .containsSequence("--model-sha256", pj.getSpec().model.sha256)
                .containsSequence("--out", "/pollard/output/fashion-cnn/pruned-h100/" + name)
                .containsSequence("--artifact-uri", "pvc://pollard-models/fashion-cnn/pruned-h100/" + name);
        assertThat(worker.getResources().getLimits()).containsEntry("nvidia.com/gpu", new Quantity("1"));
        assertThat(pod.getAutomountServiceAccountToken()).isFalse();
        assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(worker.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(pod.getRestartPolicy()).isEqualTo("Never");
        assertThat(job.getSpec().getPodFailurePolicy().getRules().get(0).getOnExitCodes().getValues()).contains(2, 3);
    }

    @Test
    void theServingShapeReachesTheWorkerAndAnUnsetOneLeavesItsDefault() {
        PruningJob pj = pruningJob();
        pj.getSpec().serving = null;
        assertThat(PruningRun.render(pj, h100(), SETTINGS).getSpec().getTemplate().getSpec().getContainers().get(0).getArgs())
                .doesNotContain("--serving-batch", "--sequence-length");
        pj.getSpec().serving = new PruningJobSpec.Serving();
        pj.getSpec().serving.batchSize = 8;
        pj.getSpec().serving.sequenceLength = 128;
        assertThat(PruningRun.render(pj, h100(), SETTINGS).getSpec().getTemplate().getSpec().getContainers().get(0).getArgs())
                .containsSequence("--serving-batch", "8").containsSequence("--sequence-length", "128");
    }

    @Test
    void aRunIsBoundedInTimeCpuMemoryAndScratchAndItsJobGoesAfterAWhile() {
        PruningJob pj = pruningJob();
        HardwareClass hwc = h100();
        Job job = PruningRun.render(pj, hwc, SETTINGS);
        assertThat(job.getSpec().getActiveDeadlineSeconds()).isEqualTo(21600L);
        assertThat(job.getSpec().getTtlSecondsAfterFinished()).isEqualTo(7 * 24 * 3600);
        var pod = job.getSpec().getTemplate().getSpec();
        assertThat(pod.getVolumes()).filteredOn(v -> v.getName().equals("tmp")).singleElement()
                .satisfies(v -> assertThat(v.getEmptyDir().getSizeLimit()).isEqualTo(new Quantity("5Gi")));
        // the operator's defaults, plus the class's GPU
        var resources = pod.getContainers().get(0).getResources();
        assertThat(resources.getRequests()).containsEntry("cpu", new Quantity("2")).containsEntry("memory", new Quantity("4Gi"));
        assertThat(resources.getLimits()).containsEntry("cpu", new Quantity("8")).containsEntry("memory", new Quantity("16Gi"))
                .containsEntry("nvidia.com/gpu", new Quantity("1"));
        // the class's worker resources, then the job's own, override them
        hwc.getSpec().workerResources = new ResourceRequirementsBuilder().addToLimits("memory", new Quantity("64Gi")).build();
        assertThat(PruningRun.render(pj, hwc, SETTINGS).getSpec().getTemplate().getSpec().getContainers().get(0).getResources()
                .getLimits()).containsEntry("memory", new Quantity("64Gi")).containsEntry("nvidia.com/gpu", new Quantity("1"))
                .doesNotContainKey("cpu");
        pj.getSpec().resources = new ResourceRequirementsBuilder().addToLimits("memory", new Quantity("3Gi")).build();
        pj.getSpec().runDeadlineSeconds = 600;
        Job own = PruningRun.render(pj, hwc, SETTINGS);
        assertThat(own.getSpec().getTemplate().getSpec().getContainers().get(0).getResources().getLimits())
                .containsEntry("memory", new Quantity("3Gi"));
        assertThat(own.getSpec().getActiveDeadlineSeconds()).isEqualTo(600L);
        assertThat(pj.getSpec().resources.getLimits()).as("the spec is not changed by rendering").doesNotContainKey("nvidia.com/gpu");
    }

    @Test
    void operatorSettingsThatDoNotParseNameTheirVariable() {
        assertThatThrownBy(() -> OperatorSettings.from(Map.of("POLLARD_WORKER_MEMORY_LIMIT", "lots")::get))
                .hasMessage("POLLARD_WORKER_MEMORY_LIMIT: 'lots' is not a Kubernetes quantity (e.g. 2, 500m, 4Gi)");
        assertThatThrownBy(() -> OperatorSettings.from(Map.of("POLLARD_FINISHED_RUN_TTL_SECONDS", "a week")::get))
                .hasMessage("POLLARD_FINISHED_RUN_TTL_SECONDS: 'a week' is not a number of seconds");
    }

    @Test
    void aRunIsNamedByGenerationAndHardwareClassGeneration() {
        PruningJob pj = pruningJob();
        HardwareClass hwc = h100();
        String first = PruningRun.jobName(pj, hwc);
        assertThat(PruningRun.jobName(pj, hwc)).isEqualTo(first);
        hwc.getMetadata().setGeneration(3L);
        assertThat(PruningRun.jobName(pj, hwc)).isNotEqualTo(first);
        pj.getMetadata().setName("x".repeat(80));
        assertThat(PruningRun.jobName(pj, hwc)).hasSize(63);
    }

    @Test
    void theSourceIsServedWithItsCredentialsAPrunedResultFromItsRunsDirectory() {
        InferenceDeployment infd = example("examples/inferencedeployment.yaml", InferenceDeployment.class);
        infd.getMetadata().setNamespace("team-a");
        infd.getSpec().model.uri = "https://models.example/cnn.onnx";
        infd.getSpec().model.secretRef = new SecretReference("model-token");

        Deployment source = ServingDeployment.render(infd, ServedModels.source(infd), h100().getSpec(), SETTINGS);
        Container server = source.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(server.getArgs()).containsSequence("--model", "https://models.example/cnn.onnx")
                .containsSequence("--sha256", infd.getSpec().model.sha256)
                .containsSequence("--hardware-class", "h100");
        // the server labels its metrics with its pod: POD_NAMESPACE and POD_NAME are the defaults of its options
        assertThat(server.getEnv()).filteredOn(e -> e.getValueFrom() != null && e.getValueFrom().getFieldRef() != null)
                .extracting(e -> e.getName() + "=" + e.getValueFrom().getFieldRef().getFieldPath())
                .contains("POD_NAMESPACE=metadata.namespace", "POD_NAME=metadata.name");
        assertThat(server.getEnv()).filteredOn(e -> e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null)
                .singleElement().satisfies(e -> assertThat(e.getValueFrom().getSecretKeyRef().getName()).isEqualTo("model-token"));

        InferenceDeploymentStatus.Model pruned = new InferenceDeploymentStatus.Model();
        pruned.uri = "pvc://pollard-models/pruned/run-1/model.onnx";
        pruned.sha256 = "f".repeat(64);
        pruned.origin = InferenceDeploymentStatus.ORIGIN_PRUNING_JOB;
        Deployment serving = ServingDeployment.render(infd, pruned, h100().getSpec(), SETTINGS);
        server = serving.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(server.getArgs()).containsSequence("--model", "/pollard/model/pruned/run-1/model.onnx")
                .containsSequence("--sha256", "f".repeat(64));
        assertThat(server.getEnv()).noneMatch(e -> e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null);
        assertThat(serving.getSpec().getTemplate().getMetadata().getAnnotations())
                .containsEntry(ServingDeployment.MODEL_SHA_ANNOTATION, "f".repeat(64));
        // a new model is ready before an old pod goes
        assertThat(serving.getSpec().getStrategy().getRollingUpdate().getMaxUnavailable().getIntVal()).isZero();
        assertThat(serving.getSpec().getReplicas()).isEqualTo(2);
        assertThat(serving.getSpec().getTemplate().getSpec().getNodeSelector())
                .containsEntry("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3");
    }

    @Test
    void aServedDeploymentMatchesWhatTheApiServerAddsToItButNotAChangeOrARemovedArgument() {
        InferenceDeployment infd = example("examples/inferencedeployment.yaml", InferenceDeployment.class);
        infd.getMetadata().setNamespace("team-a");
        infd.getSpec().runtime = new InferenceDeploymentSpec.Runtime();
        infd.getSpec().runtime.threads = 4;
        Deployment desired = ServingDeployment.render(infd, ServedModels.source(infd), h100().getSpec(), SETTINGS);

        // what the API server and the Deployment controller add: defaults inside list elements, labels, status
        JsonNode actual = json(desired);
        ObjectNode container = (ObjectNode) actual.at("/spec/template/spec/containers/0");
        container.put("terminationMessagePath", "/dev/termination-log").put("imagePullPolicy", "IfNotPresent");
        ((ObjectNode) actual.at("/metadata/labels")).put("added-by", "someone-else");
        ((ObjectNode) actual).putObject("status").put("readyReplicas", 2);
        assertThat(ServingDeployment.holds(actual, json(desired))).isTrue();

        // the runtime's thread count taken out of the spec: the argument must go from the Deployment too
        infd.getSpec().runtime.threads = null;
        assertThat(ServingDeployment.holds(actual, json(ServingDeployment.render(infd, ServedModels.source(infd),
                h100().getSpec(), SETTINGS)))).isFalse();
        // a value the operator sets, changed by hand
        container.put("image", "registry.example/other:1");
        assertThat(ServingDeployment.holds(actual, json(desired))).isFalse();
    }

    private static JsonNode json(Object o) {
        return Serialization.jsonMapper().valueToTree(o);
    }

    @Test
    void theServiceSelectsTheServingPodsOnTheRuntimesPort() {
        InferenceDeployment infd = example("examples/inferencedeployment.yaml", InferenceDeployment.class);
        infd.getMetadata().setNamespace("team-a");
        Service service = ServingService.desired(infd);
        assertThat(service.getSpec().getSelector()).isEqualTo(Labels.selector(infd, ServingDeployment.COMPONENT));
        assertThat(service.getSpec().getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getPort()).isEqualTo(8080);
            assertThat(p.getTargetPort().getStrVal()).isEqualTo("http");
        });
    }
}
