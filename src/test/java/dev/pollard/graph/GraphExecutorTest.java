package dev.pollard.graph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.pollard.testing.Fixtures;
import dev.pollard.testing.OnnxBuilder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The DJL execution of ONNX graphs gives what ONNX Runtime gives, and gradients reach the weights. */
class GraphExecutorTest {
    static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    @Test
    void smallCnnMatchesOnnxRuntime() throws Exception {
        assertMatchesOnnxRuntime(OnnxModel.of(OnnxBuilder.smallCnn(), "small-cnn"), new long[] {3, 1, 28, 28});
    }

    @Test
    void resnet18MatchesOnnxRuntime() throws Exception {
        assertMatchesOnnxRuntime(OnnxModel.load(Fixtures.path("resnet18")), new long[] {2, 3, 224, 224});
    }

    @Test
    void mobilenetV2MatchesOnnxRuntime() throws Exception {
        assertMatchesOnnxRuntime(OnnxModel.load(Fixtures.path("mobilenet_v2")), new long[] {2, 3, 224, 224});
    }

    @Test
    void bertStyleEncoderMatchesOnnxRuntime() throws Exception {
        assertMatchesOnnxRuntime(OnnxModel.load(Fixtures.path("bert2")), new long[] {2, 32});
    }

    /** The pruned encoder (half the heads and feed-forward neurons, rewritten head counts) runs the same on DJL. */
    @Test
    void prunedBertStyleEncoderMatchesOnnxRuntime() throws Exception {
        assertMatchesOnnxRuntime(UniformPruning.prune(OnnxModel.load(Fixtures.path("bert2")), 0.5, 8), new long[] {2, 32});
    }

    @Test
    void attentionLayerWithoutTwoHeadsMatchesOnnxRuntime() throws Exception {
        OnnxModel model = OnnxModel.of(dev.pollard.testing.OnnxBuilder.attention(), "attention");
        assertMatchesOnnxRuntime(Surgery.remove(model, DependencyGraph.groups(model).get(0), new int[] {0, 2}),
                new long[] {3, 6, 16});
    }

