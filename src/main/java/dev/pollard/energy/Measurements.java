package dev.pollard.energy;

import java.util.ArrayList;
import java.util.List;

/**
 * Measures a workload the way a slow meter needs: a warm-up, then repetitions grown until one window sees enough meter
 * updates, then several such windows, reported as median and spread.
 */
public final class Measurements {
    static final int MAX_REPETITIONS = 1 << 24;

    private Measurements() {
    }

    /**
     * @param windows how many windows to take (at least 1)
     * @param minimumSeconds a floor on each window's length, on top of the meter's own sample requirement
     */
    public static EnergyReading measure(EnergyMeter meter, Workload workload, int windows, double minimumSeconds) {
        workload.run(1); // warm-up: first-run allocations and lazy initialisation stay out of the figures
        int repetitions = 1;
        Window probe = meter.measure(workload, repetitions);
        while ((probe.samples() < meter.minimumSamples() || probe.seconds() < minimumSeconds) && repetitions < MAX_REPETITIONS) {
            // grow towards what should be enough, at least doubling so a window that saw nothing still makes progress
            double bySamples = probe.samples() == 0 ? 4 : 1.2 * meter.minimumSamples() / probe.samples();
            double bySeconds = probe.seconds() <= 0 ? 4 : 1.2 * minimumSeconds / probe.seconds();
            repetitions = (int) Math.min(MAX_REPETITIONS, Math.ceil(repetitions * Math.max(2, Math.max(bySamples, bySeconds))));
            probe = meter.measure(workload, repetitions);
        }
        List<Window> taken = new ArrayList<>();
        taken.add(probe);
        for (int i = 1; i < windows; i++) {
            taken.add(meter.measure(workload, repetitions));
        }
        return EnergyReading.of(taken);
    }
}
