package dev.pollard.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pollard.energy.AnalyticalMeter;
import dev.pollard.energy.HardwarePresets;
import dev.pollard.energy.ModelEnergy;
import dev.pollard.graph.DependencyGraph;
import dev.pollard.graph.OnnxModel;
import dev.pollard.graph.PruningGroup;
import dev.pollard.testing.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A step takes its share of the units in whole multiples, spread over the groups the ranking names, however thinly
 * the ranking spreads: on a residual network, rounding each group's share down took one multiple from one group.
 */
class StepPlanTest {
    @Test
    void aStepFillsItsShareWithWholeMultiplesFromSeveralGroups() {
        OnnxModel resnet = OnnxModel.load(Fixtures.path("resnet18"));
        ModelEnergy energy = ModelEnergy.analytical(new AnalyticalMeter(HardwarePresets.energyModel(HardwarePresets.spec("h100"))), 32);
        Pruner pruner = new Pruner(energy, null, null, new Pruner.Settings(0.6, null, 0.01, "energy-aware", 0.6, 0.4, 0.1,
                1.5, 8, 20, FineTuner.Settings.defaults(0)), "input", new PrintStream(new ByteArrayOutputStream()));
        int units = DependencyGraph.groups(resnet).stream().filter(g -> g.width() > 8).mapToInt(PruningGroup::width).sum();
        int share = (int) Math.ceil(0.1 * units);

        double joules = energy.joules(resnet);
        Map<String, Integer> step = pruner.plan(resnet, joules, joules, 0.6, 0.4, 0.1, Set.of());

        int removed = step.values().stream().mapToInt(Integer::intValue).sum();
        assertThat(removed).as("%s of %d units", step, units).isBetween(share, share + 7);
        assertThat(step.values()).allMatch(n -> n % 8 == 0);
        assertThat(step).hasSizeGreaterThan(1);
        DependencyGraph.groups(resnet).stream().filter(g -> step.containsKey(g.id())).forEach(g ->
                assertThat(step.get(g.id())).as(g.id()).isLessThanOrEqualTo(pruner.room(g)));
    }

    /**
     * Close to the budget a step takes what the fingerprints say is still needed, not its whole share: one multiple of any
     * group already saves more than a ten-thousandth of the model's energy, so such a step takes exactly one.
     */
    @Test
    void aStepNearTheBudgetTakesNoMoreThanItNeeds() {
        OnnxModel resnet = OnnxModel.load(Fixtures.path("resnet18"));
        ModelEnergy energy = ModelEnergy.analytical(new AnalyticalMeter(HardwarePresets.energyModel(HardwarePresets.spec("h100"))), 32);
        double joules = energy.joules(resnet);
        for (String criterion : List.of("energy-aware", "magnitude", "knapsack")) {
            double beta = criterion.equals("magnitude") ? 0 : 0.4;
            Pruner pruner = new Pruner(energy, null, null, new Pruner.Settings(0.6, null, 0.01, criterion, 0.6, beta, 0.1,
                    1.5, 8, 20, FineTuner.Settings.defaults(0)), "input", new PrintStream(new ByteArrayOutputStream()));
            Map<String, Integer> whole = pruner.plan(resnet, joules, joules, 0.6, beta, 0.1, Set.of());
            Map<String, Integer> near = pruner.plan(resnet, joules, joules * 1e-4, 0.6, beta, 0.1, Set.of());

            assertThat(near.values()).as(criterion).containsExactly(8);
            assertThat(whole.values().stream().mapToInt(Integer::intValue).sum()).as(criterion).isGreaterThan(8);
        }
    }

    /** The smallest step of a 16-channel group is a quarter of it, not half: its multiple shrinks to 4 (and then 2). */
    @Test
    void aNarrowGroupsMultipleIsAtMostAQuarterOfIt() {
        Pruner pruner = new Pruner(null, null, null, new Pruner.Settings(0.6, null, 0.01, "energy-aware", 0.6, 0.4, 0.1,
                1.5, 8, 20, FineTuner.Settings.defaults(0)), "input", new PrintStream(new ByteArrayOutputStream()));
        assertThat(pruner.multiple(group("channels", 64))).isEqualTo(8);
        assertThat(pruner.multiple(group("channels", 32))).isEqualTo(8);
        assertThat(pruner.multiple(group("channels", 16))).isEqualTo(4);
        assertThat(pruner.multiple(group("channels", 8))).isEqualTo(2);
        assertThat(pruner.multiple(group(Pruner.HEADS, 12))).isEqualTo(1);
        assertThat(pruner.room(group("channels", 16))).isEqualTo(4);
    }

    private static PruningGroup group(String kind, int width) {
        return new PruningGroup("g", kind, width, List.of(), 0, 1, List.of());
    }
}