    @Test
    void gradientsReachTheWeightsAndATrainingStepLowersTheLoss() {
        OnnxModel model = OnnxModel.of(OnnxBuilder.smallCnn(), "small-cnn");
        try (GraphExecutor executor = new GraphExecutor(model); NDManager scope = NDManager.newBaseManager("PyTorch")) {
            assertThat(executor.trainable()).containsKeys("c1.w", "c2.w", "fc.w", "bn1.s").doesNotContainKeys("bn1.m", "bn1.v");
            NDArray x = scope.randomNormal(new Shape(8, 1, 28, 28));
            NDArray y = scope.create(new int[] {0, 1, 2, 3, 4, 5, 6, 7});
            executor.trainable().values().forEach(w -> w.setRequiresGradient(true));
            float first = 0;
            float last = 0;
            for (int step = 0; step < 5; step++) {
                try (NDManager batch = scope.newSubManager()) {
                    float value;
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray logits = executor.forward(batch, Map.of("image", x)).singletonOrThrow();
                        NDArray loss = logits.logSoftmax(1).gather(y.toType(ai.djl.ndarray.types.DataType.INT64, false)
                                .reshape(-1, 1), 1).neg().mean();
                        gc.backward(loss);
                        value = loss.getFloat();
                    }
                    if (step == 0) {
                        first = value;
                    }
                    last = value;
                    for (NDArray w : executor.trainable().values()) {
                        w.subi(w.getGradient().mul(0.05f)); // plain SGD, outside gradient recording
                    }
                }
            }
            assertThat(last).isLessThan(first);
            assertThat(executor.weights().get("c1.w")).isNotEqualTo(model.initializers().get("c1.w").floats());
        }
    }

    /** In training, BatchNorm normalises with the batch's statistics and moves its running ones as PyTorch does. */
    @Test
    void batchNormInTrainingUsesTheBatchAndLearnsItsStatistics() {
        OnnxBuilder b = new OnnxBuilder().input("x", -1, 2, 3).output("y");
        b.weights("s", true, 2).weights("b", false, 2).weights("m", false, 2).weights("v", true, 2);
        b.node("BatchNormalization", "bn", OnnxBuilder.in("x", "s", "b", "m", "v"), OnnxBuilder.in("y"), "epsilon", 1e-5f,
                "momentum", 0.9f);
        OnnxModel model = OnnxModel.of(b.build(), "bn");
        float[] s = model.initializers().get("s").floats();
        float[] bias = model.initializers().get("b").floats();
        float[] m = model.initializers().get("m").floats();
        float[] v = model.initializers().get("v").floats();
        float[] x = {1, 2, 3, 10, 20, 30, 4, 5, 6, 40, 50, 60}; // [2 samples, 2 channels, 3]
        try (GraphExecutor executor = new GraphExecutor(model); NDManager scope = NDManager.newBaseManager("PyTorch")) {
            float[] y = executor.forward(scope, Map.of("x", scope.create(x, new Shape(2, 2, 3))), true).get(0).toFloatArray();
            Map<String, float[]> learned = executor.weights();
            for (int c = 0; c < 2; c++) {
                double[] values = new double[6];
                for (int n = 0; n < 2; n++) {
                    for (int i = 0; i < 3; i++) {
                        values[n * 3 + i] = x[n * 6 + c * 3 + i];
                    }
                }
                double mean = java.util.Arrays.stream(values).average().orElseThrow();
                double biased = java.util.Arrays.stream(values).map(a -> (a - mean) * (a - mean)).sum() / 6;
                assertThat(y[c * 3]).isCloseTo((float) ((values[0] - mean) / Math.sqrt(biased + 1e-5) * s[c] + bias[c]),
                        within(1e-4f));
                assertThat(learned.get("m")[c]).isCloseTo((float) (0.9 * m[c] + 0.1 * mean), within(1e-4f));
                assertThat(learned.get("v")[c]).isCloseTo((float) (0.9 * v[c] + 0.1 * biased * 6 / 5),
                        within(1e-3f));
            }
            // inference leaves the statistics alone and uses them
            float[] before = executor.weights().get("m");
            executor.forward(scope, Map.of("x", scope.create(x, new Shape(2, 2, 3))));
            assertThat(executor.weights().get("m")).isEqualTo(before);
        }
    }

    static void assertMatchesOnnxRuntime(OnnxModel model, long[] inputShape) throws Exception {
        String input = model.inputs().get(0).name();
        boolean tokens = model.inputs().get(0).elementType() == 7;
        int n = (int) Shapes.elements(inputShape);
        Random random = new Random(5);
        float[] floats = new float[n];
        long[] longs = new long[n];
        for (int i = 0; i < n; i++) {
            floats[i] = random.nextFloat();
            longs[i] = random.nextInt(1000);
        }
        float[] expected;
        try (OrtSession session = ENV.createSession(model.proto().toByteArray(), new OrtSession.SessionOptions());
                OnnxTensor x = tokens ? OnnxTensor.createTensor(ENV, LongBuffer.wrap(longs), inputShape)
                        : OnnxTensor.createTensor(ENV, FloatBuffer.wrap(floats), inputShape);
                OrtSession.Result result = session.run(Map.of(input, x))) {
            FloatBuffer b = ((OnnxTensor) result.get(0)).getFloatBuffer();
            expected = new float[b.remaining()];
            b.get(expected);
        }
        try (GraphExecutor executor = new GraphExecutor(model); NDManager scope = NDManager.newBaseManager("PyTorch")) {
            NDArray x = tokens ? scope.create(longs, new Shape(inputShape)) : scope.create(floats, new Shape(inputShape));
            float[] actual = executor.forward(scope, Map.of(input, x)).get(0).toFloatArray();
            assertThat(actual).hasSize(expected.length);
            double worst = 0;
            for (int i = 0; i < actual.length; i++) {
                worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
            }
            assertThat(worst).as("max abs difference to ONNX Runtime").isLessThanOrEqualTo(1e-4);
        }
    }
}
