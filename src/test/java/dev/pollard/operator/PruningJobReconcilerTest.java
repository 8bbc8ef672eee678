package dev.pollard.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pollard.api.HardwareClass;
import dev.pollard.api.PruningJob;
import dev.pollard.api.PruningJobStatus;
import dev.pollard.testing.RealApiServer;
import dev.pollard.testing.Resources;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The PruningJob reconciler against a real kube-apiserver. */
class PruningJobReconcilerTest {
    private static KubernetesClient client;
    private static Operator operator;

    @BeforeAll
    static void startOperator() {
        client = RealApiServer.adminClient();
        Resources.installCrds(client);
        operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
        operator.register(new PruningJobReconciler());
        operator.start();
    }

    @AfterAll
    static void stopOperator() {
        operator.stop();
        client.close();
    }

    @Test
    void waitsForAMissingHardwareClassAndMovesOnWhenItIsCreated() {
        String namespace = RealApiServer.newNamespace(client, "reconcile");
        String hardwareClass = "gpu-" + UUID.randomUUID().toString().substring(0, 8);
        PruningJob job = client.getKubernetesSerialization()
                .convertValue(Resources.readYaml("examples/pruningjob.yaml"), PruningJob.class);
        job.getMetadata().setNamespace(namespace);
        job.getSpec().hardwareClass = hardwareClass;
        client.resource(job).create();

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            PruningJobStatus status = status(namespace);
            assertThat(status).isNotNull();
            assertThat(status.observedGeneration).isEqualTo(1L);
            assertThat(status.phase).isEqualTo(PruningJobStatus.Phase.PENDING);
            Condition ready = status.conditions.get(0);
            assertThat(ready.getType()).isEqualTo("Ready");
            assertThat(ready.getStatus()).isEqualTo("False");
            assertThat(ready.getReason()).isEqualTo(PruningJobReconciler.REASON_HARDWARE_CLASS_NOT_FOUND);
            assertThat(ready.getMessage()).contains("HardwareClass '" + hardwareClass + "' not found");
        });
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(events(namespace))
                .anySatisfy(e -> {
                    assertThat(e.getReason()).isEqualTo(PruningJobReconciler.REASON_HARDWARE_CLASS_NOT_FOUND);
                    assertThat(e.getType()).isEqualTo("Warning");
                    assertThat(e.getInvolvedObject().getName()).isEqualTo("fashion-cnn");
                }));

        // nothing requeues the job on a timer: only the HardwareClass watch can wake it up
        HardwareClass hwc = client.getKubernetesSerialization()
                .convertValue(Resources.readYaml("examples/hardwareclass-h100.yaml"), HardwareClass.class);
        hwc.getMetadata().setName(hardwareClass);
        client.resource(hwc).create();

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            PruningJobStatus status = status(namespace);
            assertThat(Conditions.find(status.conditions, PruningJobReconciler.HARDWARE_CLASS_RESOLVED))
                    .hasValueSatisfying(c -> assertThat(c.getStatus()).isEqualTo("True"));
            assertThat(status.conditions.get(0).getReason()).isEqualTo(PruningJobReconciler.REASON_AWAITING_RUN);
        });
        client.resource(hwc).delete();
    }

    private static PruningJobStatus status(String namespace) {
        return client.resources(PruningJob.class).inNamespace(namespace).withName("fashion-cnn").get().getStatus();
    }

    private static java.util.List<Event> events(String namespace) {
        return client.v1().events().inNamespace(namespace).list().getItems();
    }
}
