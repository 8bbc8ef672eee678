package dev.pollard.testing;

import java.time.Duration;

/** Bounds on waits in tests: they only bound failures, so they sit far above any honest wait. Nothing waits them out. */
public final class Waits {
    /** An operator, an API server or a local server reacting to a change: seconds at most, even on a loaded machine. */
    public static final Duration REACTION = Duration.ofMinutes(2);

    private Waits() {
    }
}
