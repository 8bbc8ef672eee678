package dev.pollard.energy;

/** Something to measure: runs the same inference (or layer) {@code repetitions} times, synchronised at both edges. */
@FunctionalInterface
public interface Workload {
    void run(int repetitions);
}
