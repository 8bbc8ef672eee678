package dev.pollard.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.pollard.data.Dataset;
import dev.pollard.graph.OnnxModel;
import dev.pollard.testing.TinyOnnx;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Accuracy and loss in ONNX Runtime against the tiny classifier's outputs computed in plain Java. */
class OrtEvaluationTest {
    @Test
    void lossIsTheMeanCrossEntropyOfTheOutputsTakenAsLogitsOverEveryBatch() throws Exception {
        OnnxModel model = OnnxModel.parse(TinyOnnx.classifier(), "tiny");
        float[] x = {1, 2, 3, 4, -1, 0.5f, 2, 0, 0, 0, 0, 1};
        int[] labels = {0, 2, 1};
        double loss = 0;
        int correct = 0;
        for (int i = 0; i < labels.length; i++) {
            double[] out = TinyOnnx.expected(Arrays.copyOfRange(x, 4 * i, 4 * i + 4));
            double sum = Arrays.stream(out).map(Math::exp).sum();
            loss += Math.log(sum) - out[labels[i]];
            int best = 0;
            for (int c = 1; c < out.length; c++) {
                best = out[c] > out[best] ? c : best;
            }
            correct += best == labels[i] ? 1 : 0;
        }
        Dataset data = new Dataset(x, labels, new int[] {4});

        // batches of 2: the last one holds a single sample and must count once, not as a whole batch
        assertThat(OrtEvaluation.loss(model, data, 2)).isCloseTo(loss / labels.length, within(1e-6));
        assertThat(OrtEvaluation.accuracy(model, data, 2)).isEqualTo((double) correct / labels.length);
    }
}
