package dev.pollard.operator;

import static dev.pollard.testing.Waits.REACTION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pollard.api.HardwareClass;
import dev.pollard.api.InferenceDeployment;
import dev.pollard.api.PruningJob;
import dev.pollard.api.PruningJobStatus;
import dev.pollard.api.RunSummary;
import dev.pollard.testing.RealApiServer;
import dev.pollard.testing.RefusedWrites;
import dev.pollard.testing.ReconciliationCounter;
import dev.pollard.testing.Resources;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The PruningJob reconciler against a real kube-apiserver. No kubelet or Job controller runs in this tier, so the
 * test writes the pod and Job status they would; the e2e suite runs the same path with real controllers.
 */
class PruningJobReconcilerTest {
    private static final String SHA = "a".repeat(64);
    /** The source the example pins (spec.model.sha256): a run must report pruning exactly that file. */
    private static final String SOURCE_SHA = "4b58b75f1e9b6c73e23f92a354999ed6aa2c58f12dcc070fa23da44d2d6220e7";
    private KubernetesClient client;
    private Operator operator;
    private ReconciliationCounter reconciliations;
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private String namespace;
    private String hardwareClass;

    @BeforeEach
    void startOperator() {
        client = RealApiServer.adminClient();
        Resources.installCrds(client);
        namespace = RealApiServer.newNamespace(client, "reconcile");
        hardwareClass = "gpu-" + UUID.randomUUID().toString().substring(0, 8);
        operator = startedOperator();
    }

    private Operator startedOperator() {
        reconciliations = new ReconciliationCounter();
        Operator o = new Operator(c -> c.withKubernetesClient(client).withCloseClientOnStop(false)
                .withMetrics(reconciliations));
        o.register(new PruningJobReconciler(OperatorSettings.fromEnvironment(), registry));
        o.start();
        return o;
    }

    @AfterEach
    void stopOperator() {
        operator.stop();
        client.resources(HardwareClass.class).withName(hardwareClass).delete();
        client.close();
    }

