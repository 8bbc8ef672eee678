package dev.pollard.worker;

/**
 * Exit codes a worker ends with; the operator's Job fails at once on the ones retrying cannot fix (see its
 * podFailurePolicy), and retries the others with the Job's backoff.
 */
public final class WorkerExit {
    public static final int OK = 0;
    /** Anything unexpected: worth a retry. */
    public static final int ERROR = 1;
    /** Bad input: a missing or malformed model or dataset, an impossible spec. */
    public static final int INVALID_INPUT = 2;
    /** The HardwareClass's meter cannot be used on this node (e.g. NVML without an NVIDIA driver). */
    public static final int METER_UNAVAILABLE = 3;

    private WorkerExit() {
    }
}
