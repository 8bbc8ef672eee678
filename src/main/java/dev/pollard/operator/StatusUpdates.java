package dev.pollard.operator;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.PrimaryUpdateAndCacheUtils;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * How every reconciler writes status: a status built anew is patched only when it differs from the persisted one, a
 * change of the Ready condition is announced as an Event once, and the resource the reconciler was given is never
 * modified (the patch goes out on a copy), so an error half-way reports against the status as it was. The patch goes
 * out at once and its result is put into the operator's cache (JOSDK's PrimaryUpdateAndCacheUtils): a reconciliation
 * that an event starts before the watch brings the patch back reads the status just written, not the one before it,
 * and does not announce the same change again.
 */
final class StatusUpdates {
    private static final Logger LOG = Logger.getLogger(StatusUpdates.class);

    private StatusUpdates() {
    }

    static <R extends CustomResource<?, S>, S> UpdateControl<R> patchIfChanged(R resource, S next, Supplier<R> blank,
            Function<S, List<Condition>> conditions, Context<R> context) {
        if (!same(resource.getStatus(), next)) {
            writeAndAnnounce(resource, next, blank, conditions, context);
        }
        return UpdateControl.noUpdate();
    }

    /**
     * A conflict is retried at once without a word (the next reconciliation sees the fresh copy); an invalid spec is
     * reported and not retried (it waits for the user); anything else is reported and retried with JOSDK's backoff.
     *
     * @param errorStatus the status to write, from (invalid spec?, message naming the field or cause)
     */
    static <R extends CustomResource<?, S>, S> ErrorStatusUpdateControl<R> onError(R resource, Exception e, Supplier<R> blank,
            BiFunction<Boolean, String, S> errorStatus, Function<S, List<Condition>> conditions, Context<R> context) {
        if (Errors.conflict(e)) {
            return ErrorStatusUpdateControl.defaultErrorProcessing();
        }
        if (Errors.gone(e)) {
            return ErrorStatusUpdateControl.<R>noStatusUpdate().withNoRetry(); // deleted meanwhile: nothing to report on
        }
        boolean invalid = Errors.invalidSpec(e).isPresent();
        if (!invalid) {
            LOG.warnf(e, "reconciling %s %s/%s failed; retrying", resource.getKind(), resource.getMetadata().getNamespace(),
                    resource.getMetadata().getName());
        }
        S next = errorStatus.apply(invalid, Errors.message(e));
        if (!same(resource.getStatus(), next)) {
            writeAndAnnounce(resource, next, blank, conditions, context);
        }
        ErrorStatusUpdateControl<R> control = ErrorStatusUpdateControl.noStatusUpdate();
        return invalid ? control.withNoRetry() : control;
    }

    /**
     * The status first, then the Event: the status is what users and controllers wait on, so the Event's request is not
     * in its way (under load each request to the API server is a wait of its own); a status write that fails announces
     * nothing, and the retry that writes it announces it then.
     */
    private static <R extends CustomResource<?, S>, S> void writeAndAnnounce(R resource, S next, Supplier<R> blank,
            Function<S, List<Condition>> conditions, Context<R> context) {
        PrimaryUpdateAndCacheUtils.ssaPatchStatusAndCacheResource(resource, withStatus(resource, next, blank), context);
        announce(resource, resource.getStatus() == null ? null : conditions.apply(resource.getStatus()),
                conditions.apply(next), context.getClient());
    }

    /** An Event when the Ready condition's reason or message changed. */
    private static void announce(CustomResource<?, ?> resource, List<Condition> before, List<Condition> after,
            KubernetesClient client) {
        Optional<Condition> was = before == null ? Optional.empty() : Conditions.find(before, Conditions.READY);
        Optional<Condition> now = Conditions.find(after, Conditions.READY);
        if (now.isPresent() && (was.isEmpty() || !Objects.equals(was.get().getReason(), now.get().getReason())
                || !Objects.equals(was.get().getMessage(), now.get().getMessage()))) {
            EventRecorder.record(client, resource, Reason.valueOf(now.get().getReason()), now.get().getMessage());
        }
    }

    /** What a server-side apply of the status sends: the resource's identity and the status, nothing else. */
    private static <R extends CustomResource<?, S>, S> R withStatus(R resource, S status, Supplier<R> blank) {
        R patch = blank.get();
        patch.setMetadata(new ObjectMetaBuilder().withName(resource.getMetadata().getName())
                .withNamespace(resource.getMetadata().getNamespace()).build());
        patch.setStatus(status);
        return patch;
    }

    static boolean same(Object a, Object b) {
        return Objects.equals(Serialization.jsonMapper().valueToTree(a), Serialization.jsonMapper().valueToTree(b));
    }
}
