package dev.pollard.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pollard.energy.AnalyticalMeter;
import dev.pollard.energy.HardwarePresets;
import dev.pollard.energy.ModelEnergy;
import dev.pollard.graph.DependencyGraph;
import dev.pollard.graph.OnnxModel;
import dev.pollard.graph.PruningGroup;
import dev.pollard.graph.UniformPruning;
import dev.pollard.testing.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.Test;

/**
 * Attention heads inside Algorithm 1: a head group's unit is one head, whatever the channel multiple, so a step can
 * take whole heads from the 4-head layers of the BERT-style fixture (4 < the multiple of 8 used to skip them).
 */
class HeadPruningTest {
    private static final ModelEnergy ENERGY = ModelEnergy.analytical(new AnalyticalMeter(
            HardwarePresets.energyModel(HardwarePresets.spec("h100"))), 1);

    private static Pruner pruner(String criterion) {
        var settings = new Pruner.Settings(0.5, null, 0.03, criterion, 0.6, 0.4, 0.5, 1.5, 8, 10,
                FineTuner.Settings.defaults(0));
        return new Pruner(ENERGY, null, null, settings, "tokens", new PrintStream(new ByteArrayOutputStream()));
    }

    @Test
    void aHeadGroupsUnitIsOneHeadAndTheChannelMultipleStaysForNeurons() {
        Pruner pruner = pruner("energy-aware");
        List<PruningGroup> groups = DependencyGraph.groups(OnnxModel.load(Fixtures.path("bert2")));
        for (PruningGroup g : groups) {
            assertThat(pruner.multiple(g)).isEqualTo(g.kind().equals("attention-heads") ? 1 : 8);
        }
        PruningGroup heads = groups.get(0);
        assertThat(heads.kind()).isEqualTo("attention-heads");
        assertThat(pruner.room(heads)).isEqualTo(1); // a quarter of 4 heads, one head always stays
        assertThat(pruner.room(groups.get(1))).isEqualTo(256);
    }

    @Test
    void energyAwareAndKnapsackStepsTakeWholeHeadsFromEachAttentionLayer() {
        OnnxModel model = OnnxModel.load(Fixtures.path("bert2"));
        List<PruningGroup> groups = DependencyGraph.groups(model);
        double joules = ENERGY.joules(model);
        for (String criterion : List.of("energy-aware", "magnitude", "knapsack")) {
            Pruner pruner = pruner(criterion);
            Map<String, Integer> removal = pruner.plan(model, joules, joules, 0.6, 0.4, 0.5, Set.of());
            for (PruningGroup g : groups) {
                if (g.kind().equals("attention-heads")) {
                    assertThat(removal).as(criterion + " " + g.id()).containsEntry(g.id(), 1);
                } else if (removal.containsKey(g.id())) {
                    assertThat(removal.get(g.id()) % 8).as(criterion + " " + g.id()).isZero();
                }
            }
        }
    }

    @Test
    void energyPerHeadIsWhatRemovingOneHeadSaves() {
        OnnxModel model = OnnxModel.load(Fixtures.path("bert2"));
        Pruner pruner = pruner("energy-aware");
        List<Pruner.Fingerprint> prints = pruner.fingerprints(model, Set.of());
        Pruner.Fingerprint heads = prints.stream().filter(f -> f.group().kind().equals("attention-heads")).findFirst()
                .orElseThrow();
        Pruner.Fingerprint neurons = prints.stream().filter(f -> f.group().kind().equals("linear-neurons")).findFirst()
                .orElseThrow();
        assertThat(heads.importance()).hasSize(4);
        // a head is 64 features of Q, K, V and the output projection: it saves far more than one FFN neuron
        assertThat(heads.joulesPerUnit()).isGreaterThan(10 * neurons.joulesPerUnit());
        OnnxModel withoutOneHead = dev.pollard.graph.Surgery.remove(model, heads.group(), new int[] {0});
        assertThat(heads.joulesPerUnit()).isCloseTo(ENERGY.joules(model) - ENERGY.joules(withoutOneHead),
                org.assertj.core.data.Offset.offset(1e-12));
    }

    @Test
    void knapsackTakesOneHeadWhenOneHeadReachesTheGoal() {
        var heads = new Pruner.Fingerprint(new PruningGroup("heads", "attention-heads", 4, List.of(), 0, 64, List.of()),
                8.0, new double[] {1, 1, 1, 1});
        var channels = new Pruner.Fingerprint(new PruningGroup("channels", "conv-channels", 32, List.of(), 0, 1,
                List.of()), 0.5, flat(32));
        ToIntFunction<PruningGroup> multiple = g -> g.kind().equals("attention-heads") ? 1 : 8;
        assertThat(Knapsack.plan(List.of(heads), 8.0, multiple, g -> 2)).isEqualTo(Map.of("heads", 1));
        // three heads (24 J for an importance of 3) beat any mix with a multiple of channels (4 J for 8)
        assertThat(Knapsack.plan(List.of(heads, channels), 20.0, multiple, PruningGroup::width))
                .isEqualTo(Map.of("heads", 3));
    }

    private static double[] flat(int width) {
        double[] importance = new double[width];
        java.util.Arrays.fill(importance, 1);
        return importance;
    }

    @Test
    void theReportListsTheHeadsKeptOfEachAttentionLayer() {
        OnnxModel dense = OnnxModel.load(Fixtures.path("bert2"));
        OnnxModel pruned = UniformPruning.prune(dense, 0.5, 8);
        List<Report.Group> groups = Pruner.widths(dense, pruned);
        assertThat(groups).extracting(g -> g.kind + ":" + g.widthBefore + "->" + g.widthAfter).containsExactly(
                "attention-heads:4->2", "linear-neurons:1024->512", "attention-heads:4->2", "linear-neurons:1024->512");
    }
}
