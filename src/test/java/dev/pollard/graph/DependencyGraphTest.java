package dev.pollard.graph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.pollard.testing.OnnxBuilder;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DependencyGraphTest {
    static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    @Test
    void residualAndDepthwiseCouplingMakeOneGroupAndTheClassifierIsKept() {
        OnnxModel model = OnnxModel.of(OnnxBuilder.smallCnn(), "small-cnn");
        List<PruningGroup> groups = DependencyGraph.groups(model);
        assertThat(groups).singleElement().satisfies(g -> {
            assertThat(g.width()).isEqualTo(16);
            assertThat(g.kind()).isEqualTo("conv-channels");
            assertThat(g.members()).extracting(m -> m.tensor() + "@" + m.axis()).containsExactlyInAnyOrder(
                    "c1.w@0", "c1.b@0", "bn1.s@0", "bn1.b@0", "bn1.m@0", "bn1.v@0", "c2.w@1", "c2.w@0", "c2.b@0",
                    "dw.w@0", "fc.w@1");
        });
    }

    /**
     * Units whose every consumer ignores them (consumer weights zero) can be removed without changing the model's
     * outputs: the pruned model must give the same logits in ONNX Runtime, and its file must be smaller.
     */
    @Test
    void removingUnitsNobodyReadsKeepsTheOutputsExactly() throws Exception {
        OnnxModel model = OnnxModel.of(OnnxBuilder.smallCnn(), "small-cnn");
        PruningGroup group = DependencyGraph.groups(model).get(0);
        int[] removed = {1, 4, 5, 9, 15};
        OnnxModel original = UnreadUnits.zeroConsumers(model, group, removed);
        OnnxModel pruned = Surgery.remove(original, group, removed);

        assertThat(DependencyGraph.groups(pruned)).singleElement().satisfies(g -> assertThat(g.width()).isEqualTo(11));
        assertThat(pruned.proto().toByteArray().length).isLessThan(original.proto().toByteArray().length);
        assertThat(NodeCost.of(pruned, 1).stream().mapToLong(NodeCost::flops).sum())
                .isLessThan(NodeCost.of(original, 1).stream().mapToLong(NodeCost::flops).sum());
        float[] image = new float[3 * 28 * 28];
        Random random = new Random(7);
        for (int i = 0; i < image.length; i++) {
            image[i] = random.nextFloat();
        }
        float[][] before = run(original, image, 3);
        float[][] after = run(pruned, image, 3);
        for (int b = 0; b < 3; b++) {
            for (int c = 0; c < 10; c++) {
                assertThat(after[b][c]).isCloseTo(before[b][c], within(1e-4f));
            }
        }
    }

    @Test
    void l2ImportanceRanksUnitsByTheirWeights() {
        OnnxModel model = OnnxModel.of(OnnxBuilder.smallCnn(), "small-cnn");
        PruningGroup group = DependencyGraph.groups(model).get(0);
        Map<String, float[]> weights = new HashMap<>();
        for (PruningGroup.Member m : group.members()) {
            weights.put(m.tensor(), new float[(int) model.initializers().get(m.tensor()).size()]);
        }
        double[] zero = Surgery.l2(Surgery.withWeights(model, weights), group);
        assertThat(zero).containsOnly(0.0);
        double[] l2 = Surgery.l2(model, group);
        assertThat(l2).hasSize(16);
        assertThat(java.util.Arrays.stream(l2).min().orElseThrow()).isPositive();
    }

    static float[][] run(OnnxModel model, float[] image, int batch) throws Exception {
        try (OrtSession session = ENV.createSession(model.proto().toByteArray(), new OrtSession.SessionOptions());
                OnnxTensor x = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(image), new long[] {batch, 1, 28, 28});
                OrtSession.Result result = session.run(Map.of("image", x))) {
            return (float[][]) result.get(0).getValue();
        }
    }
}
