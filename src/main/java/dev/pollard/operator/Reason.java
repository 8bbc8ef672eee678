package dev.pollard.operator;

/**
 * Why a resource is where it is: the reason of its conditions and of the Events that announce a change. One list, so
 * that an Event and a condition never call the same thing by two names.
 */
public enum Reason {
    // PruningJob
    HardwareClassNotFound(Type.WARNING),
    HardwareClassNotAllowed(Type.WARNING),
    /** All of the class's spec.maxConcurrentRuns slots are taken. */
    WaitingForRunSlot(Type.NORMAL),
    RunStarted(Type.NORMAL),
    /** Progress of a run in flight: changes every few seconds, so never an Event. */
    Running(null),
    RunSucceeded(Type.NORMAL),
    RunFailed(Type.WARNING),
    RunSuperseded(Type.NORMAL),
    // InferenceDeployment
    RollingOut(null),
    Serving(Type.NORMAL),
    ServedModelChanged(Type.NORMAL),
    ImageNotAllowed(Type.WARNING),
    // CompressionPolicy
    RunsInProgress(null),
    AllTargetsCompressed(Type.NORMAL),
    NoTargets(Type.NORMAL),
    Suspended(Type.NORMAL),
    FailureLimitReached(Type.WARNING),
    RunCreated(Type.NORMAL),
    RunDeleted(Type.NORMAL),
    RunReverted(Type.NORMAL),
    // HardwareClass
    Accepted(null),
    // any kind
    InvalidSpec(Type.WARNING),
    ReconcileError(Type.WARNING);

    /** Core/v1 Event types. */
    public enum Type {
        NORMAL("Normal"), WARNING("Warning");

        final String text;

        Type(String text) {
            this.text = text;
        }
    }

    /** The Event type when this reason is announced; null for reasons that describe a steady state, never announced. */
    final Type eventType;

    Reason(Type eventType) {
        this.eventType = eventType;
    }
}