    @Test
    void waitsForAMissingHardwareClassThenStartsExactlyOneRestrictedGpuJob() {
        createPruningJob();
        await().atMost(REACTION).untilAsserted(() -> {
            PruningJobStatus status = status();
            assertThat(status).as("status written").isNotNull(); // an assertion, so that awaitility waits for it
            assertThat(status.observedGeneration).isEqualTo(1L);
            assertThat(status.phase).isEqualTo(PruningJobStatus.Phase.PENDING);
            Condition ready = status.conditions.get(0);
            assertThat(ready.getType()).isEqualTo("Ready");
            assertThat(ready.getStatus()).isEqualTo("False");
            assertThat(ready.getReason()).isEqualTo(Reason.HardwareClassNotFound.name());
            assertThat(ready.getMessage()).contains("HardwareClass '" + hardwareClass + "' not found");
        });
        await().atMost(REACTION).untilAsserted(() -> assertThat(events()).anySatisfy(e -> {
            assertThat(e.getReason()).isEqualTo(Reason.HardwareClassNotFound.name());
            assertThat(e.getType()).isEqualTo("Warning");
            assertThat(e.getInvolvedObject().getName()).isEqualTo("fashion-cnn");
        }));

        // nothing requeues a waiting job on a timer: only the HardwareClass watch can wake it up
        createHardwareClass();
        Job job = awaitOneJob();
        // the Job is created before the status that names it is written
        await().atMost(REACTION).untilAsserted(() -> {
            assertThat(status().conditions.get(0).getReason())
                    .isIn(Reason.RunStarted.name(), Reason.Running.name());
            assertThat(status().jobName).isEqualTo(job.getMetadata().getName());
        });
        await().atMost(REACTION).untilAsserted(() -> assertThat(events())
                .anySatisfy(e -> assertThat(e.getReason()).isEqualTo(Reason.RunStarted.name())));
        var pod = job.getSpec().getTemplate().getSpec();
        var worker = pod.getContainers().get(0);
        assertThat(worker.getArgs()).startsWith("prune").containsSequence("--target-reduction", "0.4")
                .containsSequence("--epsilon", "0.01").containsSequence("--meter", "nvml")
                .containsSequence("--model", "/pollard/model/fashion-cnn/model.onnx")
                .containsSequence("--dataset", "/pollard/dataset/fashion-mnist")
                // a directory per run: a later run never overwrites the model an InferenceDeployment serves
                .containsSequence("--out", "/pollard/output/fashion-cnn/pruned-h100/" + job.getMetadata().getName())
                .containsSequence("--artifact-uri", "pvc://pollard-models/fashion-cnn/pruned-h100/" + job.getMetadata().getName());
        assertThat(worker.getResources().getLimits()).containsEntry("nvidia.com/gpu", new Quantity("1"));
        assertThat(pod.getNodeSelector()).containsEntry("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3");
        assertThat(pod.getRuntimeClassName()).isEqualTo("nvidia");
        assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(pod.getAutomountServiceAccountToken()).isFalse();
        assertThat(worker.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(worker.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(pod.getVolumes()).anySatisfy(v -> assertThat(v.getPersistentVolumeClaim().getClaimName()).isEqualTo("pollard-data"));
        assertThat(job.getMetadata().getOwnerReferences()).extracting(o -> o.getKind()).containsExactly("PruningJob");
        assertThat(job.getSpec().getPodFailurePolicy().getRules().get(0).getOnExitCodes().getValues()).contains(2, 3);

        // an operator restart adopts the run instead of starting another: once the new operator has reconciled the
        // PruningJob, there is still one Job
        operator.stop();
        operator = startedOperator();
        PruningJob pj = client.resources(PruningJob.class).inNamespace(namespace).withName("fashion-cnn").get();
        await().atMost(REACTION).untilAsserted(() -> assertThat(reconciliations.finished(pj)).isPositive());
        assertThat(jobs()).singleElement().satisfies(j -> assertThat(j.getMetadata().getUid()).isEqualTo(job.getMetadata().getUid()));
    }

    @Test
    void aStatusTheApiServerRefusesIsNeverAnnounced() {
        // an admission policy that refuses every status write of PruningJobs in this namespace, for a while
        try (RefusedWrites frozen = RefusedWrites.of(client, namespace, "pollard.dev", "pruningjobs/status",
                "PruningJob status is frozen in " + namespace)) {
            createPruningJob("probe", namespace);
            PruningJob probe = client.resources(PruningJob.class).inNamespace(namespace).withName("probe").get();
            probe.getMetadata().setResourceVersion(null); // the operator may write its status meanwhile: no conflict
            probe.setStatus(new PruningJobStatus());
            probe.getStatus().jobName = "probe";
            frozen.awaitRefusing(() -> client.resource(probe).dryRun().patchStatus());
            createPruningJob();
            PruningJob pj = client.resources(PruningJob.class).inNamespace(namespace).withName("fashion-cnn").get();
            // the reconciler has tried twice to say the class is missing; the API server refused both writes
            await().atMost(REACTION).until(() -> reconciliations.failed(pj) >= 2);
            assertThat(client.resource(pj).get().getStatus()).isNull();
            assertThat(events()).as("an Event announcing a status nobody can read")
                    .noneSatisfy(e -> assertThat(e.getInvolvedObject().getName()).isEqualTo("fashion-cnn"));
        }
        await().atMost(REACTION).untilAsserted(() -> assertThat(status().conditions.get(0).getReason())
                .isEqualTo(Reason.HardwareClassNotFound.name()));
        await().atMost(REACTION).untilAsserted(() -> assertThat(events()).anySatisfy(e -> {
            assertThat(e.getReason()).isEqualTo(Reason.HardwareClassNotFound.name());
            assertThat(e.getInvolvedObject().getName()).isEqualTo("fashion-cnn");
        }));
    }

    @Test
    void aSuccessfulRunFillsTheStatusAndLeavesInferenceDeploymentsAlone() {
        createHardwareClass();
        createPruningJob();
        Job job = awaitOneJob();

        finish(job, true, client.getKubernetesSerialization().asJson(successfulReport(job)));

        await().atMost(REACTION).untilAsserted(() -> {
            PruningJobStatus status = status();
            assertThat(status.phase).isEqualTo(PruningJobStatus.Phase.SUCCEEDED);
            assertThat(condition(status, "Ready").getStatus()).isEqualTo("True");
            assertThat(condition(status, "Reconciling").getStatus()).isEqualTo("False");
            assertThat(condition(status, "Stalled").getStatus()).isEqualTo("False");
            assertThat(status.conditions).allSatisfy(c -> assertThat(c.getObservedGeneration()).isEqualTo(1L));
            assertThat(status.ratios.energyReduction).isEqualTo(0.45);
            assertThat(status.artifact.sha256).isEqualTo(SHA);
            assertThat(status.source.sha256).isEqualTo(SOURCE_SHA);
            assertThat(status.hardware.hardwareClass).isEqualTo(hardwareClass);
            assertThat(status.resultsByHardware).singleElement().satisfies(r -> {
                assertThat(r.hardwareClass).isEqualTo(hardwareClass);
                assertThat(r.sourceSha256).isEqualTo(SOURCE_SHA);
                assertThat(r.jobName).isEqualTo(job.getMetadata().getName());
            });
        });
        await().atMost(REACTION).untilAsserted(() -> assertThat(events())
                .anySatisfy(e -> assertThat(e.getReason()).isEqualTo(Reason.RunSucceeded.name())));
        assertThat(registry.get("pollard.runs").tag("outcome", "succeeded").tag("hardware_class", hardwareClass).counter()
                .count()).isEqualTo(1);
        // the InferenceDeployment named in deployTo reads this result itself: the operator never creates or edits one
        assertThat(client.resources(InferenceDeployment.class).inNamespace(namespace).list().getItems()).isEmpty();

        // a change of the HardwareClass starts a new run for the new hardware; the result stays until another succeeds
        client.resources(HardwareClass.class).withName(hardwareClass).edit(h -> {
            h.getSpec().energyModel.tdpWatts = 350.0;
            return h;
        });
        await().atMost(REACTION).untilAsserted(() -> {
            assertThat(jobs()).hasSize(2);
            assertThat(status().phase).isEqualTo(PruningJobStatus.Phase.PENDING); // written after the Job is created
            assertThat(condition(status(), "Reconciling").getStatus()).isEqualTo("True");
        });
        assertThat(status().resultsByHardware).hasSize(1);
        assertThat(status().artifact.sha256).isEqualTo(SHA);
    }

    @Test
    void aPodThatOnlyCarriesTheJobsLabelsCannotReportForTheRun() {
        createHardwareClass();
        createPruningJob();
        Job job = awaitOneJob();
        RunSummary forged = new RunSummary();
        forged.artifact = new PruningJobStatus.Artifact();
        forged.artifact.uri = "pvc://somebody-else/model.onnx";
        forged.artifact.sha256 = SHA;
        // a pod anyone in the namespace could create: the Job's labels, but not owned by the Job
        Pod stranger = client.resource(new PodBuilder().withNewMetadata().withName("stranger").withNamespace(namespace)
                .addToLabels("job-name", job.getMetadata().getName()).addToLabels(job.getSpec().getTemplate().getMetadata()
                        .getLabels()).endMetadata().withSpec(job.getSpec().getTemplate().getSpec()).build()).create();
        terminate(stranger, true, client.getKubernetesSerialization().asJson(forged));
        markJobFinished(job, true);

        await().atMost(REACTION).untilAsserted(() -> {
            PruningJobStatus status = status();
            assertThat(status.phase).isEqualTo(PruningJobStatus.Phase.FAILED);
            assertThat(condition(status, "Stalled").getMessage()).contains("the worker finished without a report");
        });
        assertThat(status().artifact).isNull();
    }

    @Test
    void aDeletedHardwareClassKeepsTheResultAndOneCreatedAgainUnderTheSameNameRunsAnew() {
        createHardwareClass();
        createPruningJob();
        Job job = awaitOneJob();
        finish(job, true, client.getKubernetesSerialization().asJson(successfulReport(job)));
        await().atMost(REACTION).untilAsserted(() -> assertThat(status().phase).isEqualTo(PruningJobStatus.Phase.SUCCEEDED));

        client.resources(HardwareClass.class).withName(hardwareClass).withTimeout(1, java.util.concurrent.TimeUnit.MINUTES)
                .delete();
        await().atMost(REACTION).untilAsserted(() -> {
            PruningJobStatus status = status();
            assertThat(condition(status, PruningJobStatusAggregator.HARDWARE_CLASS_RESOLVED).getReason())
                    .isEqualTo(Reason.HardwareClassNotFound.name());
            // the result stands: a class going away says why no new run can start, it does not undo the last one
            assertThat(status.phase).isEqualTo(PruningJobStatus.Phase.SUCCEEDED);
            assertThat(condition(status, "Ready").getStatus()).isEqualTo("True");
            assertThat(status.artifact.sha256).isEqualTo(SHA);
        });

        // the same name, generation 1 again, but another class: its own run, not the old class's result
        createHardwareClass();
        await().atMost(REACTION).untilAsserted(() -> assertThat(jobs()).hasSize(2));
        assertThat(jobs()).extracting(j -> j.getMetadata().getName()).contains(job.getMetadata().getName())
                .doesNotHaveDuplicates();
        await().atMost(REACTION).untilAsserted(() -> assertThat(status().phase).isEqualTo(PruningJobStatus.Phase.PENDING));
    }

    @Test
    void aNamespaceTheClassDoesNotAllowGetsNoRunUntilTheAdminAllowsIt() {
        createHardwareClass(spec -> spec.allowedNamespaces = List.of("team-gpu"));
        createPruningJob();
        await().atMost(REACTION).untilAsserted(() -> {
            PruningJobStatus status = status();
            assertThat(status.phase).isEqualTo(PruningJobStatus.Phase.PENDING);
            Condition stalled = condition(status, "Stalled");
            assertThat(stalled.getStatus()).isEqualTo("True");
            assertThat(stalled.getReason()).isEqualTo(Reason.HardwareClassNotAllowed.name());
            assertThat(stalled.getMessage()).contains("HardwareClass '" + hardwareClass + "' does not allow namespace '"
                    + namespace + "'");
        });
        assertThat(jobs()).isEmpty();

        client.resources(HardwareClass.class).withName(hardwareClass).edit(h -> {
            h.getSpec().allowedNamespaces = List.of("team-gpu", namespace);
            return h;
        });
        awaitOneJob();
    }

    @Test
    void runsOnAClassNeverExceedItsMaxConcurrentRunsAcrossNamespaces() {
        createHardwareClass(spec -> spec.maxConcurrentRuns = 1);
        String otherNamespace = RealApiServer.newNamespace(client, "reconcile-other");
        createPruningJob("first", namespace);
        createPruningJob("second", namespace);
        createPruningJob("third", otherNamespace);
        List<String> names = List.of("first", "second", "third");
        for (int started = 1; started <= 3; started++) {
            int expected = started;
            // one run holds the slot, the others say they wait for it; only then is the count of Jobs final
            await().atMost(REACTION).untilAsserted(() -> {
                assertThat(allJobs(namespace, otherNamespace)).hasSize(expected);
                assertThat(names.stream().map(n -> status(n, n.equals("third") ? otherNamespace : namespace))
                        .filter(s -> s.conditions.stream().anyMatch(c -> Reason.WaitingForRunSlot.name().equals(c.getReason())
                                && "True".equals(c.getStatus())))).hasSize(3 - expected);
            });
            List<Job> active = allJobs(namespace, otherNamespace).stream()
                    .filter(j -> RunObservation.finishedCondition(j).isEmpty()).toList();
            assertThat(active).as("active runs on a class with maxConcurrentRuns 1").hasSize(1);
            Job running = active.get(0);
            finish(running, true, client.getKubernetesSerialization().asJson(successfulReport(running)));
        }
        assertThat(allJobs(namespace, otherNamespace)).hasSize(3);
    }

    /** A report from the run's own pod that the operator must still refuse, and the words that say why. */
    record Refused(String what, java.util.function.BiFunction<Job, RunSummary, String> report, String reason) {
        @Override
        public String toString() {
            return what;
        }
    }

    static java.util.stream.Stream<Refused> refusedReports() {
        return java.util.stream.Stream.of(
                new Refused("an artifact outside the run's directory", (job, r) -> {
                    r.artifact.uri = "pvc://pollard-models/someone-else/model.onnx";
                    return Serialization.asJson(r);
                }, "which is not this run's pvc://pollard-models/fashion-cnn/pruned-h100/"),
                new Refused("a sha256 of three characters", (job, r) -> {
                    r.artifact.sha256 = "abc";
                    return Serialization.asJson(r);
                }, "the worker reported the sha256 'abc', which is not 64 lowercase hex digits"),
                new Refused("another source than the spec pins", (job, r) -> {
                    r.source.sha256 = "c".repeat(64);
                    return Serialization.asJson(r);
                }, "not spec.model.sha256 " + SOURCE_SHA),
                new Refused("a number beyond double", (job, r) -> Serialization.asJson(r)
                        .replace("\"accuracy\":0.905", "\"accuracy\":1e400"),
                        "the worker reported a number that is not finite at /result/accuracy"),
                new Refused("a stack trace in the log tail", (job, r) -> "Exception in thread \"main\" java.lang.OutOfMemoryError: "
                        + "Java heap space\n\tat dev.pollard.worker.Pruner.run(Pruner.java:10)\n\tat picocli.CommandLine.execute("
                        + "CommandLine.java:2)\n", "failed: Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space"));
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.MethodSource("refusedReports")
    void aReportTheOperatorCannotBelieveFailsTheRunWithTheReason(Refused refused) {
        createHardwareClass();
        createPruningJob();
        Job job = awaitOneJob();
        boolean exitedCleanly = !refused.what().contains("stack trace");
        finish(job, exitedCleanly, refused.report().apply(job, successfulReport(job)));

        await().atMost(REACTION).untilAsserted(() -> {
            PruningJobStatus status = status();
            assertThat(status.phase).isEqualTo(PruningJobStatus.Phase.FAILED);
            Condition stalled = condition(status, "Stalled");
            assertThat(stalled.getStatus()).isEqualTo("True");
            assertThat(stalled.getMessage()).contains(refused.reason()).doesNotContain("\n").doesNotContain("\tat ");
        });
        assertThat(status().artifact).isNull();
    }

    @Test
    void aFailedRunReportsTheWorkersOwnMessage() {
        createHardwareClass();
        createPruningJob();
        Job job = awaitOneJob();
        String error = "model /pollard/model/fashion-cnn/model.onnx: no such file";
        finish(job, false, "{\"error\":\"" + error + "\"}");

        await().atMost(REACTION).untilAsserted(() -> {
            PruningJobStatus status = status();
            assertThat(status.phase).isEqualTo(PruningJobStatus.Phase.FAILED);
            assertThat(status.conditions.get(0).getReason()).isEqualTo(Reason.RunFailed.name());
            assertThat(status.conditions.get(0).getMessage()).endsWith(error);
        });
        await().atMost(REACTION).untilAsserted(() -> assertThat(events())
                .anySatisfy(e -> assertThat(e.getMessage()).endsWith(error)));
        assertThat(client.resources(InferenceDeployment.class).inNamespace(namespace).withName("fashion-cnn").get()).isNull();
    }

    private static PruningJobStatus.ModelMetrics metrics(double accuracy, double joules) {
        PruningJobStatus.ModelMetrics m = new PruningJobStatus.ModelMetrics();
        m.accuracy = accuracy;
        m.joulesPerInference = joules;
        m.meter = "analytical";
        return m;
    }

    /** What the Job controller and a kubelet would write when the worker ends with this termination message. */
    private void finish(Job job, boolean success, String terminationMessage) {
        Pod pod = client.resource(new PodBuilder().withNewMetadata().withName(job.getMetadata().getName() + "-x")
                .withNamespace(job.getMetadata().getNamespace()).addToLabels(job.getSpec().getTemplate().getMetadata().getLabels())
                .addToLabels("job-name", job.getMetadata().getName())
                .addNewOwnerReference().withApiVersion("batch/v1").withKind("Job").withName(job.getMetadata().getName())
                .withUid(job.getMetadata().getUid()).withController(true).endOwnerReference().endMetadata()
                .withSpec(job.getSpec().getTemplate().getSpec()).build()).create();
        terminate(pod, success, terminationMessage);
        markJobFinished(job, success);
    }

    private void terminate(Pod pod, boolean success, String terminationMessage) {
        client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName()).editStatus(p -> {
            p.getStatus().setPhase(success ? "Succeeded" : "Failed");
            p.getStatus().setContainerStatuses(List.of(new io.fabric8.kubernetes.api.model.ContainerStatusBuilder()
                    .withName("worker").withImage("img").withImageID("img").withReady(false).withRestartCount(0)
                    .withNewState().withNewTerminated().withExitCode(success ? 0 : 2).withMessage(terminationMessage)
                    .endTerminated().endState().build()));
            return p;
        });
    }

    private void markJobFinished(Job job, boolean success) {
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        String type = success ? "Complete" : "Failed";
        String target = success ? "SuccessCriteriaMet" : "FailureTarget";
        client.batch().v1().jobs().inNamespace(job.getMetadata().getNamespace()).withName(job.getMetadata().getName())
                .editStatus(j -> {
            j.setStatus(new JobStatusBuilder().withStartTime(now).withCompletionTime(success ? now : null)
                    .withSucceeded(success ? 1 : 0).withFailed(success ? 0 : 1).withReady(0).withTerminating(0)
                    .withConditions(new JobConditionBuilder().withType(target).withStatus("True").withReason("PodExit")
                            .withLastTransitionTime(now).withLastProbeTime(now).build(),
                            new JobConditionBuilder().withType(type).withStatus("True").withReason("PodExit")
                            .withLastTransitionTime(now).withLastProbeTime(now).build())
                    .build());
            return j;
        });
    }

    private static Condition condition(PruningJobStatus status, String type) {
        return Conditions.find(status.conditions, type).orElseThrow(() -> new AssertionError("no condition " + type));
    }

    private void createPruningJob() {
        createPruningJob("fashion-cnn", namespace);
    }

    private void createPruningJob(String name, String inNamespace) {
        PruningJob job = client.getKubernetesSerialization()
                .convertValue(Resources.readYaml("examples/pruningjob.yaml"), PruningJob.class);
        job.getMetadata().setName(name);
        job.getMetadata().setNamespace(inNamespace);
        job.getSpec().hardwareClass = hardwareClass;
        client.resource(job).create();
    }

    private void createHardwareClass() {
        createHardwareClass(spec -> { });
    }

    private void createHardwareClass(java.util.function.Consumer<dev.pollard.api.HardwareClassSpec> policy) {
        HardwareClass hwc = client.getKubernetesSerialization()
                .convertValue(Resources.readYaml("examples/hardwareclass-h100.yaml"), HardwareClass.class);
        hwc.getMetadata().setName(hardwareClass);
        policy.accept(hwc.getSpec());
        client.resource(hwc).create();
        // GPU clusters define the class's RuntimeClass (the NVIDIA GPU operator installs "nvidia"); pods need it to exist
        client.resource(new io.fabric8.kubernetes.api.model.node.v1.RuntimeClassBuilder().withNewMetadata()
                .withName(hwc.getSpec().runtimeClassName).endMetadata().withHandler("nvidia").build()).serverSideApply();
    }

    private Job awaitOneJob() {
        await().atMost(REACTION).untilAsserted(() -> assertThat(jobs()).hasSize(1));
        return jobs().get(0);
    }

    private List<Job> allJobs(String... namespaces) {
        return java.util.Arrays.stream(namespaces).flatMap(n -> client.batch().v1().jobs().inNamespace(n).list().getItems()
                .stream()).toList();
    }

    private PruningJobStatus status(String name, String inNamespace) {
        PruningJobStatus status = client.resources(PruningJob.class).inNamespace(inNamespace).withName(name).get().getStatus();
        assertThat(status).as("status of " + name + " written").isNotNull();
        return status;
    }

    /** A report the operator accepts: the run's own artifact, the pinned source. */
    private static RunSummary successfulReport(Job job) {
        RunSummary summary = new RunSummary();
        summary.baseline = metrics(0.91, 2.0e-3);
        summary.result = metrics(0.905, 1.1e-3);
        summary.ratios = new PruningJobStatus.Ratios();
        summary.ratios.energyReduction = 0.45;
        summary.accuracyDrop = 0.005;
        summary.artifact = new PruningJobStatus.Artifact();
        summary.artifact.uri = "pvc://pollard-models/fashion-cnn/pruned-h100/" + job.getMetadata().getName() + "/model.onnx";
        summary.artifact.sha256 = SHA;
        summary.source = new PruningJobStatus.Artifact();
        summary.source.uri = "pvc://pollard-models/fashion-cnn/model.onnx";
        summary.source.sha256 = SOURCE_SHA;
        return summary;
    }

    private List<Job> jobs() {
        return client.batch().v1().jobs().inNamespace(namespace).list().getItems();
    }

    /** The status, asserted to be written: a poll that comes before it fails as an assertion, so awaitility polls again. */
    private PruningJobStatus status() {
        PruningJobStatus status = client.resources(PruningJob.class).inNamespace(namespace).withName("fashion-cnn").get()
                .getStatus();
        assertThat(status).as("status written").isNotNull();
        return status;
    }

    private List<Event> events() {
        return client.v1().events().inNamespace(namespace).list().getItems();
    }
}
