package dev.pollard.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.onnx.proto.OnnxMl;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pollard.api.CompressionPolicy;
import dev.pollard.api.HardwareClass;
import dev.pollard.api.InferenceDeployment;
import dev.pollard.api.PruningJob;
import dev.pollard.api.PruningJobStatus;
import dev.pollard.data.Digests;
import dev.pollard.operator.Conditions;
import dev.pollard.testing.ArgoHealth;
import dev.pollard.testing.Resources;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What a GitOps tool does to Pollard, on the local control plane with a process node and the operator as a process:
 * one directory (examples/gitops, the policy's run made short) applied with {@code kubectl apply --server-side
 * --field-manager=argocd}; the deployment served all along while its policy prunes it, a re-apply that changes nothing,
 * a new source model committed, a HardwareClass changed, the policy deleted; and Pollard's Argo CD health checks run
 * on the objects as they are at each step.
 */
class GitOpsE2E {
    private static final String NS = "gitops";
    private static final String ARGOCD = "argocd";
    private static final Duration WAIT = LocalCluster.PATIENCE;

    private static E2EEnvironment env;
    private static OperatorProcess operator;
    private static KubernetesClient client;
    private static Kubectl kubectl;
    private static Path gitDir;
    private static Availability availability;

    @BeforeAll
    static void start() throws Exception {
        env = E2EEnvironment.start("gpu-node-1",
                Map.of("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3", "pollard.dev/pool", "gpu"),
                Map.of("nvidia.com/gpu", "4")); // two serving replicas, one more during a rollout, one worker
        client = env.client();
        kubectl = new Kubectl(env.cluster().kubeconfig());
        operator = new OperatorProcess(env.cluster().kubeconfig(), env.cluster().dir()).start();
        kubectl.ok("create", "namespace", NS);
        Path models = env.node().provideClaim(NS, "pollard-models");
        Path data = env.node().provideClaim(NS, "pollard-data");
        Files.createDirectories(models.resolve("fashion-cnn"));
        try (InputStream embedded = GitOpsE2E.class.getResourceAsStream("/models/fashion-cnn.onnx")) {
            Files.copy(embedded, models.resolve("fashion-cnn/model.onnx"));
        }
        Files.createDirectories(data.resolve("fashion-mnist"));
        try (var files = Files.list(Path.of("/usr/share/datasets/fashion-mnist"))) {
            for (Path f : files.toList()) {
                Files.copy(f, data.resolve("fashion-mnist").resolve(f.getFileName()));
            }
        }
        gitDir = gitCheckout(env.cluster().dir().resolve("git"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (availability != null) {
            availability.close();
        }
        if (operator != null) {
            operator.close();
        }
        if (env != null) {
            env.close();
        }
    }

    /**
     * The repository a GitOps tool would sync: examples/gitops as shipped, the policy's runs made short for a test
     * (2,000 evaluation samples, 40 fine-tuning steps, epsilon 0.03 within the example's guardrail).
     */
    private static Path gitCheckout(Path dir) throws Exception {
        Files.createDirectories(dir);
        try (var files = Files.list(Path.of("examples/gitops"))) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        editYaml(dir.resolve("30-compressionpolicy.yaml"), policy -> {
            ObjectNode template = (ObjectNode) policy.at("/spec/template");
            ((ObjectNode) template.get("dataset")).put("evaluationSamples", 2000);
            ((ObjectNode) template.get("accuracy")).put("epsilon", 0.03);
            template.putObject("strategy").putObject("fineTuning").put("stepsPerIteration", 40);
        });
        return dir;
    }

    @Test
    void gitOwnsTheSpecsAndTheOperatorKeepsTheDeploymentPrunedAndServing() throws Exception {
        // 1. sync: one PruningJob for the one target; the deployment serves its source meanwhile. Its worker is held
        // once it has published its first step, so the run is seen in flight on any machine
        ThreadHold hold = env.node().hold(pod -> NS.equals(pod.getMetadata().getNamespace())
                && "pruning".equals(pod.getMetadata().getLabels().get("app.kubernetes.io/component")),
                "dev.pollard.worker.ProgressServer", "update", args -> "Pruning".equals(args.get(0)));
        String sourceSha = sync();
        assertHealth("HardwareClass", awaitObject(HardwareClass.class, null, "h100",
                h -> h.getStatus() != null && ready(h.getStatus().conditions)), "Healthy");
        PruningJob first = awaitOnlyGeneratedRun();
        assertThat(first.getSpec().model.sha256).isEqualTo(sourceSha);
        assertThat(first.getSpec().deployTo).isEqualTo("fashion-cnn");
        assertThat(first.getMetadata().getOwnerReferences()).singleElement()
                .satisfies(o -> assertThat(o.getKind()).isEqualTo("CompressionPolicy"));
        assertThat(first.getMetadata().getLabels()).containsEntry("pollard.dev/policy", "fashion-models")
                .containsEntry("pollard.dev/target", "fashion-cnn").containsEntry("pollard.dev/hardware-class", "h100");
        hold.awaitHeld(WAIT);
        assertHealth("PruningJob", awaitObject(PruningJob.class, NS, first.getMetadata().getName(),
                pj -> pj.getStatus() != null && pj.getStatus().progress != null), "Progressing");
        assertHealth("CompressionPolicy", awaitObject(CompressionPolicy.class, NS, "fashion-models",
                p -> p.getStatus() != null && reconciling(p.getStatus().conditions)), "Progressing");
        awaitServing(sourceSha, "Source");
        availability = new Availability(client, NS, "fashion-cnn");
        hold.release();

        PruningJobStatus firstRun = awaitSucceeded(first.getMetadata().getName());
        assertHealth("PruningJob", get(PruningJob.class, first.getMetadata().getName()), "Healthy");
        awaitServing(firstRun.artifact.sha256, "PruningJob");
        assertThat(firstRun.artifact.sha256).isEqualTo(sha256(firstRun.artifact.uri));
        infer();
        assertHealth("InferenceDeployment", get(InferenceDeployment.class, "fashion-cnn"), "Healthy");
        assertHealth("CompressionPolicy", awaitObject(CompressionPolicy.class, NS, "fashion-models",
                p -> p.getStatus() != null && ready(p.getStatus().conditions)), "Healthy");

        // 2. the same directory applied three more times changes nothing
        long deploymentGeneration = deployment().getMetadata().getGeneration();
        Set<String> runs = generatedRunNames();
        for (int i = 0; i < 3; i++) {
            sync();
        }
        Kubectl.Result diff = kubectl.run("diff", "--server-side", "--field-manager=" + ARGOCD, "-n", NS, "-f", gitDir.toString());
        assertThat(diff.exitCode()).as("kubectl diff --server-side:%n%s", diff.output()).isZero();
        assertThat(diff.output()).isBlank();
        assertThat(generatedRunNames()).isEqualTo(runs);
        assertThat(deployment().getMetadata().getGeneration()).as("no rollout").isEqualTo(deploymentGeneration);

        // 3. a new source model is committed: a run from it, the deployment serves the new source until that succeeds
        Path models = env.node().claimDir("pollard-models");
        String newSourceSha = writeVariant(models.resolve("fashion-cnn/model.onnx"), models.resolve("fashion-cnn/v2/model.onnx"));
        editYaml(gitDir.resolve("20-inferencedeployment.yaml"), infd -> ((ObjectNode) infd.at("/spec/model"))
                .put("uri", "pvc://pollard-models/fashion-cnn/v2/model.onnx").put("sha256", newSourceSha));
        sync();
        PruningJob second = await().atMost(WAIT).until(() -> generatedRuns().stream()
                .filter(pj -> newSourceSha.equals(pj.getSpec().model.sha256)).findFirst().orElse(null), pj -> pj != null);
        // a result of the old source is never served for the new one
        awaitServing(newSourceSha, "Source");
        PruningJobStatus secondRun = awaitSucceeded(second.getMetadata().getName());
        awaitServing(secondRun.artifact.sha256, "PruningJob");
        assertThat(get(InferenceDeployment.class, "fashion-cnn").getStatus().servedModel.sourceSha256).isEqualTo(newSourceSha);
        assertThat(get(PruningJob.class, first.getMetadata().getName())).as("a finished run is kept as history").isNotNull();
        infer();

        // 4. the HardwareClass changes in Git: pruned again for it, served once that run succeeded
        editYaml(gitDir.resolve("10-hardwareclass.yaml"), hwc -> ((ObjectNode) hwc.at("/spec/energyModel"))
                .put("memoryBandwidthGBs", 300));
        sync();
        PruningJobStatus thirdRun = await().atMost(WAIT).pollInterval(Duration.ofSeconds(2)).until(
                () -> get(PruningJob.class, second.getMetadata().getName()).getStatus(),
                s -> s.hardware != null && s.hardware.hardwareClassGeneration == 2L
                        && s.phase == PruningJobStatus.Phase.SUCCEEDED);
        assertThat(thirdRun.jobName).isNotEqualTo(secondRun.jobName);
        awaitServing(thirdRun.artifact.sha256, "PruningJob");
        infer();

        // 5. health of what fails or stalls, on live objects
        degradedObjectsAreDegraded();

        // 6. the policy is deleted: its runs go, and the deployment rolls back to its source model without an outage
        kubectl.ok("delete", "-n", NS, "-f", gitDir.resolve("30-compressionpolicy.yaml").toString(), "--wait=true");
        await().atMost(WAIT).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> assertThat(generatedRuns()).isEmpty());
        awaitServing(newSourceSha, "Source");
        infer();

        availability.close();
        assertThat(availability.failures).as("polls with no ready replica answering").isEmpty();
        assertThat(availability.polls.get()).as("polls made").isGreaterThan(10);
        // Git alone manages the deployment's spec
        for (InferenceDeployment infd : client.resources(InferenceDeployment.class).inNamespace(NS).list().getItems()) {
            assertThat(infd.getMetadata().getManagedFields()).filteredOn(f -> f.getFieldsV1() != null
                    && f.getFieldsV1().getAdditionalProperties().containsKey("f:spec"))
                    .as("managers of %s's spec", infd.getMetadata().getName())
                    .extracting(f -> f.getManager()).containsOnly(ARGOCD);
        }
    }

    /**
     * Health of what fails or waits, on live objects, all applied the GitOps way and removed again: a run whose model
     * does not exist (Degraded) and the policy whose failure limit it reaches (Degraded), a deployment whose
     * HardwareClass is missing (Degraded), a suspended policy (Suspended).
     */
    private void degradedObjectsAreDegraded() throws Exception {
        Path extra = Files.createDirectories(env.cluster().dir().resolve("extra"));
        Files.writeString(extra.resolve("broken.yaml"), """
                apiVersion: pollard.dev/v1alpha1
                kind: InferenceDeployment
                metadata:
                  name: no-class
                spec:
                  model: {uri: pvc://pollard-models/fashion-cnn/model.onnx, sha256: %s}
                  hardwareClass: absent
                ---
                apiVersion: pollard.dev/v1alpha1
                kind: InferenceDeployment
                metadata:
                  name: lost-source
                  labels: {pollard.dev/compress-lost: "true"}
                spec:
                  model: {uri: pvc://pollard-models/nowhere/model.onnx, sha256: %s}
                  hardwareClass: h100
                ---
                apiVersion: pollard.dev/v1alpha1
                kind: CompressionPolicy
                metadata:
                  name: lost-models
                spec:
                  selector: {matchLabels: {pollard.dev/compress-lost: "true"}}
                  failureLimit: 1
                  template:
                    dataset: {uri: pvc://pollard-data/fashion-mnist, format: idx}
                    energyBudget: {targetReduction: 0.4}
                    accuracy: {epsilon: 0.01}
                    output: {uri: pvc://pollard-models/pruned}
                ---
                apiVersion: pollard.dev/v1alpha1
                kind: CompressionPolicy
                metadata:
                  name: paused
                spec:
                  selector: {matchLabels: {pollard.dev/compress: "true"}}
                  suspend: true
                  template:
                    dataset: {uri: pvc://pollard-data/fashion-mnist, format: idx}
                    energyBudget: {targetReduction: 0.4}
                    accuracy: {epsilon: 0.01}
                    output: {uri: pvc://pollard-models/pruned}
                """.formatted("a".repeat(64), "b".repeat(64)));
        kubectl.ok("apply", "--server-side", "--field-manager=" + ARGOCD, "-n", NS, "-f", extra.toString());
        assertHealth("InferenceDeployment", awaitObject(InferenceDeployment.class, NS, "no-class",
                i -> i.getStatus() != null && stalled(i.getStatus().conditions)), "Degraded");
        // its model file does not exist: its pods never become ready, so it rolls out for as long as it exists
        assertHealth("InferenceDeployment", awaitObject(InferenceDeployment.class, NS, "lost-source",
                i -> i.getStatus() != null && reconciling(i.getStatus().conditions)), "Progressing");
        PruningJob lost = await().atMost(WAIT).until(() -> client.resources(PruningJob.class).inNamespace(NS)
                .withLabel("pollard.dev/policy", "lost-models").list().getItems(), l -> !l.isEmpty()).get(0);
        PruningJob failed = awaitObject(PruningJob.class, NS, lost.getMetadata().getName(),
                pj -> pj.getStatus() != null && pj.getStatus().phase == PruningJobStatus.Phase.FAILED);
        assertThat(Conditions.find(failed.getStatus().conditions, Conditions.STALLED).orElseThrow().getMessage())
                .contains("pvc://pollard-models/nowhere/model.onnx").contains("no such file");
        assertHealth("PruningJob", failed, "Degraded");
        assertHealth("CompressionPolicy", awaitObject(CompressionPolicy.class, NS, "lost-models",
                p -> p.getStatus() != null && stalled(p.getStatus().conditions)), "Degraded");
        assertHealth("CompressionPolicy", awaitObject(CompressionPolicy.class, NS, "paused",
                p -> p.getStatus() != null && p.getStatus().observedGeneration != null), "Suspended");
        kubectl.ok("delete", "-n", NS, "-f", extra.toString(), "--wait=true");
    }

    /** Applies the Git directory as Argo CD does; returns the source sha256 it declares. */
    private static String sync() throws Exception {
        kubectl.ok("apply", "--server-side", "--field-manager=" + ARGOCD, "-n", NS, "-f", gitDir.toString());
        return Resources.readYaml(gitDir.resolve("20-inferencedeployment.yaml").toString()).at("/spec/model/sha256").asText();
    }

    private static void editYaml(Path file, java.util.function.Consumer<ObjectNode> edit) throws Exception {
        ObjectNode yaml = Resources.readYaml(file.toString());
        edit.accept(yaml);
        Files.writeString(file, Resources.YAML.writeValueAsString(yaml));
    }

    /** The same network with another doc string: another file, another sha256, the same predictions. */
    private static String writeVariant(Path from, Path to) throws Exception {
        OnnxMl.ModelProto model = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(from));
        byte[] bytes = model.toBuilder().setDocString("fashion-cnn, second commit").build().toByteArray();
        Files.createDirectories(to.getParent());
        Files.write(to, bytes);
        return Digests.sha256(bytes);
    }

