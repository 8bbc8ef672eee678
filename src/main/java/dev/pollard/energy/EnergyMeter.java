package dev.pollard.energy;

/** A source of energy figures. Every figure Pollard reports carries the name of the meter that produced it. */
public interface EnergyMeter extends AutoCloseable {
    /** nvml, rapl or analytical. */
    String name();

    /** What the meter measures, e.g. the GPU product and driver, for reports. */
    String describe();

    /** Runs the workload once for {@code repetitions} repetitions inside one window. */
    Window measure(Workload workload, int repetitions);

    /** Meter updates a window needs for a trustworthy reading (NVML's counter moves only every 20-100 ms). */
    default int minimumSamples() {
        return 10;
    }

    @Override
    default void close() {
    }
}
