package dev.pollard.operator;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;
import org.jboss.logging.Logger;

/** Emits core/v1 Events about a resource, so {@code kubectl describe} and {@code kubectl get events} show them. */
public final class EventRecorder {
    public static final String COMPONENT = "pollard-operator";
    private static final Logger LOG = Logger.getLogger(EventRecorder.class);

    private EventRecorder() {
    }

    public static void warning(KubernetesClient client, HasMetadata about, String reason, String message) {
        emit(client, about, "Warning", reason, message);
    }

    public static void normal(KubernetesClient client, HasMetadata about, String reason, String message) {
        emit(client, about, "Normal", reason, message);
    }

    private static void emit(KubernetesClient client, HasMetadata about, String type, String reason, String message) {
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        var event = new EventBuilder()
                .withNewMetadata()
                .withName(about.getMetadata().getName() + "." + UUID.randomUUID().toString().substring(0, 13).replace("-", ""))
                .withNamespace(about.getMetadata().getNamespace())
                .endMetadata()
                .withInvolvedObject(new ObjectReferenceBuilder().withApiVersion(about.getApiVersion())
                        .withKind(about.getKind()).withName(about.getMetadata().getName())
                        .withNamespace(about.getMetadata().getNamespace()).withUid(about.getMetadata().getUid())
                        .withResourceVersion(about.getMetadata().getResourceVersion()).build())
                .withType(type).withReason(reason).withMessage(message)
                .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                .withNewSource().withComponent(COMPONENT).endSource()
                .withReportingComponent(COMPONENT)
                .build();
        try {
            client.v1().events().inNamespace(about.getMetadata().getNamespace()).resource(event).create();
        } catch (KubernetesClientException e) {
            // an Event is a courtesy; failing to write one must not fail the reconciliation
            LOG.warnf("could not record event %s on %s: %s", reason, about.getMetadata().getName(), e.getMessage());
        }
    }
}
