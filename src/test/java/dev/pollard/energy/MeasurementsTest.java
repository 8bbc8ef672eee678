package dev.pollard.energy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How windows are sized, with a scripted meter: each window sees the updates the script says. */
class MeasurementsTest {
    /** A meter whose windows see the scripted number of updates, whatever they run. */
    private static final class ScriptedMeter implements EnergyMeter {
        final Deque<Integer> updates;
        final List<Integer> repetitionsAsked = new ArrayList<>();

        ScriptedMeter(Integer... updates) {
            this.updates = new ArrayDeque<>(List.of(updates));
        }

        @Override
        public String name() {
            return "scripted";
        }

        @Override
        public String describe() {
            return "scripted";
        }

        @Override
        public Window measure(Workload workload, int repetitions) {
            repetitionsAsked.add(repetitions);
            return new Window(name(), repetitions, 1, updates.removeFirst(), repetitions);
        }
    }

    @Test
    void repetitionsGrowUntilAWindowSeesEnoughUpdates() {
        ScriptedMeter meter = new ScriptedMeter(0, 3, 10, 10, 12);

        EnergyReading reading = Measurements.measure(meter, repetitions -> { }, 3, 0);

        assertThat(meter.repetitionsAsked).containsExactly(1, 4, 16, 16, 16);
        assertThat(reading.windows()).extracting(Window::samples).containsExactly(10, 10, 12);
    }

    /** A later window that saw fewer updates than the meter needs (a counter's phase) is taken again, longer. */
    @Test
    void everyWindowSeesEnoughUpdatesNotOnlyTheFirst() {
        ScriptedMeter meter = new ScriptedMeter(10, 9, 10, 11);

        EnergyReading reading = Measurements.measure(meter, repetitions -> { }, 3, 0);

        assertThat(reading.windows()).hasSize(3).allSatisfy(w -> assertThat(w.samples()).isGreaterThanOrEqualTo(10));
        assertThat(meter.repetitionsAsked).containsExactly(1, 1, 2, 2);
    }
}
