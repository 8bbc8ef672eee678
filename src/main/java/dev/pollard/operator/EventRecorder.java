package dev.pollard.operator;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.Resource;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.jboss.logging.Logger;

/**
 * Emits core/v1 Events about a resource, so {@code kubectl describe} and {@code kubectl get events} show them. The same
 * (resource, reason, message) is one Event whose count grows, never a new Event: an operator restart, a retry or a
 * second replica cannot fill a namespace with duplicates (as the Flink operator's EventRecorder does it).
 */
public final class EventRecorder {
    public static final String COMPONENT = "pollard-operator";
    private static final int MAX_MESSAGE = 1024;
    private static final Logger LOG = Logger.getLogger(EventRecorder.class);

    private EventRecorder() {
    }

    /** Announces {@code reason} with {@code message}, unless the reason is one that is never announced. */
    public static void record(KubernetesClient client, HasMetadata about, Reason reason, String message) {
        if (reason.eventType == null) {
            return;
        }
        String text = message.length() > MAX_MESSAGE ? message.substring(0, MAX_MESSAGE - 1) + "…" : message;
        String name = name(about, reason, text);
        String namespace = about.getMetadata().getNamespace() != null ? about.getMetadata().getNamespace() : "default";
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        var events = client.v1().events().inNamespace(namespace);
        try {
            // most announcements are new: create first (one request), count up only when the name is taken
            events.resource(new EventBuilder()
                    .withNewMetadata().withName(name).withNamespace(namespace).endMetadata()
                    .withInvolvedObject(new ObjectReferenceBuilder().withApiVersion(about.getApiVersion())
                            .withKind(about.getKind()).withName(about.getMetadata().getName())
                            .withNamespace(about.getMetadata().getNamespace()).withUid(about.getMetadata().getUid())
                            .build())
                    .withType(reason.eventType.text).withReason(reason.name()).withMessage(text)
                    .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                    .withNewSource().withComponent(COMPONENT).endSource()
                    .withReportingComponent(COMPONENT)
                    .build()).create();
        } catch (KubernetesClientException e) {
            if (e.getCode() == 409) {
                countAgain(events.withName(name), now, reason, about);
            } else {
                couldNotRecord(reason, about, e);
            }
        }
    }

    private static void countAgain(Resource<Event> event, String now, Reason reason, HasMetadata about) {
        try {
            event.edit(e -> new EventBuilder(e).withCount(e.getCount() == null ? 2 : e.getCount() + 1)
                    .withLastTimestamp(now).build());
        } catch (KubernetesClientException e) {
            couldNotRecord(reason, about, e);
        }
    }

    /** An Event is a courtesy: failing to write one (or losing a race to write it) must not fail the reconciliation. */
    private static void couldNotRecord(Reason reason, HasMetadata about, KubernetesClientException e) {
        LOG.warnf("could not record event %s on %s: %s", reason, about.getMetadata().getName(), e.getMessage());
    }

    /** Deterministic: the same resource, reason and message name the same Event. */
    static String name(HasMetadata about, Reason reason, String message) {
        String base = about.getMetadata().getName();
        String hash = Hashes.sha256(about.getMetadata().getUid() + "/" + reason + "/" + message).substring(0, 16);
        return (base.length() > 200 ? base.substring(0, 200) : base) + "." + hash;
    }
}
