package dev.pollard.energy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.pollard.graph.DependencyGraph;
import dev.pollard.graph.NodeCost;
import dev.pollard.graph.OnnxModel;
import dev.pollard.graph.PruningGroup;
import dev.pollard.testing.OnnxBuilder;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Energy is taken at the batch the model is served at, and figures at one batch are never reused for another. */
class ModelEnergyTest {
    private static final OnnxModel CNN = OnnxModel.of(OnnxBuilder.smallCnn(), "small-cnn");

    @TempDir
    Path cache;

    @Test
    void analyticalEnergyIsPerSampleOfTheServedBatchWhereWeightsAreReadOncePerBatch() {
        AnalyticalMeter meter = new AnalyticalMeter(AnalyticalMeterTest.H100);
        double atOne = ModelEnergy.analytical(meter, 1).joules(CNN);
        double at32 = ModelEnergy.analytical(meter, 32).joules(CNN);
        double whole32 = meter.joules(NodeCost.of(CNN, 32).stream()
                .map(c -> new OpCost(c.node(), c.opType(), c.flops(), c.bytes())).toList());
        assertThat(at32).isCloseTo(whole32 / 32, within(whole32 * 1e-12));
        assertThat(at32).isLessThan(atOne); // the weights' traffic is shared by 32 samples
        assertThat(ModelEnergy.analytical(meter, 32).batch()).isEqualTo(32);
    }

    @Test
    void fingerprintsAreCachedPerBatch() {
        AtomicInteger windows = new AtomicInteger();
        EnergyMeter counting = new EnergyMeter() {
            @Override
            public String name() {
                return "rapl";
            }

            @Override
            public String describe() {
                return "a counting meter";
            }

            @Override
            public Window measure(Workload workload, int repetitions) {
                windows.incrementAndGet();
                workload.run(repetitions);
                return new Window("rapl", 1e-3 * repetitions, 1, 100, repetitions);
            }
        };
        PruningGroup group = DependencyGraph.groups(CNN).get(0);
        Set<Integer> widths = Set.of(group.width(), group.width() - 4);
        new Fingerprints(counting, 2, 1, 0, cache).of(CNN, group, widths, "h100");
        int first = windows.get();
        assertThat(first).isPositive();
        new Fingerprints(counting, 2, 1, 0, cache).of(CNN, group, widths, "h100");
        assertThat(windows.get()).as("the same batch is read from the cache").isEqualTo(first);
        new Fingerprints(counting, 4, 1, 0, cache).of(CNN, group, widths, "h100");
        assertThat(windows.get()).as("another batch is measured again").isGreaterThan(first);
    }
}
