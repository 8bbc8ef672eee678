package dev.pollard.worker;

import dev.pollard.data.Artifacts;
import dev.pollard.data.DatasetException;
import dev.pollard.data.Datasets;
import dev.pollard.data.FashionMnist;
import dev.pollard.graph.GraphExecutor;
import dev.pollard.graph.OnnxModel;
import dev.pollard.graph.Surgery;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code pollard train}: trains one of Pollard's networks from scratch, in Java, and writes it as ONNX. */
@Command(name = "train", description = "Train a network from scratch on an image dataset (DJL, PyTorch engine, CPU) and "
        + "write it as ONNX.")
public class TrainCommand implements Callable<Integer> {

    @Option(names = "--arch", defaultValue = "small", description = "small or vgg (CNNs), resnet (ResNet-20: BasicBlocks, projection "
            + "shortcuts) or vit (vision transformer: 4 blocks of 4 heads) (default: ${DEFAULT-VALUE}).")
    String arch;

    @Option(names = "--dataset", description = "Dataset location (default: Debian's Fashion-MNIST, "
            + "/usr/share/datasets/fashion-mnist, fetched once into ~/.cache/pollard when it is not installed).")
    Path dataset;

    @Option(names = "--dataset-format", defaultValue = "idx", description = "idx, npz, npy or csv (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--epochs", defaultValue = "2", description = "Passes over the training split (default: ${DEFAULT-VALUE}).")
    double epochs;

    @Option(names = "--learning-rate", defaultValue = "0.001")
    double learningRate;

    @Option(names = "--batch-size", defaultValue = "128")
    int batchSize;

    @Option(names = "--weight-decay", defaultValue = "0.0001")
    double weightDecay;

    @Option(names = "--seed", defaultValue = "42")
    long seed;

    @Option(names = "--out", required = true, description = "Where to write the trained ONNX model.")
    Path out;

    @Override
    public Integer call() throws Exception {
        Datasets.Splits splits;
        OnnxModel model;
        try {
            if (dataset == null) {
                dataset = FashionMnist.locate(FashionMnist.INSTALLED, FashionMnist.cached(), System.err);
            }
            splits = Datasets.load(dataset, format);
            model = OnnxModel.of(Architectures.build(arch, seed), arch);
        } catch (DatasetException | IllegalArgumentException e) {
            System.err.println("pollard train: " + e.getMessage());
            return 2;
        }
        int steps = (int) Math.ceil(epochs * splits.train().size() / batchSize);
        System.err.printf("training %s on %s: %d samples, %d steps of %d%n", arch, dataset, splits.train().size(), steps, batchSize);
        long start = System.nanoTime();
        try (GraphExecutor executor = new GraphExecutor(model)) {
            int report = Math.max(1, steps / 10);
            double loss = FineTuner.train(executor, "image", splits.train(),
                    new FineTuner.Settings(learningRate, batchSize, weightDecay, steps, seed), step -> {
                        if (step % report == 0) {
                            System.err.printf("  step %d/%d (%.0f s)%n", step, steps, (System.nanoTime() - start) / 1e9);
                        }
                    });
            double accuracy = FineTuner.accuracy(executor, "image", splits.test(), 500);
            OnnxModel trained = Surgery.withWeights(model, executor.weights());
            String sha = Artifacts.write(out, trained.proto().toByteArray());
            double served = OrtEvaluation.accuracy(trained, splits.test(), 500);
            System.out.printf("trained %s: final loss %.4f, test accuracy %.4f on DJL and %.4f in ONNX Runtime (%d samples), "
                    + "%.0f s; wrote %s sha256:%s%n", arch, loss, accuracy, served, splits.test().size(),
                    (System.nanoTime() - start) / 1e9, out, sha);
        }
        return 0;
    }
}
