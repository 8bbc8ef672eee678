package dev.pollard.graph;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pollard.testing.Fixtures;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** BatchNorms put back behind the convolutions PyTorch's exporter folded them into, and folded in again. */
class BatchNormsTest {

    @Test
    void unfoldedBatchNormsLeaveTheOutputsAsTheyWereAndFoldBackWithWhatTheyLearned() throws Exception {
        OnnxModel model = OnnxModel.load(Fixtures.path("mobilenet_v2")); // depthwise and pointwise convolutions, all folded
        int folded = BatchNorms.foldedOutputs(model).size();
        assertThat(folded).isGreaterThan(50);
        float[] sample = new float[4 * 3 * 224 * 224];
        Random random = new Random(5);
        for (int i = 0; i < sample.length; i++) {
            sample[i] = random.nextFloat();
        }

        BatchNorms.Unfolded unfolded = BatchNorms.unfold(model, model.inputs().get(0).name(), sample, new long[] {4, 3, 224, 224});
        assertThat(unfolded.convolutions()).hasSize(folded);
        assertThat(unfolded.model().nodes()).hasSize(model.nodes().size() + folded);
        assertThat(BatchNorms.foldedOutputs(unfolded.model())).isEmpty();
        // each starts as the identity on the model's data
        assertClose(RealArchitecturesTest.run(unfolded.model(), 2, 224), RealArchitecturesTest.run(model, 2, 224));

        // what fine-tuning would change: scales, shifts and running statistics
        Map<String, float[]> learned = new HashMap<>();
        Random change = new Random(7);
        unfolded.model().initializers().forEach((name, t) -> {
            if (name.contains("/unfolded-batchnorm/")) {
                float[] v = t.floats().clone();
                for (int i = 0; i < v.length; i++) {
                    v[i] = name.endsWith("/variance") || name.endsWith("/scale") ? v[i] * (0.5f + change.nextFloat())
                            : v[i] + 0.1f * (float) change.nextGaussian();
                }
                learned.put(name, v);
            }
        });
        OnnxModel trained = Surgery.withWeights(unfolded.model(), learned);
        OnnxModel refolded = BatchNorms.fold(new BatchNorms.Unfolded(trained, unfolded.convolutions()));

        assertThat(refolded.nodes()).extracting(n -> n.getOpType()).doesNotContain("BatchNormalization")
                .hasSize(model.nodes().size());
        assertThat(refolded.initializers().keySet()).isEqualTo(model.initializers().keySet());
        assertClose(RealArchitecturesTest.run(refolded, 2, 224), RealArchitecturesTest.run(trained, 2, 224));
    }

    private static void assertClose(float[][] actual, float[][] expected) {
        for (int b = 0; b < expected.length; b++) {
            for (int c = 0; c < expected[b].length; c++) {
                assertThat((double) Math.abs(actual[b][c] - expected[b][c]))
                        .isLessThanOrEqualTo(1e-3 * Math.max(1, Math.abs(expected[b][c])));
            }
        }
    }
}
