package dev.pollard.energy;

import java.util.ArrayList;
import java.util.List;

/**
 * Measures a workload the way a slow meter needs: a warm-up, then repetitions grown until a window sees enough meter
 * updates, then several such windows, reported as median and spread. Every window is held to that, not only the first:
 * a counter that moves every 20 ms gives a window of 0.19 s nine or ten updates depending on where the window starts,
 * so a later window that saw too few is taken again, longer.
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
        List<Window> taken = new ArrayList<>();
        while (taken.size() < Math.max(1, windows)) {
            Window window = meter.measure(workload, repetitions);
            boolean enough = window.samples() >= meter.minimumSamples() && window.seconds() >= minimumSeconds;
            if (enough || repetitions >= MAX_REPETITIONS) {
                taken.add(window);
                continue;
            }
            // grow towards what should be enough, at least doubling so a window that saw nothing still makes progress
            double bySamples = window.samples() == 0 ? 4 : 1.2 * meter.minimumSamples() / window.samples();
            double bySeconds = window.seconds() <= 0 ? 4 : 1.2 * minimumSeconds / window.seconds();
            repetitions = (int) Math.min(MAX_REPETITIONS, Math.ceil(repetitions * Math.max(2, Math.max(bySamples, bySeconds))));
        }
        return EnergyReading.of(taken);
    }
}
