package dev.pollard.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pollard.api.HardwareClass;
import dev.pollard.api.PruningJob;
import dev.pollard.api.PruningJobStatus;
import dev.pollard.data.FashionMnist;
import dev.pollard.testing.Helm;
import dev.pollard.testing.Resources;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The operator as the Helm chart installs it: the chart rendered for one watched namespace with two replicas and leader
 * election, applied to the local control plane; the process node runs the chart's operator pods themselves (the jar,
 * with the pod's environment and a token of the chart's ServiceAccount, as a kubelet gives them, so the operator has
 * exactly the chart's RBAC). One value is set for this node only: the operator listens on its pod's IP
 * (extraEnv QUARKUS_HTTP_HOST), since all pods of a process node share the host's network.
 */
class ChartE2E {
    private static final String SYSTEM = "pollard-system";
    private static final String TEAM = "team-a";
    private static final String ELSEWHERE = "team-b";
    private static final Duration WAIT = LocalCluster.PATIENCE;

    private static E2EEnvironment env;
    private static KubernetesClient client;
    private static Kubectl kubectl;

    @BeforeAll
    static void install() throws Exception {
        env = E2EEnvironment.start("gpu-node-1",
                Map.of("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3", "pollard.dev/pool", "gpu"),
                Map.of("nvidia.com/gpu", "4"));
        client = env.client();
        kubectl = new Kubectl(env.cluster().kubeconfig());
        for (String ns : List.of(SYSTEM, TEAM, ELSEWHERE)) {
            kubectl.ok("create", "namespace", ns);
        }
        Path chart = env.cluster().dir().resolve("chart.yaml");
        Files.writeString(chart, Helm.template(SYSTEM, "--set", "watchNamespaces={" + TEAM + "}", "--set", "replicas=2",
                "--set", "extraEnv[0].name=QUARKUS_HTTP_HOST",
                "--set", "extraEnv[0].valueFrom.fieldRef.fieldPath=status.podIP"));
        kubectl.ok("apply", "--server-side", "-f", chart.toString());

        Path models = env.node().provideClaim(TEAM, "pollard-models");
        Path data = env.node().provideClaim(TEAM, "pollard-data");
        Files.createDirectories(models.resolve("fashion-cnn"));
        try (InputStream embedded = ChartE2E.class.getResourceAsStream("/models/fashion-cnn.onnx")) {
            Files.copy(embedded, models.resolve("fashion-cnn/model.onnx"));
        }
        Files.createDirectories(data.resolve("fashion-mnist"));
        try (var files = Files.list(FashionMnist.INSTALLED)) {
            for (Path f : files.toList()) {
                Files.copy(f, data.resolve("fashion-mnist").resolve(f.getFileName()));
            }
        }
        client.resource(client.getKubernetesSerialization().convertValue(
                Resources.readYaml("examples/local/hardwareclass-h100.yaml"), HardwareClass.class)).create();
    }

    @AfterAll
    static void uninstall() throws Exception {
        if (env != null) {
            env.close();
        }
    }

    @Test
    void onlyTheLeaderReconcilesAndTheOtherReplicaTakesOverTheRunWhenTheLeaderDies() throws Exception {
        String leader = awaitLeader(null);
        await().atMost(WAIT).untilAsserted(() -> assertThat(operatorPods()).hasSize(2));
        List<Pod> operators = operatorPods();
        String standby = operators.stream().map(p -> p.getMetadata().getName()).filter(n -> !n.equals(leader))
                .findFirst().orElseThrow();

        ThreadHold hold = env.node().hold(pod -> TEAM.equals(pod.getMetadata().getNamespace())
                && "pruning".equals(pod.getMetadata().getLabels().get("app.kubernetes.io/component")),
                "dev.pollard.worker.ProgressServer", "update",
                args -> "Pruning".equals(args.get(0)) && args.get(1) instanceof Integer i && i >= 1, "respond");
        createShortRun(TEAM);
        createShortRun(ELSEWHERE);
        hold.awaitHeld(WAIT);
        Job run = await().atMost(WAIT).until(() -> jobs(TEAM), jobs -> jobs.size() == 1).get(0);
        // the standby has reconciled nothing: one Job, each Event once
        assertThat(reconciliations(standby)).isZero();
        assertThat(reconciliations(leader)).isPositive();
        assertThat(events(TEAM)).allSatisfy(e -> assertThat(e.getCount()).as("%s", e.getMessage()).isEqualTo(1));

        // the leader's pod dies without warning; another replica (the standby, or the leader's replacement if it is
        // quicker) takes the Lease and the run over
        int answered = hold.calls("respond");
        env.node().killPod(SYSTEM, leader);
        String next = awaitLeader(leader);
        await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                assertThat(hold.calls("respond")).as("the new leader asks the run for progress").isGreaterThan(answered));
        assertThat(jobs(TEAM)).singleElement().satisfies(j -> assertThat(j.getMetadata().getUid())
                .isEqualTo(run.getMetadata().getUid()));
        hold.release();

