package dev.pollard.operator;

import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.AggregatedOperatorException;
import java.util.Optional;
import java.util.stream.Collectors;

/** Finding the error worth showing a user in what a reconciliation threw. */
final class Errors {
    /** The longest message a condition or Event gets from an exception. */
    static final int MAX_MESSAGE = 1024;

    private Errors() {
    }

    /** The InvalidSpecException behind an exception, also inside a workflow's aggregated exception. */
    static Optional<InvalidSpecException> invalidSpec(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof InvalidSpecException invalid) {
                return Optional.of(invalid);
            }
            if (t instanceof AggregatedOperatorException aggregated) {
                for (Exception inner : aggregated.getAggregatedExceptions().values()) {
                    Optional<InvalidSpecException> found = invalidSpec(inner);
                    if (found.isPresent()) {
                        return found;
                    }
                }
            }
        }
        return Optional.empty();
    }

    /**
     * An optimistic-locking conflict: the informer's copy was older than the server's (e.g. just after our own status
     * patch). Not the user's concern: the next reconciliation, already queued, works on the fresh copy.
     */
    static boolean conflict(Throwable e) {
        return answered(e, 409);
    }

    /** The resource was deleted while it was being reconciled. */
    static boolean gone(Throwable e) {
        return answered(e, 404);
    }

    /** Whether the API server answered with this HTTP status somewhere in the chain of causes. */
    private static boolean answered(Throwable e, int code) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof KubernetesClientException k && k.getCode() == code) {
                return true;
            }
        }
        return false;
    }

    static String message(Throwable e) {
        String message = invalidSpec(e).map(Throwable::getMessage).orElseGet(() -> describe(e));
        return message.length() > MAX_MESSAGE ? message.substring(0, MAX_MESSAGE - 1) + "…" : message;
    }

    /**
     * One line: a workflow's failures as "dependent: first line of its error" (JOSDK's own message of an aggregated
     * exception carries every stack trace), any other exception as the first line of its message. The traces go to the log.
     */
    private static String describe(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) { // JOSDK may wrap the workflow's exception
            if (t instanceof AggregatedOperatorException aggregated && !aggregated.getAggregatedExceptions().isEmpty()) {
                return aggregated.getAggregatedExceptions().entrySet().stream()
                        .map(failed -> failed.getKey() + ": " + describe(failed.getValue())).collect(Collectors.joining("; "));
            }
        }
        String message = e.getMessage() == null ? "" : e.getMessage().strip();
        return message.isEmpty() ? e.getClass().getSimpleName() : message.lines().findFirst().orElseThrow().strip();
    }
}
