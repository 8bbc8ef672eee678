package dev.pollard.operator;

import static dev.pollard.testing.Waits.REACTION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pollard.api.CompressionPolicy;
import dev.pollard.api.InferenceDeployment;
import dev.pollard.api.PruningJob;
import dev.pollard.api.PruningJobStatus;
import dev.pollard.testing.RealApiServer;
import dev.pollard.testing.ReconciliationCounter;
import dev.pollard.testing.Resources;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The CompressionPolicy reconciler against a real kube-apiserver, alone: no PruningJob reconciler runs here, so the
 * test writes the phases a run would reach.
 */
class CompressionPolicyReconcilerTest {
    private KubernetesClient client;
    private Operator operator;
    private ReconciliationCounter reconciliations;
    private String namespace;

    @BeforeEach
    void start() {
        client = RealApiServer.adminClient();
        Resources.installCrds(client);
        namespace = RealApiServer.newNamespace(client, "policy");
        reconciliations = new ReconciliationCounter();
        operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false).withMetrics(reconciliations));
        operator.register(new CompressionPolicyReconciler(OperatorSettings.fromEnvironment()));
        operator.start();
    }

    @AfterEach
    void stop() {
        operator.stop();
        client.close();
    }

    private InferenceDeployment deployment(String name, String sha256) {
        InferenceDeployment infd = client.getKubernetesSerialization()
                .convertValue(Resources.readYaml("examples/inferencedeployment.yaml"), InferenceDeployment.class);
        infd.getMetadata().setNamespace(namespace);
        infd.getMetadata().setName(name);
        infd.getSpec().model.sha256 = sha256;
        return client.resource(infd).create();
    }

    private CompressionPolicy policy(int parallelism) {
        CompressionPolicy policy = client.getKubernetesSerialization()
                .convertValue(Resources.readYaml("examples/compressionpolicy.yaml"), CompressionPolicy.class);
        policy.getMetadata().setNamespace(namespace);
        policy.getSpec().parallelism = parallelism;
        return client.resource(policy).create();
    }

    private List<PruningJob> runs() {
        return client.resources(PruningJob.class).inNamespace(namespace).withLabel(GeneratedRuns.POLICY_LABEL, "fashion-models")
                .list().getItems();
    }

    private PruningJob run(String target) {
        return runs().stream().filter(pj -> target.equals(pj.getSpec().deployTo)).findFirst().orElseThrow();
    }

    private void finish(PruningJob pj, PruningJobStatus.Phase phase) {
        client.resources(PruningJob.class).inNamespace(namespace).withName(pj.getMetadata().getName()).editStatus(p -> {
            p.setStatus(new PruningJobStatus());
            p.getStatus().phase = phase;
            return p;
        });
    }

    /** The policy, its status asserted to be written (so that awaitility polls again until it is). */
    private CompressionPolicy policyNow() {
        CompressionPolicy policy = client.resources(CompressionPolicy.class).inNamespace(namespace).withName("fashion-models")
                .get();
        assertThat(policy.getStatus()).as("status written").isNotNull();
        return policy;
    }

    @Test
    void oneRunPerTargetAtMostParallelismAtOnceAndAHandEditIsPutBack() {
        deployment("cnn-a", "a".repeat(64));
        deployment("cnn-b", "b".repeat(64));
        policy(1);
        // parallelism 1: one run going, the other target waits for it
        await().atMost(REACTION).untilAsserted(() -> {
            assertThat(runs()).hasSize(1);
            CompressionPolicy seen = policyNow();
            assertThat(seen.getStatus().counts.matched).isEqualTo(2);
            assertThat(seen.getStatus().targets).extracting(t -> t.phase).containsExactlyInAnyOrder("Pending", "Waiting");
            assertThat(Conditions.whenTrue(seen.getStatus().conditions, Conditions.RECONCILING)).isPresent();
        });
        PruningJob first = runs().get(0);
        assertThat(first.getSpec().deployTo).isEqualTo("cnn-a");

        // someone edits the generated run by hand: it is put back as the policy generates it
        client.resources(PruningJob.class).inNamespace(namespace).withName(first.getMetadata().getName()).edit(pj -> {
            pj.getSpec().accuracy.epsilon = 0.5;
            pj.getSpec().strategy = new dev.pollard.api.PruningJobSpec.Strategy();
            pj.getSpec().strategy.maxIterations = 3;
            return pj;
        });
        await().atMost(REACTION).untilAsserted(() -> {
            PruningJob now = run("cnn-a");
            assertThat(now.getSpec().accuracy.epsilon).isEqualTo(0.01);
            assertThat(now.getSpec().strategy).isNull();
        });

        // the first run finishes: the second starts
        finish(first, PruningJobStatus.Phase.SUCCEEDED);
        await().atMost(REACTION).untilAsserted(() -> assertThat(runs()).hasSize(2));
        finish(run("cnn-b"), PruningJobStatus.Phase.SUCCEEDED);
        await().atMost(REACTION).untilAsserted(() -> {
            CompressionPolicy seen = policyNow();
            assertThat(seen.getStatus().counts.succeeded).isEqualTo(2);
            assertThat(Conditions.whenTrue(seen.getStatus().conditions, Conditions.READY).orElseThrow().getReason())
                    .isEqualTo(Reason.AllTargetsCompressed.name());
        });
    }

    @Test
    void aNewSourceSupersedesARunningRunKeepsFinishedOnesAndATargetThatStopsMatchingLosesItsRuns() {
        deployment("cnn-a", "a".repeat(64));
        policy(2);
        await().atMost(REACTION).untilAsserted(() -> assertThat(runs()).hasSize(1));
        PruningJob firstSource = runs().get(0);
        finish(firstSource, PruningJobStatus.Phase.SUCCEEDED);

        // a new source: a new run; the finished run of the old source stays as history
        client.resources(InferenceDeployment.class).inNamespace(namespace).withName("cnn-a").edit(i -> {
            i.getSpec().model.sha256 = "c".repeat(64);
            return i;
        });
        await().atMost(REACTION).untilAsserted(() -> assertThat(runs()).hasSize(2));
        PruningJob secondSource = runs().stream().filter(pj -> pj.getSpec().model.sha256.equals("c".repeat(64))).findFirst()
                .orElseThrow();
        // another source while the second still runs: the running one is stopped, the finished one kept
        client.resources(InferenceDeployment.class).inNamespace(namespace).withName("cnn-a").edit(i -> {
            i.getSpec().model.sha256 = "d".repeat(64);
            return i;
        });
        await().atMost(REACTION).untilAsserted(() -> assertThat(runs()).extracting(pj -> pj.getSpec().model.sha256)
                .containsExactlyInAnyOrder("a".repeat(64), "d".repeat(64)));
        assertThat(client.resources(PruningJob.class).inNamespace(namespace).withName(secondSource.getMetadata().getName())
                .get()).isNull();
        await().atMost(REACTION).untilAsserted(() -> assertThat(client.v1().events().inNamespace(namespace).list().getItems())
                .anySatisfy(e -> assertThat(e.getMessage()).contains("superseded while it ran")));

        // the deployment loses the label the policy selects: all its runs go
        client.resources(InferenceDeployment.class).inNamespace(namespace).withName("cnn-a").edit(i -> {
            i.getMetadata().setLabels(Map.of("team", "a"));
            return i;
        });
        await().atMost(REACTION).untilAsserted(() -> {
            assertThat(runs()).isEmpty();
            assertThat(policyNow().getStatus().counts.matched).isZero();
            assertThat(Conditions.whenTrue(policyNow().getStatus().conditions, Conditions.READY).orElseThrow().getReason())
                    .isEqualTo(Reason.NoTargets.name());
        });
    }

    @Test
    void afterFailureLimitFailuresNoRunStartsAndThePolicyIsStalled() {
        deployment("cnn-a", "a".repeat(64));
        deployment("cnn-b", "b".repeat(64));
        CompressionPolicy policy = client.getKubernetesSerialization()
                .convertValue(Resources.readYaml("examples/compressionpolicy.yaml"), CompressionPolicy.class);
        policy.getMetadata().setNamespace(namespace);
        policy.getSpec().failureLimit = 1;
        client.resource(policy).create();
        await().atMost(REACTION).untilAsserted(() -> assertThat(runs()).hasSize(1));
        finish(runs().get(0), PruningJobStatus.Phase.FAILED);
        await().atMost(REACTION).untilAsserted(() -> {
            CompressionPolicy seen = policyNow();
            assertThat(Conditions.whenTrue(seen.getStatus().conditions, Conditions.STALLED).orElseThrow().getReason())
                    .isEqualTo(Reason.FailureLimitReached.name());
        });
        // the policy has looked at everything since, and still started nothing more
        CompressionPolicy stalled = policyNow();
        int before = reconciliations.finished(stalled);
        client.resources(InferenceDeployment.class).inNamespace(namespace).withName("cnn-b").edit(i -> {
            i.getMetadata().getLabels().put("touched", "yes"); // still selected: an event for the policy, nothing more
            return i;
        });
        await().atMost(REACTION).untilAsserted(() -> assertThat(reconciliations.finished(stalled)).isGreaterThan(before));
        assertThat(runs()).hasSize(1);
    }
}