    private static PruningJob awaitOnlyGeneratedRun() {
        await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> assertThat(generatedRuns()).hasSize(1));
        return generatedRuns().get(0);
    }

    private static List<PruningJob> generatedRuns() {
        return client.resources(PruningJob.class).inNamespace(NS).withLabel("pollard.dev/policy", "fashion-models").list()
                .getItems();
    }

    private static Set<String> generatedRunNames() {
        return generatedRuns().stream().map(pj -> pj.getMetadata().getName()).collect(Collectors.toSet());
    }

    private static PruningJobStatus awaitSucceeded(String name) {
        return await().atMost(WAIT).pollInterval(Duration.ofSeconds(2)).until(() -> get(PruningJob.class, name).getStatus(),
                s -> {
                    assertThat(s == null || s.phase != PruningJobStatus.Phase.FAILED).as("%s failed: %s", name,
                            s == null ? null : s.conditions).isTrue();
                    return s != null && s.phase == PruningJobStatus.Phase.SUCCEEDED;
                });
    }

    /** Waits until the deployment serves this model, rolled out and Ready. */
    private static void awaitServing(String sha256, String origin) {
        await().atMost(WAIT).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
            InferenceDeployment infd = get(InferenceDeployment.class, "fashion-cnn");
            assertThat(infd.getStatus()).isNotNull();
            assertThat(infd.getStatus().servedModel).as("%s", infd.getStatus().conditions).isNotNull();
            assertThat(infd.getStatus().servedModel.sha256).isEqualTo(sha256);
            assertThat(infd.getStatus().servedModel.origin).isEqualTo(origin);
            assertThat(ready(infd.getStatus().conditions)).as("%s", infd.getStatus().conditions).isTrue();
        });
    }

    /** One image through a ready serving pod: 10 logits back. */
    private static void infer() throws Exception {
        Pod pod = Availability.readyPods(client, NS, "fashion-cnn").get(0);
        HttpResponse<String> answer = Availability.infer(pod);
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        assertThat(answer.body()).contains("\"shape\":[1,10]");
    }

    private static Deployment deployment() {
        return client.apps().deployments().inNamespace(NS).withName("fashion-cnn").get();
    }

    private static String sha256(String pvcUri) throws Exception {
        String rest = pvcUri.substring("pvc://".length());
        int slash = rest.indexOf('/');
        return Digests.sha256(env.node().claimDir(rest.substring(0, slash)).resolve(rest.substring(slash + 1)));
    }

    private static <T extends HasMetadata> T get(Class<T> kind, String name) {
        return client.resources(kind).inNamespace(NS).withName(name).get();
    }

    private static <T extends HasMetadata> T awaitObject(Class<T> kind, String namespace, String name,
            java.util.function.Predicate<T> state) {
        return await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() -> namespace == null
                ? client.resources(kind).withName(name).get() : client.resources(kind).inNamespace(namespace).withName(name).get(),
                o -> o != null && state.test(o));
    }

    private static boolean ready(List<io.fabric8.kubernetes.api.model.Condition> conditions) {
        return Conditions.whenTrue(conditions, Conditions.READY).isPresent();
    }

    private static boolean stalled(List<io.fabric8.kubernetes.api.model.Condition> conditions) {
        return Conditions.whenTrue(conditions, Conditions.STALLED).isPresent();
    }

    private static boolean reconciling(List<io.fabric8.kubernetes.api.model.Condition> conditions) {
        return Conditions.whenTrue(conditions, Conditions.RECONCILING).isPresent();
    }

    /**
     * Pollard's Argo CD health check on a live object must say {@code expected}; the object is kept under
     * target/argocd-captures/KIND/ (the health_test.yaml fixtures come from there).
     */
    private static void assertHealth(String kind, HasMetadata object, String expected) throws Exception {
        JsonNode json = Resources.YAML.valueToTree(object);
        ((ObjectNode) json.get("metadata")).remove("managedFields");
        Path capture = Path.of("target", "argocd-captures", kind, expected.toLowerCase() + "-"
                + object.getMetadata().getName() + ".yaml");
        Files.createDirectories(capture.getParent());
        Files.writeString(capture, Resources.YAML.writeValueAsString(json));
        assertThat(ArgoHealth.assess(kind, json).status()).as("%s %s: %s", kind, object.getMetadata().getName(), json)
                .isEqualTo(expected);
    }
}
