package dev.pollard.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pollard.data.Dataset;
import dev.pollard.data.Datasets;
import dev.pollard.graph.DependencyGraph;
import dev.pollard.graph.OnnxModel;
import dev.pollard.graph.PruningGroup;
import dev.pollard.graph.Surgery;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The measured sensitivity on the embedded trained CNN and the real Fashion-MNIST, and its rule for zero readings. */
class SensitivityTest {
    @Test
    void aReadingOfZeroOrLessCountsAsTheSmallestPositiveOneNotAsFree() {
        assertThat(Sensitivity.zeroAsSmallest(Map.of("a", 0.0, "b", 0.3, "c", -0.1, "d", 2.0)))
                .containsAllEntriesOf(Map.of("a", 0.3, "b", 0.3, "c", 0.3, "d", 2.0));
        assertThat(Sensitivity.zeroAsSmallest(Map.of("a", 0.0, "b", -1.0))).containsAllEntriesOf(Map.of("a", 1.0, "b", 1.0));
    }

    @Test
    void everyGroupOfATrainedNetworkReadsAFiniteCostAndLosingHalfALayerRaisesTheLoss() throws Exception {
        OnnxModel model;
        try (InputStream in = PruneCommand.class.getResourceAsStream(PruneCommand.EMBEDDED_MODEL)) {
            model = OnnxModel.parse(in.readAllBytes(), "embedded");
        }
        Dataset sample = Sensitivity.sample(Datasets.load(Path.of("/usr/share/datasets/fashion-mnist"), "idx").train(), 7);
        assertThat(sample.size()).isEqualTo(Sensitivity.SAMPLES);
        List<PruningGroup> groups = DependencyGraph.groups(model);

        List<Pruner.Fingerprint> prints = groups.stream()
                .map(g -> new Pruner.Fingerprint(g, 0, Surgery.l2(model, g))).toList();

        Map<String, Double> readings = Sensitivity.probe(model, prints, g -> 8, sample);

        assertThat(readings).containsOnlyKeys(groups.stream().map(PruningGroup::id).toList());
        assertThat(readings.values()).allSatisfy(r -> assertThat(r).isPositive().isFinite());
        double loss = OrtEvaluation.loss(model, sample, 256);
        assertThat(loss).as("a trained network, well below chance's ln 10").isLessThan(0.6);
        PruningGroup first = groups.get(0);
        OnnxModel half = Surgery.remove(model, first, IntStream.range(0, first.width() / 2).toArray());
        assertThat(OrtEvaluation.loss(half, sample, 256)).isGreaterThan(loss);
    }
}
