package dev.pollard.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pollard.testing.RealApiServer;
import dev.pollard.testing.Resources;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The CRDs against a real kube-apiserver: examples are accepted, bad specs are rejected with the server's message. */
class CrdAdmissionTest {
    private static KubernetesClient client;
    private static String namespace;

    @BeforeAll
    static void installCrds() {
        client = RealApiServer.adminClient();
        Resources.installCrds(client);
        namespace = RealApiServer.newNamespace(client, "admission");
    }

    @AfterAll
    static void close() {
        client.close();
    }

    static Stream<String> examples() {
        return Stream.concat(Stream.of("examples/hardwareclass-h100.yaml", "examples/local/hardwareclass-h100.yaml",
                "examples/pruningjob.yaml", "examples/inferencedeployment.yaml", "examples/compressionpolicy.yaml"), Stream.of("h100", "h200", "a100", "l4", "t4", "generic-cpu")
                .map(preset -> "examples/hardwareclasses/" + preset + ".yaml"));
    }

    @ParameterizedTest
    @MethodSource("examples")
    void exampleIsAcceptedAndReadsBackEqual(String file) {
        ObjectNode example = Resources.readYaml(file);
        ((ObjectNode) example.get("metadata")).put("name", "example-" + UUID.randomUUID().toString().substring(0, 8));
        GenericKubernetesResource created = create(example);
        JsonNode readBack = Resources.YAML.valueToTree(created);
        assertThat(Resources.contains(readBack.get("spec"), example.get("spec")))
                .as("read back %s%nexpected to contain %s", readBack.get("spec"), example.get("spec")).isTrue();
    }

    @Test
    void defaultsAreFilledByTheServer() {
        ObjectNode pj = validPruningJob();
        ((ObjectNode) pj.get("spec")).remove("strategy");
        ((ObjectNode) pj.at("/spec/model")).remove("format");
        JsonNode spec = Resources.YAML.valueToTree(create(pj)).get("spec");
        assertThat(spec.at("/model/format").asText()).isEqualTo("onnx");
        assertThat(spec.at("/accuracy/metric").asText()).isEqualTo("top1");

        ObjectNode hwc = Resources.readYaml("examples/hardwareclass-h100.yaml");
        ((ObjectNode) hwc.get("metadata")).put("name", "defaults-" + UUID.randomUUID().toString().substring(0, 8));
        assertThat(Resources.YAML.valueToTree(create(hwc)).at("/spec/maxConcurrentRuns").asInt()).isEqualTo(4);
    }

    /** One invalid PruningJob: what to break, and what the server's message must say. */
    record Invalid(String what, Consumer<ObjectNode> breakSpec, String... messageParts) {
        @Override
        public String toString() {
            return what;
        }
    }

