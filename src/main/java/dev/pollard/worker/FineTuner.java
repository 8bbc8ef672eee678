package dev.pollard.worker;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.pollard.data.Dataset;
import dev.pollard.graph.GraphExecutor;
import java.util.HashMap;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * Trains a model's weights through its {@link GraphExecutor}: softmax cross-entropy on integer labels, Adam with
 * L2 weight decay (as PyTorch's Adam applies it), mini-batches drawn in a seeded order, BatchNorm on batch statistics
 * (PyTorch's train mode).
 */
public final class FineTuner {
    /** Adam's settings and how long to train. */
    public record Settings(double learningRate, int batchSize, double weightDecay, int steps, long seed) {
        public static Settings defaults(int steps) {
            return new Settings(1e-3, 128, 1e-4, steps, 42);
        }

        /** The same settings with the batches drawn in another order. */
        public Settings withSeed(long other) {
            return new Settings(learningRate, batchSize, weightDecay, steps, other);
        }
    }

    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double EPSILON = 1e-8;

    private FineTuner() {
    }

    /** Runs the given number of optimizer steps; returns the mean loss of the last 20 steps. */
    public static double train(GraphExecutor executor, String input, Dataset data, Settings settings, IntConsumer onStep) {
        Map<String, NDArray> weights = executor.trainable();
        weights.values().forEach(w -> w.setRequiresGradient(true));
        Map<String, NDArray> m = new HashMap<>();
        Map<String, NDArray> v = new HashMap<>();
        int[] order = data.shuffledIndices(settings.seed());
        int cursor = 0;
        double recent = 0;
        int counted = 0;
        int skipped = 0;
        try (NDManager state = NDManager.newBaseManager("PyTorch")) {
            weights.forEach((name, w) -> {
                m.put(name, state.zeros(w.getShape()));
                v.put(name, state.zeros(w.getShape()));
            });
            for (int step = 1; step <= settings.steps(); step++) {
                if (cursor + settings.batchSize() > order.length) {
                    cursor = 0;
                }
                int[] batch = java.util.Arrays.copyOfRange(order, cursor, cursor + Math.min(settings.batchSize(), order.length));
                cursor += batch.length;
                Dataset b = data.select(batch);
                double loss;
                // NDScope frees every array made in the step, also those DJL attaches to the weights' manager
                try (NDScope arrays = new NDScope(); NDManager scope = state.newSubManager()) {
                    arrays.suppressNotUsedWarning();
                    NDArray x = scope.create(b.features(), shape(b));
                    NDArray y = scope.create(b.labels());
                    Map<String, float[]> statistics = new HashMap<>();
                    executor.runningStatistics().forEach((name, a) -> statistics.put(name, a.toFloatArray()));
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray logits = executor.forward(scope, Map.of(input, x), true).get(0);
                        NDArray l = crossEntropy(logits, y);
                        gc.backward(l);
                        loss = l.getFloat();
                    }
                    if (!finite(loss, weights)) {
                        // one batch whose gradient overflowed would turn every weight into NaN for good: skip it,
                        // the BatchNorm statistics it moved included
                        weights.values().forEach(w -> clear(w.getGradient()));
                        executor.runningStatistics().forEach((name, a) -> a.set(statistics.get(name)));
                        skipped++;
                    } else {
                        adam(weights, m, v, settings, step);
                    }
                }
                if (step > settings.steps() - 20 && Double.isFinite(loss)) {
                    recent += loss;
                    counted++;
                }
                if (onStep != null) {
                    onStep.accept(step);
                }
            }
        }
        weights.values().forEach(w -> w.setRequiresGradient(false));
        if (skipped > 0) {
            System.err.printf("fine-tuning skipped %d of %d steps: their gradient was not finite%n", skipped, settings.steps());
        }
        return counted == 0 ? Double.NaN : recent / counted;
    }

    /** One step of Adam with L2 weight decay; clears the gradients it used. */
    private static void adam(Map<String, NDArray> weights, Map<String, NDArray> m, Map<String, NDArray> v, Settings settings,
            int step) {
        double correction1 = 1 - Math.pow(BETA1, step);
        double correction2 = 1 - Math.pow(BETA2, step);
        for (var e : weights.entrySet()) {
            NDArray w = e.getValue();
            NDArray g = w.getGradient().add(w.mul((float) settings.weightDecay()));
            NDArray mt = m.get(e.getKey());
            NDArray vt = v.get(e.getKey());
            mt.muli((float) BETA1).addi(g.mul((float) (1 - BETA1)));
            vt.muli((float) BETA2).addi(g.square().mul((float) (1 - BETA2)));
            NDArray update = mt.div((float) correction1)
                    .div(vt.div((float) correction2).sqrt().add((float) EPSILON))
                    .mul((float) (settings.learningRate() * schedule(step, settings.steps())));
            w.subi(update);
            w.getGradient().muli(0); // PyTorch accumulates gradients across backward passes
        }
    }

    /**
     * Learning-rate factor: a linear warm-up over the first tenth of the steps (at least 10), then a cosine decay to
     * zero at the last step. Adam restarting at full rate on an already trained model first undoes part of what it
     * learned, which the warm-up avoids; and accuracy after a constant rate swings with the last batches (about a
     * point on Fashion-MNIST at 0.001, as much as a typical ε), which the decay settles, so a step is judged on what it
     * removed rather than on where the optimiser happened to stop.
     */
    static double schedule(int step, int steps) {
        int warm = Math.min(steps, Math.max(10, steps / 10));
        if (step <= warm) {
            return (double) step / warm;
        }
        return 0.5 * (1 + Math.cos(Math.PI * (step - warm) / (steps - warm)));
    }

    private static boolean finite(double loss, Map<String, NDArray> weights) {
        return Double.isFinite(loss) && weights.values().stream().allMatch(w -> Float.isFinite(w.getGradient().sum().getFloat()));
    }

    /** Zeroes a gradient in place, also where it holds NaN or infinity (which a multiplication by 0 keeps). */
    private static void clear(NDArray gradient) {
        gradient.set(gradient.isNaN().logicalOr(gradient.isInfinite()), 0f);
        gradient.muli(0);
    }

    /** Top-1 accuracy on a dataset, in batches. */
    public static double accuracy(GraphExecutor executor, String input, Dataset data, int batchSize) {
        long correct = 0;
        try (NDManager scope = NDManager.newBaseManager("PyTorch")) {
            for (int from = 0; from < data.size(); from += batchSize) {
                Dataset b = data.slice(from, batchSize);
                try (NDScope arrays = new NDScope(); NDManager batch = scope.newSubManager()) {
                    arrays.suppressNotUsedWarning();
                    NDArray logits = executor.forward(batch, Map.of(input, batch.create(b.features(), shape(b)))).get(0);
                    long[] predicted = logits.argMax(1).toLongArray();
                    for (int i = 0; i < predicted.length; i++) {
                        if (predicted[i] == b.labels()[i]) {
                            correct++;
                        }
                    }
                }
            }
        }
        return (double) correct / data.size();
    }

    /** Mean softmax cross-entropy: minus the log-probability of each sample's own label. */
    static NDArray crossEntropy(NDArray logits, NDArray labels) {
        NDArray own = labels.toType(ai.djl.ndarray.types.DataType.INT64, false).reshape(-1, 1);
        return logits.logSoftmax(1).gather(own, 1).neg().mean();
    }

    static Shape shape(Dataset b) {
        long[] s = new long[b.sampleShape().length + 1];
        s[0] = b.size();
        for (int i = 0; i < b.sampleShape().length; i++) {
            s[i + 1] = b.sampleShape()[i];
        }
        return new Shape(s);
    }
}
