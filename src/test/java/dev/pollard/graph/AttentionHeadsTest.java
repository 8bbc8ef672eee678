package dev.pollard.graph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.pollard.testing.OnnxBuilder;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Attention heads as one group across Q, K, V, the output projection and the Reshape constants that count heads. */
class AttentionHeadsTest {
    static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    @Test
    void headsOfQueryKeyValueAndOutputProjectionFormOneGroupWithTheirShapeConstants() {
        OnnxModel model = OnnxModel.of(OnnxBuilder.attention(), "attention");
        // the output projection's features reach the graph output: only the heads can go
        assertThat(DependencyGraph.groups(model)).singleElement().satisfies(g -> {
            assertThat(g.kind()).isEqualTo("attention-heads");
            assertThat(g.width()).isEqualTo(4);
            assertThat(g.unitSize()).isEqualTo(4);
            assertThat(g.members()).extracting(m -> m.tensor() + "@" + m.axis() + "x" + m.span() + ":" + m.role())
                    .containsExactlyInAnyOrder("q.w@1x4:PRODUCER", "q.b@0x4:PRODUCER", "k.w@1x4:PRODUCER",
                            "k.b@0x4:PRODUCER", "v.w@1x4:PRODUCER", "v.b@0x4:PRODUCER", "o.w@0x4:CONSUMER",
                            "q.heads@0x1:SHAPE", "k.heads@0x1:SHAPE", "v.heads@0x1:SHAPE", "merge@2x4:SHAPE");
            assertThat(g.parameters()).isEqualTo(3 * (16 * 16 + 16) + 16 * 16);
            // the attention itself scales with the heads too
            assertThat(g.nodes()).contains("q/MatMul", "k/Add", "scores", "scaled", "softmax", "context", "o/MatMul")
                    .doesNotContain("o/Add");
            List<NodeCost> costs = NodeCost.of(model, 2);
            long projections = 4 * 2L * (2 * 6 * 16 * 16);
            long attention = 2 * 2L * (2 * 4 * 6 * 6 * 4);
            assertThat(g.flops(costs)).isGreaterThan(projections + attention);
        });
    }

    /** Heads that the output projection ignores can go without changing the outputs; every head count follows. */
    @Test
    void removingUnreadHeadsKeepsTheOutputsAndRewritesTheHeadCounts() throws Exception {
        OnnxModel model = OnnxModel.of(OnnxBuilder.attention(), "attention");
        PruningGroup heads = DependencyGraph.groups(model).get(0);
        int[] removed = {1, 3};
        OnnxModel original = UnreadUnits.zeroConsumers(model, heads, removed);
        OnnxModel pruned = Surgery.remove(original, heads, removed);

        assertThat(DependencyGraph.groups(pruned)).singleElement().satisfies(g -> {
            assertThat(g.width()).isEqualTo(2);
            assertThat(g.unitSize()).isEqualTo(4);
        });
        assertThat(pruned.initializers().get("q.w").dims()).containsExactly(16, 8);
        assertThat(pruned.initializers().get("o.w").dims()).containsExactly(8, 16);
        assertThat(pruned.initializers().get("k.heads").longs()).containsExactly(2);
        assertThat(pruned.initializers().get("merge").longs()).containsExactly(0, 6, 8);
        ShapeInference shapes = ShapeInference.infer(pruned, 3);
        assertThat(shapes.shape("q4")).containsExactly(3, 6, 2, 4);
        assertThat(shapes.shape("scores")).containsExactly(3, 2, 6, 6);
        assertThat(shapes.shape("merged")).containsExactly(3, 6, 8);
        assertThat(pruned.proto().toByteArray().length).isLessThan(original.proto().toByteArray().length);

        float[] x = new float[3 * 6 * 16];
        Random random = new Random(5);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        float[][][] before = run(original, x);
        float[][][] after = run(pruned, x);
        for (int b = 0; b < 3; b++) {
            for (int s = 0; s < 6; s++) {
                for (int f = 0; f < 16; f++) {
                    assertThat(after[b][s][f]).isCloseTo(before[b][s][f], within(1e-4f));
                }
            }
        }
    }

    @Test
    void uniformPruningHalvesTheHeadsKeepingFeaturesAMultiple() {
        assertThat(UniformPruning.keptUnits(4, 64, 0.5, 8)).isEqualTo(2);
        assertThat(UniformPruning.keptUnits(12, 64, 0.3, 8)).isEqualTo(8);
        assertThat(UniformPruning.keptUnits(4, 4, 0.5, 8)).isEqualTo(2);
        assertThat(UniformPruning.keptUnits(3, 4, 0.5, 8)).isEqualTo(2);
        assertThat(UniformPruning.keptUnits(2, 4, 0.9, 8)).isEqualTo(2);
    }

    static float[][][] run(OnnxModel model, float[] x) throws Exception {
        try (OrtSession session = ENV.createSession(model.proto().toByteArray(), new OrtSession.SessionOptions());
                OnnxTensor t = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(x), new long[] {x.length / 96, 6, 16});
                OrtSession.Result result = session.run(Map.of("x", t))) {
            return (float[][][]) result.get(0).getValue();
        }
    }
}
