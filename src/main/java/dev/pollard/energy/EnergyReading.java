package dev.pollard.energy;

import java.util.List;

/** Joules per repetition over repeated windows: median and spread, and the meter that measured them. */
public record EnergyReading(String meter, double median, double min, double max, List<Window> windows) {

    static EnergyReading of(List<Window> windows) {
        double[] values = windows.stream().mapToDouble(Window::joulesPerRepetition).sorted().toArray();
        int n = values.length;
        double median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
        return new EnergyReading(windows.get(0).meter(), median, values[0], values[n - 1], List.copyOf(windows));
    }

    /** Half the min-max range relative to the median. */
    public double relativeSpread() {
        return median == 0 ? 0 : (max - min) / 2 / median;
    }

    @Override
    public String toString() {
        return String.format("%.6g J/inference (%s, %d windows, %.6g..%.6g)", median, meter, windows.size(), min, max);
    }
}
