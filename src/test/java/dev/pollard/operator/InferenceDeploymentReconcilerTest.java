package dev.pollard.operator;

import static dev.pollard.testing.Waits.REACTION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pollard.api.HardwareClass;
import dev.pollard.api.InferenceDeployment;
import dev.pollard.api.InferenceDeploymentSpec;
import dev.pollard.api.InferenceDeploymentStatus;
import dev.pollard.api.PruningJob;
import dev.pollard.api.PruningJobStatus;
import dev.pollard.testing.RealApiServer;
import dev.pollard.testing.RefusedWrites;
import dev.pollard.testing.Resources;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;
import io.javaoperatorsdk.operator.Operator;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The InferenceDeployment reconciler against a real kube-apiserver (no kubelet here: readiness is reported by hand). */
class InferenceDeploymentReconcilerTest {
    private static KubernetesClient client;
    /** The operator's own client, which notes every request it sends ("PATCH /apis/..."). */
    private static KubernetesClient operatorClient;
    private static final Queue<String> operatorRequests = new ConcurrentLinkedQueue<>();
    /** Namespaces whose Service writes the operator's client holds, the way a busy API server does, until released. */
    private static final Map<String, CountDownLatch> heldServiceWrites = new ConcurrentHashMap<>();
    private static Operator operator;
    private static String hardwareClass;

    @BeforeAll
    static void startOperator() {
        client = RealApiServer.adminClient();
        Resources.installCrds(client);
        hardwareClass = "gpu-" + UUID.randomUUID().toString().substring(0, 8);
        HardwareClass hwc = client.getKubernetesSerialization()
                .convertValue(Resources.readYaml("examples/hardwareclass-h100.yaml"), HardwareClass.class);
        hwc.getMetadata().setName(hardwareClass);
        client.resource(hwc).create();
        operatorClient = new KubernetesClientBuilder().withConfig(client.getConfiguration())
                .withHttpClientBuilderConsumer(http -> http.addOrReplaceInterceptor("requests", new Interceptor() {
                    @Override
                    public void before(BasicBuilder builder, HttpRequest request, RequestTags tags) {
                        String path = request.uri().getPath();
                        operatorRequests.add(request.method() + " " + path);
                        heldServiceWrites.forEach((namespace, release) -> {
                            if (!request.method().equals("GET") && path.startsWith("/api/v1/namespaces/" + namespace + "/services")) {
                                try {
                                    release.await();
                                } catch (InterruptedException e) {
                                    Thread.currentThread().interrupt();
                                }
                            }
                        });
                    }
                })).build();
        operator = new Operator(o -> o.withKubernetesClient(operatorClient).withCloseClientOnStop(false));
        operator.register(new InferenceDeploymentReconciler(OperatorSettings.fromEnvironment()));
        operator.start();
    }

    @AfterAll
    static void stopOperator() {
        operator.stop();
        operatorClient.close();
        client.resources(HardwareClass.class).withName(hardwareClass).delete();
        client.close();
    }

    private static InferenceDeployment example(String namespace) {
        InferenceDeployment infd = client.getKubernetesSerialization()
                .convertValue(Resources.readYaml("examples/inferencedeployment.yaml"), InferenceDeployment.class);
        infd.getMetadata().setNamespace(namespace);
        infd.getSpec().hardwareClass = hardwareClass;
        return infd;
    }

