package dev.pollard.operator;

import io.javaoperatorsdk.operator.AggregatedOperatorException;
import java.util.Optional;

/** Finding the error worth showing a user in what a reconciliation threw. */
final class Errors {
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

    static String message(Throwable e) {
        return invalidSpec(e).map(Throwable::getMessage)
                .orElseGet(() -> e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName());
    }
}
