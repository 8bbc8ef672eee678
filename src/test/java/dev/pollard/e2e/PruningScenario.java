package dev.pollard.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pollard.api.HardwareClass;
import dev.pollard.api.InferenceDeployment;
import dev.pollard.api.InferenceDeploymentSpec;
import dev.pollard.api.PruningJob;
import dev.pollard.api.PruningJobStatus;
import dev.pollard.operator.Conditions;
import dev.pollard.operator.Reason;
import dev.pollard.testing.RealApiServer;
import dev.pollard.testing.Resources;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The whole path, the same on every cluster a subclass provides: the example PruningJob becomes a Job, the scheduler
 * binds its pod to a GPU-labelled node, {@code pollard prune} runs there, the operator is killed in the middle of the
 * run and adopts the Job when it is back, copies the worker's report into status, and the InferenceDeployment serves the
 * pruned model; a change of the HardwareClass prunes again and moves the deployment to the new model.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class PruningScenario {
    private static final Duration RUN = LocalCluster.PATIENCE;
    protected KubernetesClient client;
    private PruningJobStatus firstRun;
    private InferenceDeploymentSpec.ServedModel source;

    /** Starts the cluster, its GPU-labelled node and the operator; returns a client with admin rights. */
    protected abstract KubernetesClient startCluster() throws Exception;

    protected abstract void stopCluster() throws Exception;

    @BeforeAll
    void prepare() throws Exception {
        client = startCluster();
        provideClaims("default");
        createHardwareClass();
        // the example deployment: it serves its source model until a result pruned from that model is offered to it
        InferenceDeployment infd = client.getKubernetesSerialization().convertValue(
                Resources.readYaml("examples/inferencedeployment.yaml"), InferenceDeployment.class);
        infd.getMetadata().setNamespace("default");
        source = client.resource(infd).create().getSpec().model;
    }

    @AfterAll
    void cleanUp() throws Exception {
        stopCluster();
    }

    /** The node pods of a run go to. */
    protected abstract String nodeName();

    /** Claims pollard-models and pollard-data in the namespace; in "default" they hold the example's model and data. */
    protected abstract void provideClaims(String namespace) throws Exception;

    /** The sha256 of a file a run wrote, by its pvc:// URI. */
    protected abstract String sha256(String pvcUri) throws Exception;

    /** The operator dies at once, without a chance to clean up. */
    protected abstract void killOperator() throws Exception;

    /** The operator comes back (a restarted process, or the pod its Deployment recreates). */
    protected abstract void restartOperator() throws Exception;

    /** Whether the operator runs, and has not crash-looped, with its log for messages. */
    protected abstract void assertOperatorHealthy() throws Exception;

    /** A kubeconfig file for kubectl. */
    protected abstract Path kubeconfig() throws Exception;

    /** Where the test reaches a pod's port. */
    protected abstract URI reach(Pod pod, int port) throws Exception;

    /**
     * Holds the worker of the next run in the namespace where it has published progress with arguments {@code when}
     * accepts (phase, iteration, joules, accuracy), its progress endpoint still answering and its answers counted
     * ({@code calls("respond")}); empty where the cluster cannot hold a process.
     */
    protected abstract Optional<ThreadHold> holdWorker(String namespace, Predicate<List<Object>> when);


    /** The example class as shipped, but metered by its datasheet model: the test nodes have no NVIDIA driver. */
    protected void createHardwareClass() {
        client.resource(client.getKubernetesSerialization().convertValue(
                Resources.readYaml("examples/local/hardwareclass-h100.yaml"), HardwareClass.class)).create();
    }

    @Test
    @Order(1)
    void theExampleRunSurvivesAnOperatorKillAndItsModelIsServed() throws Exception {
        // a broken PruningJob beside it, to show one failing run does not disturb the others
        PruningJob broken = createExample("missing", pj -> {
            pj.getSpec().model.uri = "pvc://pollard-models/nowhere/model.onnx";
            pj.getSpec().deployTo = null;
        });
        // the worker stops, its progress server still answering, once it has published the first pruning step's
        // progress: what follows happens mid-run on any machine, however fast the run would otherwise be
        Optional<ThreadHold> hold = holdWorker("default", args -> "Pruning".equals(args.get(0))
                && args.get(1) instanceof Integer iteration && iteration >= 1);
        createExample("default", pj -> {
            pj.getSpec().dataset.evaluationSamples = 2000; // keep the run short; the rest is the example as shipped
            pj.getSpec().strategy.fineTuning.stepsPerIteration = 40;
            pj.getSpec().accuracy.epsilon = 0.03;
        });
        Job running = awaitOneJob("default");

        if (hold.isPresent()) {
            hold.get().awaitHeld(RUN);
            // progress reaches status while the worker runs
            await().atMost(RUN).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                PruningJobStatus status = status("default");
                assertThat(status).isNotNull();
                assertThat(status.phase).as("%s", status.conditions).isEqualTo(PruningJobStatus.Phase.PRUNING);
                assertThat(status.progress).isNotNull();
                assertThat(status.progress.iteration).isGreaterThanOrEqualTo(1);
                assertThat(status.progress.accuracy).isNotNull();
                assertThat(status.progress.joulesPerInference).isNotNull();
            });
            String table = kubectl("get", "pj", "fashion-cnn", "-n", "default");
            assertThat(table.lines().findFirst().orElseThrow()).contains("PHASE", "ITERATION", "JOULES", "ACCURACY");
            assertThat(table).contains("Pruning");
        }
        // the operator dies without warning, mid-run
        killOperator();
        if (hold.isPresent()) {
            assertThat(onlyJob("default").getStatus().getSucceeded()).as("the run is held mid-flight").isNull();
        }
        int answeredBefore = hold.map(h -> h.calls("respond")).orElse(0);
        restartOperator();
        if (hold.isPresent()) {
            // the restarted operator has found the run's pod and asked it for progress: it adopted the run rather than
            // starting another (one Job, one pod)
            await().atMost(RUN).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                    assertThat(hold.get().calls("respond")).isGreaterThan(answeredBefore));
            assertThat(onlyJob("default").getMetadata().getUid()).isEqualTo(running.getMetadata().getUid());
            assertThat(runPods("default", running)).hasSize(1);
            hold.get().release();
        }

        await().atMost(RUN).pollInterval(Duration.ofSeconds(2)).untilAsserted(() ->
                assertThat(status("default").phase).as("%s", status("default").conditions)
                        .isEqualTo(PruningJobStatus.Phase.SUCCEEDED));
        PruningJobStatus status = status("default");
        assertThat(onlyJob("default").getMetadata().getUid()).isEqualTo(running.getMetadata().getUid());
        assertThat(runPods("default", running)).hasSize(1);
        assertThat(status.jobName).isEqualTo(running.getMetadata().getName());
        assertThat(status.conditions.get(0).getStatus()).isEqualTo("True");
        assertThat(status.ratios.energyReduction).isGreaterThanOrEqualTo(0.4);
        // a drop of exactly epsilon is allowed; the margin absorbs the rounding of a difference of two accuracies
        assertThat(status.baseline.accuracy - status.result.accuracy).isLessThanOrEqualTo(0.03 + 1e-9);
        assertThat(status.baseline.meter).isEqualTo("analytical");
        assertThat(status.hardware.node).isEqualTo(nodeName());
        assertThat(status.hardware.batchSize).as("the example's serving batch, measured at").isEqualTo(32);
        assertThat(status.iterations).isNotEmpty();
        assertThat(status.artifact.uri).isEqualTo("pvc://pollard-models/fashion-cnn/pruned-h100/" + running.getMetadata().getName()
                + "/model.onnx");
        assertThat(status.artifact.sha256).isEqualTo(sha256(status.artifact.uri));
        firstRun = status;

        // the broken one failed for good with the URI in its reason, without retries or a crash-looping operator
        await().atMost(RUN).untilAsserted(() -> {
            PruningJobStatus failed = status(broken.getMetadata().getNamespace());
            assertThat(failed.phase).isEqualTo(PruningJobStatus.Phase.FAILED);
            assertThat(failed.conditions.get(0).getReason()).isEqualTo(Reason.RunFailed.name());
            assertThat(failed.conditions.get(0).getMessage())
                    .contains("model pvc://pollard-models/nowhere/model.onnx: ").contains("no such file");
        });
        assertThat(client.pods().inNamespace("missing").list().getItems()).hasSize(1);
        assertOperatorHealthy();

        infer(awaitServing(status.artifact));
    }

    @Test
    @Order(2)
    void aChangedHardwareClassPrunesAgainAndTheDeploymentMovesToTheNewModel() throws Exception {
        assertThat(firstRun).as("needs the first run").isNotNull();
        // far slower arithmetic: at the serving batch (32) computing now costs more than moving bytes, so other
        // channels go first (a slower memory system would not do: at that batch the weights' traffic is shared, and
        // the same channels stay the cheapest to lose); a merge patch, not a read-modify-write that the operator's
        // status write in between would make fail with 409
        client.resources(HardwareClass.class).withName("h100").patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"spec\":{\"energyModel\":{\"peakTflops\":1.0}}}");
        await().atMost(RUN).pollInterval(Duration.ofSeconds(2)).untilAsserted(() -> {
            PruningJobStatus status = status("default");
            assertThat(status.jobName).isNotEqualTo(firstRun.jobName);
            assertThat(status.phase).as("%s", status.conditions).isEqualTo(PruningJobStatus.Phase.SUCCEEDED);
        });
        PruningJobStatus status = status("default");
        assertThat(status.hardware.hardwareClassGeneration).isEqualTo(2L);
        assertThat(status.resultsByHardware).singleElement().satisfies(r -> {
            assertThat(r.hardwareClass).isEqualTo("h100");
            assertThat(r.hardwareClassGeneration).isEqualTo(2L);
            assertThat(r.artifact.uri).isEqualTo(status.artifact.uri);
        });
        assertThat(status.artifact.uri).isNotEqualTo(firstRun.artifact.uri);
        assertThat(status.artifact.sha256).as("a model pruned for the new balance").isNotEqualTo(firstRun.artifact.sha256);
        assertThat(client.batch().v1().jobs().inNamespace("default").list().getItems()).hasSize(2);
        // the first run's model is untouched: the deployment could still roll back to it
        assertThat(sha256(firstRun.artifact.uri)).isEqualTo(firstRun.artifact.sha256);

        infer(awaitServing(status.artifact));
        assertThat(client.resources(InferenceDeployment.class).inNamespace("default").withName("fashion-cnn").get()
                .getStatus().previousModel.sha256).isEqualTo(firstRun.artifact.sha256);
    }

    @Test
    @Order(3)
    void aClassWhoseMeterTheNodeCannotUseFailsWithThatReason() throws Exception {
        HardwareClass nvml = client.getKubernetesSerialization().convertValue(
                Resources.readYaml("examples/hardwareclass-h100.yaml"), HardwareClass.class); // meter: nvml, as shipped
        nvml.getSpec().runtimeClassName = null; // test nodes have no nvidia container runtime
        nvml.getMetadata().setName("h100-nvml");
        client.resource(nvml).create();
        createExample("meter", pj -> {
            pj.getSpec().hardwareClass = "h100-nvml";
            pj.getSpec().deployTo = null;
        });
        await().atMost(RUN).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
            PruningJobStatus status = status("meter");
            assertThat(status.phase).isEqualTo(PruningJobStatus.Phase.FAILED);
            assertThat(status.conditions.get(0).getMessage()).contains("NVML not available").contains("libnvidia-ml.so.1");
        });
        assertThat(client.pods().inNamespace("meter").list().getItems()).hasSize(1);
    }


    @Test
    @Order(4)
    void aRunPastItsDeadlineIsStoppedAndFailsWithThatReason() throws Exception {
        // held before its first step, the worker cannot finish first, however fast the machine
        holdWorker("deadline", args -> "Profiling".equals(args.get(0)));
        createExample("deadline", pj -> {
            pj.getSpec().runDeadlineSeconds = 10;
            pj.getSpec().deployTo = null;
        });
        await().atMost(RUN).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
            PruningJobStatus status = status("deadline");
            assertThat(status.phase).isEqualTo(PruningJobStatus.Phase.FAILED);
            assertThat(Conditions.whenTrue(status.conditions, Conditions.STALLED).orElseThrow().getMessage())
                    .endsWith("failed: the run took longer than spec.runDeadlineSeconds (10 s) and was stopped");
        });
        assertThat(client.batch().v1().jobs().inNamespace("deadline").list().getItems()).singleElement()
                .satisfies(job -> assertThat(job.getStatus().getConditions()).anySatisfy(c ->
                        assertThat(c.getReason()).isEqualTo("DeadlineExceeded")));
    }

    /** The example PruningJob in a namespace of its own (claims included), changed by {@code change}. */
    private PruningJob createExample(String namespace, Consumer<PruningJob> change) throws Exception {
        if (!namespace.equals("default")) {
            client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(namespace).endMetadata().build())
                    .create();
            provideClaims(namespace);
        }
        PruningJob pj = client.getKubernetesSerialization().convertValue(Resources.readYaml("examples/pruningjob.yaml"),
                PruningJob.class);
        pj.getMetadata().setNamespace(namespace);
        change.accept(pj);
        return client.resource(pj).create();
    }

    private String kubectl(String... args) throws Exception {
        return new Kubectl(kubeconfig()).ok(args);
    }

    private PruningJobStatus status(String namespace) {
        return client.resources(PruningJob.class).inNamespace(namespace).withName("fashion-cnn").get().getStatus();
    }

    private Job awaitOneJob(String namespace) {
        await().atMost(RUN).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                assertThat(client.batch().v1().jobs().inNamespace(namespace).list().getItems()).isNotEmpty());
        return onlyJob(namespace);
    }

    private Job onlyJob(String namespace) {
        List<Job> jobs = client.batch().v1().jobs().inNamespace(namespace).list().getItems();
        assertThat(jobs).hasSize(1);
        return jobs.get(0);
    }

    private List<Pod> runPods(String namespace, Job job) {
        return client.pods().inNamespace(namespace).withLabel("batch.kubernetes.io/job-name", job.getMetadata().getName())
                .list().getItems();
    }

    /**
     * Waits until the InferenceDeployment serves exactly this artifact from a ready pod, its spec still naming the source
     * model as the user wrote it; returns that pod.
     */
    private Pod awaitServing(PruningJobStatus.Artifact artifact) {
        AtomicReference<Pod> pod = new AtomicReference<>();
        await().atMost(RUN).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
            InferenceDeployment infd = client.resources(InferenceDeployment.class).inNamespace("default")
                    .withName("fashion-cnn").get();
            assertThat(infd.getSpec().model.uri).isEqualTo(source.uri);
            assertThat(infd.getSpec().model.sha256).isEqualTo(source.sha256);
            assertThat(infd.getStatus()).isNotNull();
            assertThat(infd.getStatus().servedModel).as("%s", infd.getStatus().conditions).isNotNull();
            assertThat(infd.getStatus().servedModel.sha256).isEqualTo(artifact.sha256);
            assertThat(infd.getStatus().servedModel.uri).isEqualTo(artifact.uri);
            assertThat(infd.getStatus().servedModel.origin).isEqualTo("PruningJob");
            assertThat(Conditions.whenTrue(infd.getStatus().conditions, Conditions.READY)).isPresent();
            List<Pod> serving = client.pods().inNamespace("default").withLabel("app.kubernetes.io/instance", "fashion-cnn")
                    .withLabel("app.kubernetes.io/component", "serving").list().getItems().stream()
                    .filter(p -> p.getMetadata().getDeletionTimestamp() == null).toList();
            assertThat(serving).isNotEmpty().allSatisfy(p -> assertThat(p.getSpec().getContainers().get(0).getArgs())
                    .contains(artifact.sha256));
            pod.set(serving.get(0));
        });
        return pod.get();
    }

    /** One image through the served model: 10 logits back. */
    private void infer(Pod pod) throws Exception {
        StringBuilder pixels = new StringBuilder();
        for (int i = 0; i < 784; i++) {
            pixels.append(i == 0 ? "" : ",").append((i % 28) / 28.0);
        }
        HttpResponse<String> answer = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                reach(pod, 8080).resolve("/v2/models/fashion-cnn/infer")).POST(HttpRequest.BodyPublishers.ofString(
                        "{\"inputs\":[{\"name\":\"image\",\"shape\":[1,1,28,28],\"datatype\":\"FP32\",\"data\":[" + pixels
                                + "]}]}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        assertThat(answer.body()).contains("\"shape\":[1,10]");
    }
}
