package dev.pollard.energy;

/** A meter that can be read as a running total, for long-lived processes such as the model server. */
public interface EnergyCounter {
    /** nvml, rapl, ... */
    String name();

    /** Joules consumed since an arbitrary origin; only differences between two readings mean anything. */
    double totalJoules();
}
