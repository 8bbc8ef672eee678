package dev.pollard.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.pollard.api.HardwareClass;
import dev.pollard.api.InferenceDeployment;
import dev.pollard.api.InferenceDeploymentStatus;
import dev.pollard.api.PruningJob;
import dev.pollard.api.PruningJobStatus;
import dev.pollard.data.Digests;
import dev.pollard.operator.Conditions;
import dev.pollard.operator.Reason;
import dev.pollard.testing.Resources;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Faults injected into one local control plane with a process node and the operator as its own process, while the
 * example InferenceDeployment serves and runs of the example PruningJob (made short) feed it: the API server killed
 * mid-run, a worker's process killed, a run's Job deleted by hand, the serving Deployment deleted and edited by hand,
 * the HardwareClass deleted while its model is served. Every run is held at a point of its own with {@link ThreadHold}
 * when the fault strikes, so it is mid-flight on any machine. After each fault a run has exactly one Job, its result is
 * in status and on the volume, and the served model answers {@code /v2/models/fashion-cnn/infer}; the last test counts
 * what was injected, lost and duplicated over the whole class.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChaosE2E {
    private static final String NS = "default";
    /** The example InferenceDeployment, and the name its model is served under. */
    private static final String SERVED = "fashion-cnn";
    private static final String HARDWARE_CLASS_RESOLVED = "HardwareClassResolved";
    private static final Duration WAIT = LocalCluster.PATIENCE;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private E2EEnvironment env;
    private OperatorProcess operator;
    private KubernetesClient client;
    private Kubectl kubectl;
    private RunJobs runJobs;
    /** The PruningJobs of the faults in order, with their status when their run had succeeded (null until then). */
    private final Map<String, PruningJobStatus> results = new LinkedHashMap<>();
    private final List<String> faults = new ArrayList<>();

    @BeforeAll
    void start() throws Exception {
        env = E2EEnvironment.start("gpu-node-1",
                Map.of("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3", "pollard.dev/pool", "gpu"),
                Map.of("nvidia.com/gpu", "4")); // two serving replicas, one more during a rollout, one worker
        client = env.client();
        kubectl = new Kubectl(env.cluster().kubeconfig());
        runJobs = new RunJobs(client, NS);
        operator = new OperatorProcess(env.cluster().kubeconfig(), env.cluster().dir()).start();
        Path models = env.node().provideClaim(NS, "pollard-models");
        Path data = env.node().provideClaim(NS, "pollard-data");
        Files.createDirectories(models.resolve("fashion-cnn"));
        try (InputStream embedded = ChaosE2E.class.getResourceAsStream("/models/fashion-cnn.onnx")) {
            Files.copy(embedded, models.resolve("fashion-cnn/model.onnx"));
        }
        Files.createDirectories(data.resolve("fashion-mnist"));
        try (var files = Files.list(Path.of("/usr/share/datasets/fashion-mnist"))) {
            for (Path f : files.toList()) {
                Files.copy(f, data.resolve("fashion-mnist").resolve(f.getFileName()));
            }
        }
        client.resource(hardwareClass("h100")).create();
        InferenceDeployment infd = client.getKubernetesSerialization().convertValue(
                Resources.readYaml("examples/inferencedeployment.yaml"), InferenceDeployment.class);
        infd.getMetadata().setNamespace(NS);
        String source = client.resource(infd).create().getSpec().model.sha256;
        infer(awaitServing(source, InferenceDeploymentStatus.ORIGIN_SOURCE));
        awaitOperatorReady();
    }

    @AfterAll
    void stop() throws Exception {
        if (runJobs != null) {
            runJobs.close();
        }
        if (operator != null) {
            operator.close();
        }
        if (env != null) {
            // e2e/cluster.sh down removes the cluster's directory: its logs are kept beside the operator's
            Path logs = env.cluster().dir().resolve("cluster/logs");
            if (Files.isDirectory(logs)) {
                Path kept = Files.createDirectories(env.cluster().dir().resolve("cluster-logs"));
                try (var files = Files.list(logs)) {
                    for (Path f : files.toList()) {
                        Files.copy(f, kept.resolve(f.getFileName()));
                    }
                }
            }
            System.out.println("[pollard-chaos] logs: operator " + env.cluster().dir().resolve("operator.log")
                    + ", control plane " + env.cluster().dir().resolve("cluster-logs") + ", pods "
                    + env.cluster().dir().resolve("node/pods"));
            env.close();
        }
    }

    /**
     * kube-apiserver SIGKILLed while a run's worker is held mid-run (published its first pruning step), then started
     * again on the same port and etcd. Serving never needed it; the operator and the process node watch again (a
     * HardwareClass created after the restart is reconciled, the held run's end reaches status through the Job and
     * pod watches, the new model's pods are started), and the run ends Succeeded in the Job it had.
     */
    @Test
    @Order(1)
    void theApiServerKilledMidRun() throws Exception {
        String name = register("fault-1-apiserver");
        ThreadHold hold = holdWorker(name, args -> "Pruning".equals(args.get(0))
                && args.get(1) instanceof Integer iteration && iteration >= 1);
        createRun(name);
        Job job = awaitOneJob(name);
        hold.awaitHeld(WAIT);
        await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            PruningJobStatus status = status(name);
            assertThat(status).isNotNull();
            assertThat(status.phase).as("%s", status.conditions).isEqualTo(PruningJobStatus.Phase.PRUNING);
            assertThat(status.progress).isNotNull();
            assertThat(status.progress.iteration).isNotNull().isGreaterThanOrEqualTo(1);
        });
        List<Pod> serving = Availability.readyPods(client, NS, SERVED);
        assertThat(serving).hasSize(2);

        env.cluster().killApiServer();
        faults.add("kube-apiserver SIGKILLed while " + name + "'s worker was held at its first pruning step");
        URI api = URI.create(client.getMasterUrl().toString());
        assertThatThrownBy(() -> new Socket(api.getHost(), api.getPort()).close()).as("the API server is down")
                .isInstanceOf(ConnectException.class);
        // the data plane does not need the control plane
        for (Pod pod : serving) {
            assertThat(Availability.infer(pod).statusCode()).as("%s while the API server is down", pod.getMetadata().getName())
                    .isEqualTo(200);
        }
        env.cluster().startApiServer();

        // the operator watches again: a HardwareClass created now is seen and given a status
        client.resource(hardwareClass("chaos-probe")).create();
        await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            HardwareClass probe = client.resources(HardwareClass.class).withName("chaos-probe").get();
            assertThat(probe).isNotNull();
            assertThat(probe.getStatus()).as("the operator has not reconciled a HardwareClass created after the restart")
                    .isNotNull();
            assertThat(probe.getStatus().observedGeneration).isEqualTo(1L);
            assertThat(Conditions.whenTrue(probe.getStatus().conditions, Conditions.READY)).isPresent();
        });
        client.resources(HardwareClass.class).withName("chaos-probe").delete();
        awaitOperatorReady();
        // and it follows the same run: it asks the held worker for progress again; no other Job or pod was made
        int answered = hold.calls("respond");
        await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                assertThat(hold.calls("respond")).isGreaterThan(answered));
        assertThat(jobsOf(name)).singleElement().satisfies(j ->
                assertThat(j.getMetadata().getUid()).isEqualTo(job.getMetadata().getUid()));
        assertThat(podsOf(job)).hasSize(1);
        hold.release();

        PruningJobStatus status = succeeded(name, job);
        assertThat(podsOf(job)).singleElement().satisfies(p -> assertThat(p.getStatus().getPhase()).isEqualTo("Succeeded"));
        infer(awaitServing(status.artifact.sha256, InferenceDeploymentStatus.ORIGIN_PRUNING_JOB)); // new pods: the node watches
        assertOperatorNeverRestarted();
    }

    /**
     * The worker's process SIGKILLed while held mid-run (the pod stays): the process node marks the pod Failed with
     * exit code 137, as a kubelet does for a Job's pod (restartPolicy Never), the Job (backoffLimit 2) retries in a new
     * pod, and the run ends Succeeded in its one Job with one failure counted.
     */
    @Test
    @Order(2)
    void theWorkerProcessKilled() throws Exception {
        String name = register("fault-2-worker");
        ThreadHold hold = holdWorker(name, args -> "Profiling".equals(args.get(0)));
        createRun(name);
        Job job = awaitOneJob(name);
        hold.awaitHeld(WAIT);
        Pod first = single(podsOf(job));

        env.node().crashContainer(NS, first.getMetadata().getName());
        faults.add("the worker process of " + name + " SIGKILLed while held at its first progress report");
        await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            Pod pod = client.pods().inNamespace(NS).withName(first.getMetadata().getName()).get();
            assertThat(pod).as("the crashed pod stays").isNotNull();
            assertThat(pod.getStatus()).isNotNull();
            assertThat(pod.getStatus().getPhase()).isEqualTo("Failed");
            assertThat(pod.getStatus().getContainerStatuses()).isNotNull().singleElement().satisfies(c -> {
                assertThat(c.getState()).isNotNull();
                assertThat(c.getState().getTerminated()).isNotNull();
                assertThat(c.getState().getTerminated().getExitCode()).isEqualTo(137);
            });
        });

        PruningJobStatus status = succeeded(name, job);
        Job done = client.batch().v1().jobs().inNamespace(NS).withName(job.getMetadata().getName()).get();
        assertThat(done.getStatus()).isNotNull();
        assertThat(done.getStatus().getFailed()).as("pods failed").isEqualTo(1);
        assertThat(done.getStatus().getSucceeded()).as("pods succeeded").isEqualTo(1);
        List<Pod> pods = podsOf(job);
        assertThat(pods).hasSize(2);
        assertThat(pods).filteredOn(p -> p.getMetadata().getUid().equals(first.getMetadata().getUid())).singleElement()
                .satisfies(p -> assertThat(p.getStatus().getPhase()).isEqualTo("Failed"));
        assertThat(pods).filteredOn(p -> !p.getMetadata().getUid().equals(first.getMetadata().getUid())).singleElement()
                .satisfies(p -> assertThat(p.getStatus().getPhase()).isEqualTo("Succeeded"));
        infer(awaitServing(status.artifact.sha256, InferenceDeploymentStatus.ORIGIN_PRUNING_JOB));
        assertOperatorNeverRestarted();
    }

    /**
     * A run's Job deleted by hand (kubectl delete job) while its worker is held mid-run: the deleted Job's pod goes, the
     * operator creates the run's Job again under the same name (the Job is a create-only dependent), and the run ends
     * Succeeded in it; at no moment a watch of the Jobs reported were two Jobs of the run active at once.
     */
    @Test
    @Order(3)
    void theRunsJobDeletedByHand() throws Exception {
        String name = register("fault-3-job");
        ThreadHold hold = holdWorker(name, args -> "Profiling".equals(args.get(0)));
        createRun(name);
        Job job = awaitOneJob(name);
        hold.awaitHeld(WAIT);
        Pod first = single(podsOf(job));

        kubectl.ok("delete", "job", job.getMetadata().getName(), "-n", NS);
        faults.add("the Job of " + name + " deleted by hand while its worker was held at its first progress report");
        Job again = await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).until(
                () -> client.batch().v1().jobs().inNamespace(NS).withName(job.getMetadata().getName()).get(),
                j -> j != null && !j.getMetadata().getUid().equals(job.getMetadata().getUid()));
        await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                assertThat(client.pods().inNamespace(NS).withName(first.getMetadata().getName()).get())
                        .as("the deleted Job's pod").isNull());

        PruningJobStatus status = succeeded(name, again);
        assertThat(podsOf(again)).singleElement().satisfies(p -> assertThat(p.getStatus().getPhase()).isEqualTo("Succeeded"));
        assertThat(runJobs.maxActive(name)).as("Jobs of %s active at once: %s", name, runJobs.overlaps).isEqualTo(1);
        infer(awaitServing(status.artifact.sha256, InferenceDeploymentStatus.ORIGIN_PRUNING_JOB));
        assertOperatorNeverRestarted();
    }

    /**
     * The serving Deployment deleted by hand: the operator makes it again and the model answers again. Then edited by
     * hand, its replicas (kubectl scale) and then an argument of its server (--threads): the operator puts back what the
     * InferenceDeployment says, and a client polling the whole time is always answered by a ready replica.
     */
    @Test
    @Order(4)
    void theServingDeploymentDeletedAndEditedByHand() throws Exception {
        String served = servedSha();
        Deployment deleted = deployment();
        assertThat(deleted).isNotNull();
        kubectl.ok("delete", "deployment", SERVED, "-n", NS);
        faults.add("the serving Deployment deleted by hand");
        AtomicReference<Deployment> made = new AtomicReference<>();
        await().atMost(WAIT).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
            Deployment d = deployment();
            assertThat(d).as("the serving Deployment").isNotNull();
            assertThat(d.getMetadata().getUid()).isNotEqualTo(deleted.getMetadata().getUid());
            assertThat(rolledOut(d, 2)).as("%s", d.getStatus()).isTrue();
            assertThat(servingPodsOf(d)).hasSize(2).allSatisfy(p ->
                    assertThat(p.getSpec().getContainers().get(0).getArgs()).contains(served));
            made.set(d);
        });
        for (Pod pod : servingPodsOf(made.get())) {
            infer(pod);
        }
        awaitServing(served, InferenceDeploymentStatus.ORIGIN_PRUNING_JOB);

        Availability availability = new Availability(client, NS, SERVED);
        try {
            awaitPolls(availability, 2);
            // replicas
            Deployment before = deployment();
            kubectl.ok("scale", "deployment", SERVED, "-n", NS, "--replicas=1");
            faults.add("the serving Deployment scaled to 1 replica by hand");
            awaitRestored(before, before.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs());
            awaitPolls(availability, 3);
            // an argument of the server
            before = deployment();
            List<String> args = before.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs();
            int threads = args.indexOf("--threads");
            assertThat(threads).as("%s", args).isNotNegative();
            assertThat(args.get(threads + 1)).isNotEqualTo("1");
            kubectl.ok("patch", "deployment", SERVED, "-n", NS, "--type=json", "-p", "[{\"op\":\"replace\",\"path\":"
                    + "\"/spec/template/spec/containers/0/args/" + (threads + 1) + "\",\"value\":\"1\"}]");
            faults.add("the serving Deployment's --threads argument changed by hand");
            awaitRestored(before, args);
            awaitPolls(availability, 3);
        } finally {
            availability.close();
        }
        assertThat(availability.failures).as("polls with no ready replica answering").isEmpty();
        assertThat(deployment().getMetadata().getUid()).isEqualTo(made.get().getMetadata().getUid());
        infer(awaitServing(served, InferenceDeploymentStatus.ORIGIN_PRUNING_JOB));
        assertOperatorNeverRestarted();
    }

    /**
     * The HardwareClass deleted while its model is served: the Deployment and its pods stay and answer the whole time,
     * the InferenceDeployment is Stalled (HardwareClassNotFound), and every PruningJob keeps its Succeeded result while
     * HardwareClassResolved says why it cannot run again. (A class created again under the same name is a new class
     * whose runs start anew: PruningJobReconcilerTest holds that.)
     */
    @Test
    @Order(5)
    void theHardwareClassDeletedWhileItsModelIsServed() throws Exception {
        String served = servedSha();
        Deployment before = deployment();
        assertThat(results.values()).as("needs the runs of the faults before").doesNotContainNull().isNotEmpty();
        Availability availability = new Availability(client, NS, SERVED);
        try {
            awaitPolls(availability, 2);
            kubectl.ok("delete", "hardwareclass", "h100");
            faults.add("the HardwareClass deleted while its model was served");
            await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                InferenceDeployment infd = infd();
                assertThat(infd).isNotNull();
                assertThat(infd.getStatus()).isNotNull();
                Condition stalled = Conditions.whenTrue(infd.getStatus().conditions, Conditions.STALLED).orElse(null);
                assertThat(stalled).as("Stalled: %s", infd.getStatus().conditions).isNotNull();
                assertThat(stalled.getReason()).isEqualTo(Reason.HardwareClassNotFound.name());
                assertThat(stalled.getMessage()).contains("'h100' not found");
            });
            for (String name : results.keySet()) {
                await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                    PruningJobStatus status = status(name);
                    assertThat(status).isNotNull();
                    Condition resolved = Conditions.find(status.conditions, HARDWARE_CLASS_RESOLVED).orElse(null);
                    assertThat(resolved).as("%s: %s", name, status.conditions).isNotNull();
                    assertThat(resolved.getStatus()).isEqualTo("False");
                    assertThat(resolved.getReason()).isEqualTo(Reason.HardwareClassNotFound.name());
                    assertThat(resolved.getMessage()).contains("'h100' not found");
                    assertThat(status.phase).as("%s keeps its result: %s", name, status.conditions)
                            .isEqualTo(PruningJobStatus.Phase.SUCCEEDED);
                    assertThat(Conditions.whenTrue(status.conditions, Conditions.READY)).as("%s", status.conditions).isPresent();
                    assertThat(status.artifact).isNotNull();
                    assertThat(status.artifact.sha256).isEqualTo(results.get(name).artifact.sha256);
                });
            }
            Deployment kept = deployment();
            assertThat(kept).as("the serving Deployment stays").isNotNull();
            assertThat(kept.getMetadata().getUid()).isEqualTo(before.getMetadata().getUid());
            assertThat(kept.getMetadata().getGeneration()).isEqualTo(before.getMetadata().getGeneration());
            List<Pod> pods = servingPodsOf(kept);
            assertThat(pods).hasSize(2);
            for (Pod pod : pods) {
                infer(pod);
            }
            assertThat(infd().getStatus().servedModel.sha256).isEqualTo(served);
            awaitPolls(availability, 3);
        } finally {
            availability.close();
        }
        assertThat(availability.failures).as("polls with no ready replica answering").isEmpty();

        assertOperatorNeverRestarted();
    }

    /** What the faults did, all together: the summary line, then nothing lost and no run with two Jobs. */
    @Test
    @Order(6)
    void noResultLostAndNoRunWithTwoJobs() throws Exception {
        List<String> lost = new ArrayList<>();
        for (Map.Entry<String, PruningJobStatus> run : results.entrySet()) {
            String name = run.getKey();
            PruningJobStatus recorded = run.getValue();
            PruningJob pj = client.resources(PruningJob.class).inNamespace(NS).withName(name).get();
            PruningJobStatus now = pj == null ? null : pj.getStatus();
            if (recorded == null) {
                lost.add(name + ": its run never succeeded (" + (now == null ? "no status" : now.phase + " " + now.conditions) + ")");
            } else if (now == null || now.phase != PruningJobStatus.Phase.SUCCEEDED || now.artifact == null
                    || !recorded.artifact.sha256.equals(now.artifact.sha256) || !recorded.artifact.uri.equals(now.artifact.uri)) {
                lost.add(name + ": status no longer holds its result " + recorded.artifact.uri + " (now: "
                        + (now == null ? "no status" : now.phase + " " + (now.artifact == null ? null : now.artifact.uri)) + ")");
            } else if (!recorded.artifact.sha256.equals(sha256(now.artifact.uri))) {
                lost.add(name + ": " + now.artifact.uri + " no longer has sha256 " + recorded.artifact.sha256);
            } else if (now.resultsByHardware == null || now.resultsByHardware.stream().noneMatch(r -> "h100".equals(r.hardwareClass)
                    && r.artifact != null && recorded.artifact.sha256.equals(r.artifact.sha256))) {
                lost.add(name + ": resultsByHardware lost h100's result: " + now.resultsByHardware);
            }
        }
        Map<String, Integer> duplicates = new LinkedHashMap<>();
        for (String name : results.keySet()) {
            int atOnce = Math.max(0, runJobs.maxActive(name) - 1);
            int left = Math.max(0, jobsOf(name).size() - 1);
            if (atOnce + left > 0) {
                duplicates.put(name, atOnce + left);
            }
        }
        int duplicated = duplicates.values().stream().mapToInt(Integer::intValue).sum();
        List<io.fabric8.kubernetes.api.model.Event> warnings = client.v1().events().inNamespace(NS).list().getItems().stream()
                .filter(e -> "Warning".equals(e.getType())).toList();
        System.out.printf("[pollard-chaos] faults injected: %d, results lost: %d, duplicate Jobs: %d%n", faults.size(),
                lost.size(), duplicated);
        faults.forEach(f -> System.out.println("[pollard-chaos]   fault: " + f));
        lost.forEach(l -> System.out.println("[pollard-chaos]   lost: " + l));
        duplicates.forEach((pj, n) -> System.out.println("[pollard-chaos]   duplicate Jobs of " + pj + ": " + n));
        warnings.forEach(e -> System.out.println("[pollard-chaos]   warning event: " + e.getInvolvedObject().getKind() + " "
                + e.getInvolvedObject().getName() + " " + e.getReason() + " x" + e.getCount() + ": " + e.getMessage()));

        assertThat(faults).as("faults injected").hasSize(7);
        assertThat(results).as("runs").hasSize(3);
        assertThat(lost).as("results lost").isEmpty();
        assertThat(duplicates).as("runs with more than one Job (active at once: %s)", runJobs.overlaps).isEmpty();
        // a run that came through its fault was never announced as failed (an alert on it would have been false)
        assertThat(warnings).filteredOn(e -> results.containsKey(e.getInvolvedObject().getName()))
                .extracting(e -> e.getInvolvedObject().getName() + " " + e.getReason() + ": " + e.getMessage()).isEmpty();
        assertOperatorNeverRestarted();
    }

    // ---- runs

    private String register(String name) {
        results.put(name, null);
        return name;
    }

    /** The example PruningJob under this name, made short as PruningScenario makes it; it feeds the deployment. */
    private void createRun(String name) {
        PruningJob pj = client.getKubernetesSerialization().convertValue(Resources.readYaml("examples/pruningjob.yaml"),
                PruningJob.class);
        pj.getMetadata().setName(name);
        pj.getMetadata().setNamespace(NS);
        pj.getSpec().dataset.evaluationSamples = 2000;
        pj.getSpec().strategy.fineTuning.stepsPerIteration = 40;
        pj.getSpec().accuracy.epsilon = 0.03;
        client.resource(pj).create();
    }

    /** Holds the worker of this PruningJob's first pod where it publishes progress that {@code when} accepts. */
    private ThreadHold holdWorker(String name, Predicate<List<Object>> when) {
        return env.node().hold(pod -> NS.equals(pod.getMetadata().getNamespace())
                && "pruning".equals(pod.getMetadata().getLabels().get("app.kubernetes.io/component"))
                && name.equals(pod.getMetadata().getLabels().get("pollard.dev/pruningjob")),
                "dev.pollard.worker.ProgressServer", "update", when, "respond");
    }

    /**
     * Waits until the run has succeeded (failing at once if it fails), then checks it ended in exactly this Job with its
     * result in status and on the volume; records the result.
     */
    private PruningJobStatus succeeded(String name, Job job) throws Exception {
        PruningJobStatus status = await().atMost(WAIT).pollInterval(Duration.ofSeconds(1)).until(() -> status(name), s -> {
            assertThat(s == null || s.phase != PruningJobStatus.Phase.FAILED).as("%s failed: %s", name,
                    s == null ? null : s.conditions).isTrue();
            return s != null && s.phase == PruningJobStatus.Phase.SUCCEEDED;
        });
        String run = job.getMetadata().getName();
        assertThat(status.jobName).isEqualTo(run);
        assertThat(jobsOf(name)).as("Jobs of %s", name).singleElement().satisfies(j -> {
            assertThat(j.getMetadata().getName()).isEqualTo(run);
            assertThat(j.getMetadata().getUid()).isEqualTo(job.getMetadata().getUid());
        });
        assertThat(Conditions.whenTrue(status.conditions, Conditions.READY)).as("%s", status.conditions).isPresent();
        assertThat(status.artifact).isNotNull();
        assertThat(status.artifact.uri).isEqualTo("pvc://pollard-models/fashion-cnn/pruned-h100/" + run + "/model.onnx");
        assertThat(status.artifact.sha256).isEqualTo(sha256(status.artifact.uri));
        assertThat(status.ratios.energyReduction).isGreaterThanOrEqualTo(0.4);
        // a drop of exactly epsilon is allowed; the margin absorbs the rounding of a difference of two accuracies
        assertThat(status.baseline.accuracy - status.result.accuracy).isLessThanOrEqualTo(0.03 + 1e-9);
        assertThat(status.resultsByHardware).singleElement().satisfies(r -> {
            assertThat(r.hardwareClass).isEqualTo("h100");
            assertThat(r.jobName).isEqualTo(run);
            assertThat(r.artifact.sha256).isEqualTo(status.artifact.sha256);
        });
        results.put(name, status);
        return status;
    }

    private PruningJobStatus status(String name) {
        PruningJob pj = client.resources(PruningJob.class).inNamespace(NS).withName(name).get();
        return pj == null ? null : pj.getStatus();
    }

    private Job awaitOneJob(String name) {
        await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> assertThat(jobsOf(name)).isNotEmpty());
        return single(jobsOf(name));
    }

    private List<Job> jobsOf(String name) {
        return client.batch().v1().jobs().inNamespace(NS).withLabel("pollard.dev/pruningjob", name).list().getItems();
    }

    /** The pods this Job controls. */
    private List<Pod> podsOf(Job job) {
        return client.pods().inNamespace(NS).withLabel("batch.kubernetes.io/controller-uid", job.getMetadata().getUid())
                .list().getItems();
    }

    private static <T> T single(List<T> items) {
        assertThat(items).hasSize(1);
        return items.get(0);
    }

    private String sha256(String pvcUri) throws IOException {
        String rest = pvcUri.substring("pvc://".length());
        int slash = rest.indexOf('/');
        return Digests.sha256(env.node().claimDir(rest.substring(0, slash)).resolve(rest.substring(slash + 1)));
    }

    // ---- serving

    private InferenceDeployment infd() {
        return client.resources(InferenceDeployment.class).inNamespace(NS).withName(SERVED).get();
    }

    private Deployment deployment() {
        return client.apps().deployments().inNamespace(NS).withName(SERVED).get();
    }

    private String servedSha() {
        InferenceDeployment infd = infd();
        assertThat(infd).isNotNull();
        assertThat(infd.getStatus()).isNotNull();
        assertThat(infd.getStatus().servedModel).isNotNull();
        return infd.getStatus().servedModel.sha256;
    }

    /**
     * Waits until the InferenceDeployment serves this model from every wanted replica and is Ready; returns a ready pod
     * that serves it.
     */
    private Pod awaitServing(String sha256, String origin) {
        AtomicReference<Pod> pod = new AtomicReference<>();
        await().atMost(WAIT).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
            InferenceDeployment infd = infd();
            assertThat(infd).isNotNull();
            assertThat(infd.getStatus()).isNotNull();
            assertThat(infd.getStatus().servedModel).as("%s", infd.getStatus().conditions).isNotNull();
            assertThat(infd.getStatus().servedModel.sha256).isEqualTo(sha256);
            assertThat(infd.getStatus().servedModel.origin).isEqualTo(origin);
            assertThat(Conditions.whenTrue(infd.getStatus().conditions, Conditions.READY)).as("%s", infd.getStatus().conditions)
                    .isPresent();
            List<Pod> serving = Availability.readyPods(client, NS, SERVED).stream()
                    .filter(p -> p.getSpec().getContainers().get(0).getArgs().contains(sha256)).toList();
            assertThat(serving).isNotEmpty();
            pod.set(serving.get(0));
        });
        return pod.get();
    }

    /** One image through the served model: 10 logits back. */
    private static void infer(Pod pod) throws Exception {
        HttpResponse<String> answer = Availability.infer(pod, SERVED);
        assertThat(answer.statusCode()).as("%s: %s", pod.getMetadata().getName(), answer.body()).isEqualTo(200);
        assertThat(answer.body()).contains("\"shape\":[1,10]");
    }

    /** Ready pods, not being deleted, of the ReplicaSets this Deployment controls. */
    private List<Pod> servingPodsOf(Deployment deployment) {
        Set<String> replicaSets = client.apps().replicaSets().inNamespace(NS).list().getItems().stream()
                .filter(rs -> controlledBy(rs, deployment.getMetadata().getUid()))
                .map(rs -> rs.getMetadata().getUid()).collect(Collectors.toSet());
        return Availability.readyPods(client, NS, SERVED).stream()
                .filter(p -> replicaSets.stream().anyMatch(rs -> controlledBy(p, rs))).toList();
    }

    private static boolean controlledBy(HasMetadata object, String ownerUid) {
        List<OwnerReference> owners = object.getMetadata().getOwnerReferences();
        return owners != null && owners.stream().anyMatch(o -> Boolean.TRUE.equals(o.getController())
                && ownerUid.equals(o.getUid()));
    }

    /** Every wanted replica runs the Deployment's current template and is ready, and no other pod of it is left. */
    private static boolean rolledOut(Deployment d, int replicas) {
        var s = d.getStatus();
        return s != null && s.getObservedGeneration() != null && s.getObservedGeneration() >= d.getMetadata().getGeneration()
                && Objects.equals(s.getReplicas(), replicas) && Objects.equals(s.getUpdatedReplicas(), replicas)
                && Objects.equals(s.getReadyReplicas(), replicas);
    }

    /**
     * Waits until the operator has put back the Deployment edited by hand since {@code before}: a generation for the
     * edit and at least one more for the operator's change, two replicas of these server arguments, rolled out.
     */
    private void awaitRestored(Deployment before, List<String> args) {
        long edited = before.getMetadata().getGeneration() + 1;
        await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            Deployment d = deployment();
            assertThat(d).isNotNull();
            assertThat(d.getMetadata().getUid()).isEqualTo(before.getMetadata().getUid());
            assertThat(d.getMetadata().getGeneration()).as("the edit and the operator's answer to it")
                    .isGreaterThan(edited);
            assertThat(d.getSpec().getReplicas()).isEqualTo(2);
            assertThat(d.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs()).isEqualTo(args);
            assertThat(rolledOut(d, 2)).as("%s", d.getStatus()).isTrue();
        });
    }

    /** Waits until the poller has made {@code more} polls after now (it polls at its own pace). */
    private static void awaitPolls(Availability availability, int more) {
        int target = availability.polls.get() + more;
        await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() -> availability.polls.get() >= target);
    }

    // ---- the operator and the classes

    /** The local H100 class as shipped under another name (metered by its datasheet model: the node has no driver). */
    private HardwareClass hardwareClass(String name) {
        HardwareClass hwc = client.getKubernetesSerialization().convertValue(
                Resources.readYaml("examples/local/hardwareclass-h100.yaml"), HardwareClass.class);
        hwc.getMetadata().setName(name);
        return hwc;
    }

    /** Waits until the operator's readiness check (its event sources are healthy) answers 200. */
    private void awaitOperatorReady() {
        await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            assertThat(operator.isAlive()).as("the operator runs:%n%s", operator.log()).isTrue();
            HttpResponse<String> ready;
            try {
                ready = HTTP.send(HttpRequest.newBuilder(operator.url("/q/health/ready")).timeout(Duration.ofSeconds(10)).build(),
                        HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                throw new AssertionError("the operator's readiness check does not answer: " + e);
            }
            assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
        });
    }

    private void assertOperatorNeverRestarted() throws IOException {
        assertThat(operator.isAlive()).as("the operator runs:%n%s", operator.log()).isTrue();
        assertThat(operator.starts()).as("operator starts").isEqualTo(1);
    }

    /**
     * The runs' Jobs as a watch reports them, every state of them: the most Jobs of one PruningJob that were active
     * (not finished, not being deleted) at the same time.
     */
    static final class RunJobs implements AutoCloseable {
        private final Map<String, Job> jobs = new LinkedHashMap<>();
        private final Map<String, Integer> maxActive = new LinkedHashMap<>();
        final List<String> overlaps = new CopyOnWriteArrayList<>();
        private final SharedIndexInformer<Job> informer;

        RunJobs(KubernetesClient client, String namespace) {
            informer = client.batch().v1().jobs().inNamespace(namespace).withLabel("app.kubernetes.io/component", "pruning")
                    .inform(new ResourceEventHandler<>() {
                        @Override
                        public void onAdd(Job job) {
                            seen(job, false);
                        }

                        @Override
                        public void onUpdate(Job before, Job job) {
                            seen(job, false);
                        }

                        @Override
                        public void onDelete(Job job, boolean finalStateUnknown) {
                            seen(job, true);
                        }
                    });
        }

        private synchronized void seen(Job job, boolean deleted) {
            if (deleted) {
                jobs.remove(job.getMetadata().getUid());
            } else {
                jobs.put(job.getMetadata().getUid(), job);
            }
            Map<String, List<String>> active = jobs.values().stream().filter(RunJobs::active).collect(Collectors.groupingBy(
                    j -> Objects.toString(j.getMetadata().getLabels().get("pollard.dev/pruningjob")),
                    Collectors.mapping(j -> j.getMetadata().getName() + " (uid " + j.getMetadata().getUid() + ")",
                            Collectors.toList())));
            active.forEach((pj, list) -> {
                maxActive.merge(pj, list.size(), Math::max);
                if (list.size() > 1) {
                    overlaps.add(Instant.now() + " " + pj + ": " + list);
                }
            });
        }

        private static boolean active(Job job) {
            return job.getMetadata().getDeletionTimestamp() == null && (job.getStatus() == null
                    || job.getStatus().getConditions() == null || job.getStatus().getConditions().stream()
                            .noneMatch(c -> "True".equals(c.getStatus())
                                    && ("Complete".equals(c.getType()) || "Failed".equals(c.getType()))));
        }

        synchronized int maxActive(String pruningJob) {
            return maxActive.getOrDefault(pruningJob, 0);
        }

        @Override
        public void close() {
            informer.close();
        }
    }
}
