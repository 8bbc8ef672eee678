package dev.pollard.energy;

/**
 * One measurement window of a meter.
 *
 * @param joules energy over the window
 * @param seconds wall time of the window
 * @param samples how many meter updates the window saw (energy-counter steps or power samples)
 * @param repetitions workload repetitions inside the window
 */
public record Window(String meter, double joules, double seconds, int samples, int repetitions) {
    public double joulesPerRepetition() {
        return joules / repetitions;
    }

    public double watts() {
        return joules / seconds;
    }
}
