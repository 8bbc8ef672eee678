package dev.pollard.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.pollard.data.Dataset;
import dev.pollard.data.Datasets;
import dev.pollard.graph.GraphExecutor;
import dev.pollard.graph.OnnxModel;
import dev.pollard.graph.Surgery;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Training one of Pollard's CNNs in Java on the real Fashion-MNIST, and serving what it learned in ONNX Runtime. */
class FineTunerTest {

    @Test
    void aSmallCnnLearnsFashionMnistAndOnnxRuntimeAgreesOnItsAccuracy() throws Exception {
        Datasets.Splits splits = Datasets.load(Path.of("/usr/share/datasets/fashion-mnist"), "idx");
        var test = splits.test().slice(0, 2000);
        OnnxModel model = OnnxModel.of(Architectures.build("small", 1), "small");
        try (GraphExecutor executor = new GraphExecutor(model)) {
            double before = FineTuner.accuracy(executor, "image", test, 500);
            FineTuner.train(executor, "image", splits.train(), FineTuner.Settings.defaults(60), null);
            double after = FineTuner.accuracy(executor, "image", test, 500);
            assertThat(before).isLessThan(0.3); // untrained: about chance
            assertThat(after).isGreaterThan(0.7);
            OnnxModel trained = Surgery.withWeights(model, executor.weights());
            assertThat(OrtEvaluation.accuracy(trained, test, 500)).isCloseTo(after, within(0.005));
        }
    }

    /** A batch whose loss or gradient is not finite is skipped, not let into every weight for good. */
    @Test
    void aStepWhoseGradientIsNotFiniteIsSkipped() {
        Datasets.Splits splits = Datasets.load(Path.of("/usr/share/datasets/fashion-mnist"), "idx");
        Dataset some = splits.train().slice(0, 256);
        float[] poisoned = some.features().clone();
        java.util.Arrays.fill(poisoned, 0, 28 * 28, Float.POSITIVE_INFINITY); // one image of infinities
        Dataset bad = new Dataset(poisoned, some.labels(), some.sampleShape());
        OnnxModel model = OnnxModel.of(Architectures.build("small", 1), "small");
        try (GraphExecutor executor = new GraphExecutor(model)) {
            // batches of 256 from 256 samples: every step holds the poisoned image
            FineTuner.train(executor, "image", bad, new FineTuner.Settings(1e-3, 256, 1e-4, 3, 1), null);
            executor.weights().forEach((name, w) -> {
                for (float f : w) {
                    assertThat(f).as(name).isFinite();
                }
            });
            FineTuner.train(executor, "image", some, new FineTuner.Settings(1e-3, 256, 1e-4, 3, 1), null);
            assertThat(FineTuner.accuracy(executor, "image", splits.test().slice(0, 500), 500)).isGreaterThan(0.2);
        }
    }

    @Test
    void theLearningRateWarmsUpThenDecaysToZero() {
        assertThat(FineTuner.schedule(1, 200)).isEqualTo(0.05);
        assertThat(FineTuner.schedule(20, 200)).isEqualTo(1.0);
        assertThat(FineTuner.schedule(110, 200)).isCloseTo(0.5, within(1e-9));
        assertThat(FineTuner.schedule(200, 200)).isCloseTo(0.0, within(1e-9));
        for (int step = 21; step <= 200; step++) {
            assertThat(FineTuner.schedule(step, 200)).isLessThan(FineTuner.schedule(step - 1, 200)).isNotNegative();
        }
        assertThat(FineTuner.schedule(5, 5)).isEqualTo(1.0); // too short to decay: all warm-up
    }
}