    @Test
    void rendersARestrictedGpuDeploymentAndReportsReadinessAndTheServedModel() {
        String namespace = RealApiServer.newNamespace(client, "serve");
        InferenceDeployment infd = client.resource(example(namespace)).create();
        String sha = infd.getSpec().model.sha256;

        Deployment deployment = await().atMost(REACTION).until(
                () -> client.apps().deployments().inNamespace(namespace).withName("fashion-cnn").get(), d -> d != null);
        var pod = deployment.getSpec().getTemplate().getSpec();
        var container = pod.getContainers().get(0);
        assertThat(container.getArgs()).containsSequence("--sha256", sha).containsSequence("--model", "/pollard/model/fashion-cnn/model.onnx");
        assertThat(container.getResources().getLimits()).containsEntry("nvidia.com/gpu", new Quantity("1"));
        assertThat(pod.getNodeSelector()).containsEntry("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3")
                .containsEntry("pollard.dev/pool", "gpu");
        assertThat(pod.getTolerations()).extracting(t -> t.getKey()).contains("nvidia.com/gpu");
        assertThat(pod.getRuntimeClassName()).isEqualTo("nvidia");
        assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(container.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(pod.getVolumes()).anySatisfy(v -> {
            assertThat(v.getPersistentVolumeClaim().getClaimName()).isEqualTo("pollard-models");
            assertThat(v.getPersistentVolumeClaim().getReadOnly()).isTrue();
        });
        assertThat(deployment.getMetadata().getOwnerReferences()).extracting(o -> o.getKind()).containsExactly("InferenceDeployment");
        assertThat(client.services().inNamespace(namespace).withName("fashion-cnn").get().getSpec().getPorts().get(0).getPort())
                .isEqualTo(8080);
        await().atMost(REACTION).untilAsserted(() -> assertThat(ready(namespace).getReason())
                .isEqualTo(Reason.RollingOut.name()));

        // what the deployment controller and kubelets would report once both replicas serve
        client.apps().deployments().inNamespace(namespace).withName("fashion-cnn").editStatus(d -> {
            d.setStatus(new DeploymentStatusBuilder().withObservedGeneration(d.getMetadata().getGeneration())
                    .withReplicas(2).withUpdatedReplicas(2).withReadyReplicas(2).withAvailableReplicas(2).build());
            return d;
        });
        await().atMost(REACTION).untilAsserted(() -> {
            InferenceDeploymentStatus seen = status(namespace);
            assertThat(Conditions.find(seen.conditions, Conditions.READY).orElseThrow().getStatus()).isEqualTo("True");
            assertThat(seen.servedModel.sha256).isEqualTo(sha);
            assertThat(seen.servedModel.origin).isEqualTo("Source");
            assertThat(seen.modelDigest).isEqualTo("sha256:" + sha.substring(0, 12));
            assertThat(seen.readyReplicas).isEqualTo(2);
        });
    }

    @Test
    void aServedDeploymentIsWrittenOnceNotAgainOnEveryChangeOfItsStatus() {
        String namespace = RealApiServer.newNamespace(client, "writes");
        client.resource(example(namespace)).create();
        rolledOut(namespace); // the Deployment's status changes wake the reconciler, which compares it with what it wants
        await().atMost(REACTION).untilAsserted(() -> assertThat(ready(namespace).getStatus()).isEqualTo("True"));

        // a desired state the API server fills in differently (a defaulted field) never matched, and was applied each time
        assertThat(operatorRequests).filteredOn(
                ("PATCH /apis/apps/v1/namespaces/" + namespace + "/deployments/fashion-cnn")::equals).hasSize(1);
    }

    @Test
    void aServiceTheApiServerIsSlowToWriteHoldsNoReconciliation() {
        String namespace = RealApiServer.newNamespace(client, "slow-service");
        CountDownLatch release = new CountDownLatch(1);
        heldServiceWrites.put(namespace, release);
        try {
            client.resource(example(namespace)).create();
            // the reconciliation ends while the Service is still being written: its Deployment and status are there
            rolledOut(namespace);
            await().atMost(REACTION).untilAsserted(() -> assertThat(ready(namespace).getStatus()).isEqualTo("True"));
            assertThat(client.services().inNamespace(namespace).withName("fashion-cnn").get()).isNull();
        } finally {
            release.countDown();
            heldServiceWrites.remove(namespace);
        }
        await().atMost(REACTION).until(() -> client.services().inNamespace(namespace).withName("fashion-cnn").get() != null);
        assertThat(operatorRequests).filteredOn(
                ("PATCH /api/v1/namespaces/" + namespace + "/services/fashion-cnn")::equals).hasSize(1);
    }

    @Test
    void aFileUriIsRefusedWithAReasonNamingTheField() {
        String namespace = RealApiServer.newNamespace(client, "serve-bad");
        InferenceDeployment infd = example(namespace);
        infd.getSpec().model.uri = "file:///models/cnn.onnx";
        client.resource(infd).create();
        await().atMost(REACTION).untilAsserted(() -> {
            Condition ready = ready(namespace);
            assertThat(ready.getReason()).isEqualTo(Reason.InvalidSpec.name());
            assertThat(ready.getMessage()).startsWith("spec.model.uri: file:// URIs only work for local runs");
        });
        assertThat(client.apps().deployments().inNamespace(namespace).withName("fashion-cnn").get()).isNull();
        // the Event follows the status
        await().atMost(REACTION).untilAsserted(() -> assertThat(client.v1().events().inNamespace(namespace).list().getItems())
                .anySatisfy(e -> assertThat(e.getReason()).isEqualTo(Reason.InvalidSpec.name())));
    }

    @Test
    void waitsForItsHardwareClassBeforeDeploying() {
        String namespace = RealApiServer.newNamespace(client, "serve-wait");
        InferenceDeployment infd = example(namespace);
        infd.getSpec().hardwareClass = "absent-" + UUID.randomUUID().toString().substring(0, 8);
        client.resource(infd).create();
        await().atMost(REACTION).untilAsserted(() -> assertThat(ready(namespace).getReason())
                .isEqualTo(Reason.HardwareClassNotFound.name()));
        assertThat(client.apps().deployments().inNamespace(namespace).withName("fashion-cnn").get()).isNull();
    }

    @Test
    void servesTheNewestPrunedResultOfItsOwnSourceAndNeverWritesItsSpec() {
        String namespace = RealApiServer.newNamespace(client, "serve-pruned");
        InferenceDeployment infd = client.resource(example(namespace)).create();
        String source = infd.getSpec().model.sha256;
        rolledOut(namespace);
        await().atMost(REACTION).untilAsserted(() -> {
            InferenceDeploymentStatus status = status(namespace);
            assertThat(status.servedModel).isNotNull();
            assertThat(status.servedModel.origin).isEqualTo("Source");
            assertThat(status.rolloutModel).isNull();
        });

        // results offered by a PruningJob: one for another source model, one for this source on another class, one
        // that fits; only the last may be served
        PruningJob pj = client.getKubernetesSerialization().convertValue(Resources.readYaml("examples/pruningjob.yaml"),
                PruningJob.class);
        pj.getMetadata().setNamespace(namespace);
        client.resource(pj).create();
        client.resources(PruningJob.class).inNamespace(namespace).withName("fashion-cnn").editStatus(p -> {
            p.setStatus(new PruningJobStatus());
            p.getStatus().resultsByHardware = List.of(result("c".repeat(64), hardwareClass, "d".repeat(64), "run-old-source"),
                    result(source, "another-class", "e".repeat(64), "run-other-class"),
                    result(source, hardwareClass, "f".repeat(64), "run-fits"));
            return p;
        });
        // rolled out first: the source stays the served model until every replica runs the pruned one
        await().atMost(REACTION).untilAsserted(() -> {
            InferenceDeploymentStatus status = status(namespace);
            assertThat(status.rolloutModel).isNotNull();
            assertThat(status.rolloutModel.sha256).isEqualTo("f".repeat(64));
            assertThat(status.rolloutModel.origin).isEqualTo("PruningJob");
            assertThat(status.rolloutModel.pruningJob).isEqualTo("fashion-cnn");
            assertThat(status.rolloutModel.run).isEqualTo("run-fits");
            assertThat(status.servedModel.sha256).isEqualTo(source);
            assertThat(ready(namespace).getReason()).isEqualTo(Reason.RollingOut.name());
            var container = client.apps().deployments().inNamespace(namespace).withName("fashion-cnn").get().getSpec()
                    .getTemplate().getSpec().getContainers().get(0);
            assertThat(container.getArgs()).containsSequence("--sha256", "f".repeat(64))
                    .containsSequence("--model", "/pollard/model/fashion-cnn/pruned-h100/run-fits/model.onnx");
        });
        rolledOut(namespace);
        await().atMost(REACTION).untilAsserted(() -> {
            InferenceDeploymentStatus status = status(namespace);
            assertThat(status.servedModel).isNotNull();
            assertThat(status.servedModel.sha256).isEqualTo("f".repeat(64));
            assertThat(status.previousModel.sha256).isEqualTo(source);
            assertThat(status.rolloutModel).isNull();
        });
        await().atMost(REACTION).untilAsserted(() -> assertThat(client.v1().events().inNamespace(namespace).list().getItems())
                .anySatisfy(e -> assertThat(e.getReason()).isEqualTo(Reason.ServedModelChanged.name())));
        // the spec is as its owner wrote it, and only its owner manages it
        InferenceDeployment now = get(namespace);
        assertThat((Object) Resources.YAML.valueToTree(now.getSpec())).isEqualTo(Resources.YAML.valueToTree(infd.getSpec()));
        assertThat(now.getMetadata().getManagedFields()).filteredOn(f -> f.getFieldsV1() != null
                && f.getFieldsV1().getAdditionalProperties().containsKey("f:spec"))
                .extracting(f -> f.getManager()).containsOnly(infd.getMetadata().getManagedFields().get(0).getManager());

        // the owner opts out: the source is rolled out again
        client.resources(InferenceDeployment.class).inNamespace(namespace).withName("fashion-cnn").edit(i -> {
            i.getSpec().compression = new InferenceDeploymentSpec.Compression();
            i.getSpec().compression.enabled = false;
            return i;
        });
        await().atMost(REACTION).untilAsserted(() -> {
            assertThat(status(namespace).rolloutModel).isNotNull();
            assertThat(status(namespace).rolloutModel.sha256).isEqualTo(source);
        });
    }

    @Test
    void aHardwareClassGoingAwayNeverTakesServingDown() {
        String namespace = RealApiServer.newNamespace(client, "serve-class-gone");
        String gone = createHardwareClass("gone", spec -> { });
        InferenceDeployment infd = example(namespace);
        infd.getSpec().hardwareClass = gone;
        client.resource(infd).create();
        rolledOut(namespace);
        await().atMost(REACTION).untilAsserted(() -> assertThat(ready(namespace).getStatus()).isEqualTo("True"));
        Deployment serving = client.apps().deployments().inNamespace(namespace).withName("fashion-cnn").get();

        client.resources(HardwareClass.class).withName(gone).withTimeout(1, java.util.concurrent.TimeUnit.MINUTES).delete();
        // the reconciliation that writes this would have deleted the Deployment before writing it
        await().atMost(REACTION).untilAsserted(() -> {
            Condition stalled = Conditions.find(status(namespace).conditions, "Stalled").orElseThrow();
            assertThat(stalled.getReason()).isEqualTo(Reason.HardwareClassNotFound.name());
            assertThat(stalled.getMessage()).contains("pods already running keep serving");
        });
        Deployment after = client.apps().deployments().inNamespace(namespace).withName("fashion-cnn").get();
        assertThat(after.getMetadata().getUid()).isEqualTo(serving.getMetadata().getUid());
        assertThat(after.getMetadata().getDeletionTimestamp()).isNull();
        assertThat(after.getMetadata().getGeneration()).isEqualTo(serving.getMetadata().getGeneration());
        assertThat(client.services().inNamespace(namespace).withName("fashion-cnn").get()).isNotNull();
    }

    @Test
    void theHardwareClassDecidesWhichNamespacesAndImagesMayUseIt() {
        String namespace = RealApiServer.newNamespace(client, "serve-policy");
        String guarded = createHardwareClass("guarded", spec -> spec.allowedNamespaces = List.of("team-gpu"));
        InferenceDeployment infd = example(namespace);
        infd.getSpec().hardwareClass = guarded;
        infd.getSpec().runtime = new InferenceDeploymentSpec.Runtime();
        infd.getSpec().runtime.image = "registry.example.com/serving/miner:1";
        client.resource(infd).create();
        awaitStalled(namespace, Reason.HardwareClassNotAllowed, "does not allow namespace '" + namespace + "'");
        assertThat(client.apps().deployments().inNamespace(namespace).withName("fashion-cnn").get()).isNull();

        editHardwareClass(guarded, spec -> spec.allowedNamespaces = List.of("team-gpu", namespace));
        awaitStalled(namespace, Reason.ImageNotAllowed, "spec.runtime.image 'registry.example.com/serving/miner:1' is not "
                + "allowed: HardwareClass '" + guarded + "' does not list it in spec.allowedImages");
        assertThat(client.apps().deployments().inNamespace(namespace).withName("fashion-cnn").get()).isNull();

        editHardwareClass(guarded, spec -> spec.allowedImages = List.of("registry.example.com/serving/*"));
        Deployment deployment = await().atMost(REACTION).until(
                () -> client.apps().deployments().inNamespace(namespace).withName("fashion-cnn").get(), d -> d != null);
        assertThat(deployment.getSpec().getTemplate().getSpec().getContainers().get(0).getImage())
                .isEqualTo("registry.example.com/serving/miner:1");

        // without a class, no admin has allowed any other image
        String classless = RealApiServer.newNamespace(client, "serve-classless");
        InferenceDeployment cpu = example(classless);
        cpu.getSpec().hardwareClass = null;
        cpu.getSpec().runtime = infd.getSpec().runtime;
        client.resource(cpu).create();
        awaitStalled(classless, Reason.ImageNotAllowed, "without spec.hardwareClass only the operator's image runs");
        assertThat(client.apps().deployments().inNamespace(classless).withName("fashion-cnn").get()).isNull();
    }

    @ParameterizedTest
    @CsvSource({"apps, deployments", "'', services"})
    void aRefusedWriteIsRetriedUntilServingStarts(String group, String resource) {
        String namespace = RealApiServer.newNamespace(client, "refused-" + resource);
        // an admission policy that refuses every write of the kind in the namespace: a fault of the API server's, for a while
        try (RefusedWrites frozen = RefusedWrites.of(client, namespace, group, resource,
                resource + " are frozen in " + namespace)) {
            frozen.awaitRefusing(() -> client.resource(probe(namespace, resource)).dryRun().create());
            client.resource(example(namespace)).create();
            await().atMost(REACTION).untilAsserted(() -> {
                Condition ready = ready(namespace);
                assertThat(ready.getReason()).isEqualTo(Reason.ReconcileError.name());
                assertThat(ready.getMessage()).contains(resource + " are frozen in " + namespace).endsWith("(retrying)");
            });
        }
        rolledOut(namespace);
        await().atMost(REACTION).untilAsserted(() -> assertThat(ready(namespace).getStatus()).isEqualTo("True"));
        await().atMost(REACTION).until(() -> client.services().inNamespace(namespace).withName("fashion-cnn").get() != null);
    }

    /** A Service or Deployment to try writing while they are refused. */
    private static io.fabric8.kubernetes.api.model.HasMetadata probe(String namespace, String resource) {
        return resource.equals("services")
                ? new io.fabric8.kubernetes.api.model.ServiceBuilder().withNewMetadata().withName("probe")
                        .withNamespace(namespace).endMetadata().withNewSpec().addNewPort().withPort(80).endPort().endSpec().build()
                : new io.fabric8.kubernetes.api.model.apps.DeploymentBuilder().withNewMetadata().withName("probe")
                        .withNamespace(namespace).endMetadata().withNewSpec().withNewSelector().addToMatchLabels("app", "probe")
                        .endSelector().withNewTemplate().withNewMetadata().addToLabels("app", "probe").endMetadata().withNewSpec()
                        .addNewContainer().withName("c").withImage("probe").endContainer().endSpec().endTemplate().endSpec().build();
    }

    private static void awaitStalled(String namespace, Reason reason, String message) {
        await().atMost(REACTION).untilAsserted(() -> {
            Condition stalled = Conditions.find(status(namespace).conditions, "Stalled").orElseThrow();
            assertThat(stalled.getStatus()).isEqualTo("True");
            assertThat(stalled.getReason()).isEqualTo(reason.name());
            assertThat(stalled.getMessage()).contains(message);
        });
    }

    private static String createHardwareClass(String prefix, java.util.function.Consumer<dev.pollard.api.HardwareClassSpec> policy) {
        HardwareClass hwc = client.getKubernetesSerialization()
                .convertValue(Resources.readYaml("examples/hardwareclass-h100.yaml"), HardwareClass.class);
        hwc.getMetadata().setName(prefix + "-" + UUID.randomUUID().toString().substring(0, 8));
        policy.accept(hwc.getSpec());
        client.resource(hwc).create();
        return hwc.getMetadata().getName();
    }

    private static void editHardwareClass(String name, java.util.function.Consumer<dev.pollard.api.HardwareClassSpec> change) {
        client.resources(HardwareClass.class).withName(name).edit(h -> {
            change.accept(h.getSpec());
            return h;
        });
    }

    /** What the Deployment controller reports once every replica of the current template is ready. */
    private static void rolledOut(String namespace) {
        await().atMost(REACTION).untilAsserted(() -> assertThat(client.apps().deployments().inNamespace(namespace)
                .withName("fashion-cnn").get()).isNotNull());
        client.apps().deployments().inNamespace(namespace).withName("fashion-cnn").editStatus(d -> {
            d.setStatus(new DeploymentStatusBuilder().withObservedGeneration(d.getMetadata().getGeneration())
                    .withReplicas(2).withUpdatedReplicas(2).withReadyReplicas(2).withAvailableReplicas(2).build());
            return d;
        });
    }

    private static PruningJobStatus.HardwareResult result(String sourceSha, String hardware, String sha, String run) {
        PruningJobStatus.HardwareResult r = new PruningJobStatus.HardwareResult();
        r.hardwareClass = hardware;
        r.sourceSha256 = sourceSha;
        r.jobName = run;
        r.completionTime = "2026-12-02T10:00:00Z";
        r.artifact = new PruningJobStatus.Artifact();
        r.artifact.uri = "pvc://pollard-models/fashion-cnn/pruned-h100/" + run + "/model.onnx";
        r.artifact.sha256 = sha;
        return r;
    }

    /** The status, asserted to be written (so that awaitility polls again until it is). */
    private static InferenceDeploymentStatus status(String namespace) {
        InferenceDeploymentStatus status = get(namespace).getStatus();
        assertThat(status).as("status written").isNotNull();
        return status;
    }

    private static InferenceDeployment get(String namespace) {
        return client.resources(InferenceDeployment.class).inNamespace(namespace).withName("fashion-cnn").get();
    }

    private static Condition ready(String namespace) {
        InferenceDeployment infd = get(namespace);
        assertThat(infd.getStatus()).isNotNull();
        return Conditions.find(infd.getStatus().conditions, Conditions.READY).orElseThrow();
    }
}