        PruningJobStatus status = await().atMost(WAIT).pollInterval(Duration.ofSeconds(2)).until(
                () -> client.resources(PruningJob.class).inNamespace(TEAM).withName("fashion-cnn").get().getStatus(),
                s -> s != null && s.phase == PruningJobStatus.Phase.SUCCEEDED);
        assertThat(status.jobName).isEqualTo(run.getMetadata().getName());
        assertThat(jobs(TEAM)).hasSize(1);
        assertThat(events(TEAM)).isNotEmpty().allSatisfy(e -> assertThat(e.getCount()).as("%s", e.getMessage()).isEqualTo(1));
        assertThat(reconciliations(next)).isPositive();
        // reconciliations by kind, cluster-scoped and namespaced alike, and runs by outcome with their duration
        String metrics = metrics(next);
        assertThat(metrics).containsPattern("operator_sdk_reconciliations_success_total\\{[^}]*kind=\"PruningJob\"")
                .containsPattern("operator_sdk_reconciliations_success_total\\{[^}]*kind=\"HardwareClass\"")
                .containsPattern("pollard_runs_total\\{[^}]*outcome=\"succeeded\"[^}]*\\} 1.0")
                .contains("pollard_run_duration_seconds_bucket");
        // a namespace the chart does not watch is left alone
        assertThat(client.resources(PruningJob.class).inNamespace(ELSEWHERE).withName("fashion-cnn").get().getStatus())
                .isNull();
        assertThat(jobs(ELSEWHERE)).isEmpty();
    }

    /** The Lease's holder once it is one of the operator pods, other than {@code previous} when given. */
    private static String awaitLeader(String previous) {
        return await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).until(() -> {
            Lease lease = client.leases().inNamespace(SYSTEM).withName("pollard-operator").get();
            return lease == null || lease.getSpec() == null ? null : lease.getSpec().getHolderIdentity();
        }, holder -> holder != null && !holder.equals(previous)
                && operatorPods().stream().anyMatch(p -> p.getMetadata().getName().equals(holder)));
    }

    private static List<Pod> operatorPods() {
        return client.pods().inNamespace(SYSTEM).withLabel("app.kubernetes.io/component", "operator").list().getItems()
                .stream().filter(p -> p.getMetadata().getDeletionTimestamp() == null).toList();
    }

    /** A replica's Prometheus metrics, once it serves them. */
    private static String metrics(String podName) {
        Pod pod = client.pods().inNamespace(SYSTEM).withName(podName).get();
        URI uri = URI.create("http://" + pod.getStatus().getPodIP() + ":8080/q/metrics");
        return await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() -> HttpClient
                .newHttpClient().send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
                        HttpResponse.BodyHandlers.ofString()), r -> r.statusCode() == 200).body();
    }

    /** Reconciliations of PruningJobs a replica has finished, from its own metrics. */
    private static double reconciliations(String podName) {
        return metrics(podName).lines().filter(l -> l.startsWith("operator_sdk_controllers_execution_reconcile_success_total{")
                && l.contains("controller=\"pruningjob\"")).mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
    }

    private static void createShortRun(String namespace) {
        PruningJob pj = client.getKubernetesSerialization().convertValue(Resources.readYaml("examples/pruningjob.yaml"),
                PruningJob.class);
        pj.getMetadata().setNamespace(namespace);
        pj.getSpec().deployTo = null;
        pj.getSpec().dataset.evaluationSamples = 2000;
        pj.getSpec().strategy.fineTuning.stepsPerIteration = 40;
        pj.getSpec().accuracy.epsilon = 0.03;
        client.resource(pj).create();
    }

    private static List<Job> jobs(String namespace) {
        return client.batch().v1().jobs().inNamespace(namespace).list().getItems();
    }

    /** The operator's own Events (not the scheduler's or the Job controller's). */
    private static List<Event> events(String namespace) {
        return client.v1().events().inNamespace(namespace).list().getItems().stream()
                .filter(e -> "pollard-operator".equals(e.getReportingComponent())).toList();
    }
}