    static Stream<Arguments> invalidPruningJobs() {
        return Stream.of(
                new Invalid("model.uri missing", s -> obj(s, "model").remove("uri"), "spec.model.uri", "Required value"),
                new Invalid("model.uri with an unsupported scheme", s -> obj(s, "model").put("uri", "ftp://host/model.onnx"),
                        "spec.model.uri", "should match"),
                new Invalid("dataset.uri with an unsupported scheme", s -> obj(s, "dataset").put("uri", "gs://bucket/data"),
                        "spec.dataset.uri", "should match"),
                new Invalid("dataset.format unknown", s -> obj(s, "dataset").put("format", "parquet"),
                        "spec.dataset.format", "Unsupported value: \"parquet\""),
                new Invalid("hardwareClass missing", s -> s.remove("hardwareClass"), "spec.hardwareClass", "Required value"),
                new Invalid("targetReduction = 0", s -> obj(s, "energyBudget").put("targetReduction", 0),
                        "spec.energyBudget.targetReduction", "greater than 0"),
                new Invalid("targetReduction = 1", s -> obj(s, "energyBudget").put("targetReduction", 1),
                        "spec.energyBudget.targetReduction", "less than 1"),
                new Invalid("both energy budgets", s -> obj(s, "energyBudget").put("maxJoulesPerInference", 0.5),
                        "spec.energyBudget", "set exactly one of energyBudget.targetReduction and energyBudget.maxJoulesPerInference"),
                new Invalid("no energy budget", s -> obj(s, "energyBudget").remove("targetReduction"),
                        "spec.energyBudget", "set exactly one of energyBudget.targetReduction and energyBudget.maxJoulesPerInference"),
                new Invalid("maxJoulesPerInference = 0", s -> {
                    obj(s, "energyBudget").remove("targetReduction");
                    obj(s, "energyBudget").put("maxJoulesPerInference", 0);
                }, "spec.energyBudget.maxJoulesPerInference", "greater than 0"),
                new Invalid("epsilon negative", s -> obj(s, "accuracy").put("epsilon", -0.1),
                        "spec.accuracy.epsilon", "greater than or equal to 0"),
                new Invalid("epsilon = 1", s -> obj(s, "accuracy").put("epsilon", 1.0), "spec.accuracy.epsilon", "less than 1"),
                new Invalid("alpha negative", s -> obj(s, "strategy").put("alpha", -0.5),
                        "spec.strategy.alpha", "greater than or equal to 0"),
                new Invalid("alpha and beta both zero", s -> obj(s, "strategy").put("alpha", 0).put("beta", 0),
                        "spec.strategy", "strategy.alpha and strategy.beta must not both be zero"),
                new Invalid("stepFraction above 0.5", s -> obj(s, "strategy").put("stepFraction", 0.6),
                        "spec.strategy.stepFraction", "less than or equal to 0.5"),
                new Invalid("stepFraction = 0", s -> obj(s, "strategy").put("stepFraction", 0),
                        "spec.strategy.stepFraction", "greater than 0"),
                new Invalid("stepGrowth below 1", s -> obj(s, "strategy").put("stepGrowth", 0.5),
                        "spec.strategy.stepGrowth", "greater than or equal to 1"),
                new Invalid("channelMultiple = 0", s -> obj(s, "strategy").put("channelMultiple", 0),
                        "spec.strategy.channelMultiple", "greater than or equal to 1"),
                new Invalid("criterion unknown", s -> obj(s, "strategy").put("criterion", "random"),
                        "spec.strategy.criterion", "Unsupported value: \"random\""),
                new Invalid("s3 model", s -> obj(s, "model").put("uri", "s3://models/cnn.onnx"),
                        "spec.model", "s3:// URIs are not supported"),
                new Invalid("idx dataset over https", s -> obj(s, "dataset").put("uri", "https://example.com/fashion-mnist")
                        .put("format", "idx"), "spec.dataset", "an idx dataset is a directory"),
                new Invalid("output.uri over http", s -> obj(s, "output").put("uri", "https://example.com/out"),
                        "spec.output.uri", "should match"),
                new Invalid("runDeadlineSeconds below 10", s -> s.put("runDeadlineSeconds", 5),
                        "spec.runDeadlineSeconds", "greater than or equal to 10"),
                new Invalid("learningRate = 0", s -> obj(obj(s, "strategy"), "fineTuning").put("learningRate", 0),
                        "spec.strategy.fineTuning.learningRate", "greater than 0"),
                new Invalid("serving batch 0", s -> s.putObject("serving").put("batchSize", 0),
                        "spec.serving.batchSize", "greater than or equal to 1"),
                new Invalid("serving batch above 4096", s -> s.putObject("serving").put("batchSize", 5000),
                        "spec.serving.batchSize", "less than or equal to 4096"),
                new Invalid("sequence length 0", s -> s.putObject("serving").put("sequenceLength", 0),
                        "spec.serving.sequenceLength", "greater than or equal to 1"),
                new Invalid("model credentials over plain http", s -> {
                    obj(s, "model").put("uri", "http://models.example.com/cnn.onnx");
                    obj(s, "model").putObject("secretRef").put("name", "model-token");
                }, "spec.model", "secretRef credentials are only sent over https://"),
                new Invalid("dataset credentials over plain http", s -> {
                    obj(s, "dataset").put("uri", "http://data.example.com/test.npz").put("format", "npz");
                    obj(s, "dataset").putObject("secretRef").put("name", "data-token");
                }, "spec.dataset", "secretRef credentials are only sent over https://"))
                .map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidPruningJobs")
    void invalidPruningJobIsRejectedNamingTheField(Invalid invalid) {
        ObjectNode pj = validPruningJob();
        invalid.breakSpec().accept((ObjectNode) pj.get("spec"));
        assertRejected(pj, invalid.messageParts());
    }

    static Stream<Arguments> invalidCompressionPolicies() {
        return Stream.of(
                new Invalid("selector missing", s -> s.remove("selector"), "spec.selector", "Required value"),
                new Invalid("selector empty", s -> s.putObject("selector"), "spec",
                        "spec.selector must name at least one label"),
                new Invalid("template missing", s -> s.remove("template"), "spec.template", "Required value"),
                new Invalid("template without dataset", s -> obj(s, "template").remove("dataset"), "spec.template.dataset",
                        "Required value"),
                new Invalid("template with both energy budgets", s -> obj(obj(s, "template"), "energyBudget")
                        .put("maxJoulesPerInference", 0.5), "spec.template.energyBudget",
                        "set exactly one of energyBudget.targetReduction and energyBudget.maxJoulesPerInference"),
                new Invalid("template output over http", s -> obj(obj(s, "template"), "output").put("uri", "http://x/out"),
                        "spec.template.output.uri", "should match"),
                new Invalid("parallelism 0", s -> s.put("parallelism", 0), "spec.parallelism", "greater than or equal to 1"),
                new Invalid("failureLimit 0", s -> s.put("failureLimit", 0), "spec.failureLimit", "greater than or equal to 1"),
                new Invalid("history limit negative", s -> s.put("successfulRunsHistoryLimit", -1),
                        "spec.successfulRunsHistoryLimit", "greater than or equal to 0"),
                new Invalid("epsilon above the guardrail", s -> obj(obj(s, "template"), "accuracy").put("epsilon", 0.05),
                        "spec", "spec.template.accuracy.epsilon exceeds spec.guardrails.maxEpsilon"),
                new Invalid("criterion outside the guardrail", s -> obj(s, "template").putObject("strategy")
                        .put("criterion", "magnitude"), "spec",
                        "spec.template.strategy.criterion (energy-aware when unset) is not one of spec.guardrails.allowedCriteria"),
                new Invalid("unset criterion outside the guardrail", s -> ((com.fasterxml.jackson.databind.node.ArrayNode)
                        obj(s, "guardrails").putArray("allowedCriteria")).add("knapsack"), "spec",
                        "is not one of spec.guardrails.allowedCriteria"),
                new Invalid("hardware classes by names and selector", s -> {
                    ObjectNode classes = s.putObject("hardwareClasses");
                    classes.putArray("names").add("h100");
                    classes.putObject("selector").putObject("matchLabels").put("tier", "gpu");
                }, "spec.hardwareClasses", "set exactly one of names and selector"),
                new Invalid("hardware class name not a name", s -> s.putObject("hardwareClasses").putArray("names").add("H100!"),
                        "spec.hardwareClasses.names[0]", "should match"))
                .map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidCompressionPolicies")
    void invalidCompressionPolicyIsRejectedNamingTheField(Invalid invalid) {
        ObjectNode policy = Resources.readYaml("examples/compressionpolicy.yaml");
        ((ObjectNode) policy.get("metadata")).put("name", "cp-" + UUID.randomUUID().toString().substring(0, 8));
        invalid.breakSpec().accept((ObjectNode) policy.get("spec"));
        assertRejected(policy, invalid.messageParts());
    }

    @Test
    void hardwareClassIdleAboveTdpIsRejected() {
        ObjectNode hwc = Resources.readYaml("examples/hardwareclass-h100.yaml");
        ((ObjectNode) hwc.get("metadata")).put("name", "bad-" + UUID.randomUUID().toString().substring(0, 8));
        ((ObjectNode) hwc.at("/spec/energyModel")).put("idleWatts", 800);
        assertRejected(hwc, "spec.energyModel", "energyModel.idleWatts must be lower than energyModel.tdpWatts");
    }

    @Test
    void inferenceDeploymentWithBadSha256IsRejected() {
        ObjectNode infd = Resources.readYaml("examples/inferencedeployment.yaml");
        ((ObjectNode) infd.at("/spec/model")).put("sha256", "not-a-digest");
        assertRejected(infd, "spec.model.sha256", "should match");
    }

    @Test
    void pruningJobNameThatCannotBeALabelValueIsRejected() {
        ObjectNode pj = validPruningJob();
        ((ObjectNode) pj.get("metadata")).put("name", "a".repeat(64));
        assertRejected(pj, "metadata.name must be at most 63 characters");
    }

    @ParameterizedTest
    @ValueSource(strings = {"v1.2-cnn", "1cnn", "cnn-"})
    void inferenceDeploymentNameThatCannotNameAServiceIsRejected(String name) {
        ObjectNode infd = Resources.readYaml("examples/inferencedeployment.yaml");
        ((ObjectNode) infd.get("metadata")).put("name", name);
        assertRejected(infd, "metadata.name must be a DNS-1035 label");
    }

    @Test
    void inferenceDeploymentCredentialsOverPlainHttpAreRejected() {
        ObjectNode infd = Resources.readYaml("examples/inferencedeployment.yaml");
        ((ObjectNode) infd.at("/spec/model")).put("uri", "http://models.example.com/cnn.onnx").putObject("secretRef")
                .put("name", "model-token");
        assertRejected(infd, "spec.model", "secretRef credentials are only sent over https://");
    }

    @Test
    void hardwareClassPolicyFieldsAreValidated() {
        ObjectNode hwc = Resources.readYaml("examples/hardwareclass-h100.yaml");
        ((ObjectNode) hwc.get("metadata")).put("name", "bad-" + UUID.randomUUID().toString().substring(0, 8));
        ((ObjectNode) hwc.get("spec")).put("maxConcurrentRuns", 0);
        assertRejected(hwc, "spec.maxConcurrentRuns", "greater than or equal to 1");
        ((ObjectNode) hwc.get("spec")).remove("maxConcurrentRuns");
        ((ObjectNode) hwc.get("spec")).putArray("allowedNamespaces").add("Team_A");
        assertRejected(hwc, "spec.allowedNamespaces[0]", "should match");
        ((ObjectNode) hwc.get("spec")).remove("allowedNamespaces");
        ((ObjectNode) hwc.get("spec")).putArray("allowedImages").add("registry.example.com/*/server");
        assertRejected(hwc, "spec.allowedImages[0]", "should match");
    }

    @Test
    void statusIsWrittenOnlyThroughTheStatusSubresource() {
        ObjectNode pj = validPruningJob();
        pj.putObject("status").put("phase", "Succeeded");
        GenericKubernetesResource created = create(pj);
        assertThat(created.getAdditionalProperties()).doesNotContainKey("status");

        var resource = client.genericKubernetesResources("pollard.dev/v1alpha1", "PruningJob")
                .inNamespace(namespace).withName(created.getMetadata().getName());
        // a plain update carrying a status leaves the status alone
        GenericKubernetesResource withStatus = resource.get();
        withStatus.setAdditionalProperty("status", java.util.Map.of("phase", "Succeeded"));
        client.genericKubernetesResources("pollard.dev/v1alpha1", "PruningJob").inNamespace(namespace)
                .resource(withStatus).update();
        assertThat(resource.get().getAdditionalProperties()).doesNotContainKey("status");

        // through the subresource it is accepted
        GenericKubernetesResource latest = resource.get();
        latest.setAdditionalProperty("status", java.util.Map.of("phase", "Pending", "observedGeneration", 1));
        client.genericKubernetesResources("pollard.dev/v1alpha1", "PruningJob").inNamespace(namespace)
                .resource(latest).updateStatus();
        assertThat(resource.get().get("status", "phase").toString()).isEqualTo("Pending");

        // and the subresource validates too: an unknown phase is refused
        GenericKubernetesResource bad = resource.get();
        bad.setAdditionalProperty("status", java.util.Map.of("phase", "Exploded"));
        assertThatThrownBy(() -> client.genericKubernetesResources("pollard.dev/v1alpha1", "PruningJob")
                .inNamespace(namespace).resource(bad).updateStatus())
                .isInstanceOf(KubernetesClientException.class).hasMessageContaining("status.phase");
    }

    @Test
    void kubectlExplainShowsTheDescriptions() throws Exception {
        Path kubeconfig = Files.createTempFile("kubeconfig", ".yaml");
        Files.writeString(kubeconfig, RealApiServer.kubeConfigYaml());
        Process kubectl = new ProcessBuilder(RealApiServer.binaryDir().resolve("kubectl").toString(),
                "--kubeconfig", kubeconfig.toString(), "explain", "pruningjob.spec.energyBudget")
                .redirectErrorStream(true).start();
        String out = new String(kubectl.getInputStream().readAllBytes());
        assertThat(kubectl.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(kubectl.exitValue()).as(out).isZero();
        assertThat(out).contains("How much energy per inference the pruned model may use.")
                .contains("targetReduction").contains("Fraction T of the baseline energy per inference");
        Files.delete(kubeconfig);
    }

    private static ObjectNode validPruningJob() {
        ObjectNode pj = Resources.readYaml("examples/pruningjob.yaml");
        ((ObjectNode) pj.get("metadata")).put("name", "pj-" + UUID.randomUUID().toString().substring(0, 8));
        return pj;
    }

    private static ObjectNode obj(ObjectNode parent, String field) {
        return (ObjectNode) parent.get(field);
    }

    private static GenericKubernetesResource create(ObjectNode resource) {
        GenericKubernetesResource r = Resources.YAML.convertValue(resource, GenericKubernetesResource.class);
        var op = client.genericKubernetesResources(resource.get("apiVersion").asText(), resource.get("kind").asText());
        return "HardwareClass".equals(r.getKind()) ? op.resource(r).create() : op.inNamespace(namespace).resource(r).create();
    }

    private static void assertRejected(ObjectNode resource, String... messageParts) {
        assertThatThrownBy(() -> create(resource))
                .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
                    assertThat(e.getCode()).isEqualTo(422);
                    assertThat(e.getMessage()).contains(List.of(messageParts));
                });
    }
}
