package dev.pollard.graph;

import ai.onnxruntime.OrtException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code pollard latency}: several models timed side by side in ONNX Runtime on this machine's CPU. Their runs are
 * interleaved, so load from elsewhere on a shared machine falls on all of them alike and the speedups stay comparable.
 */
@Command(name = "latency", description = "Median ONNX Runtime CPU latency of each model, their timed runs interleaved, "
        + "and each one's speedup over the first.")
public class LatencyCommand implements Callable<Integer> {

    @Parameters(arity = "1..*", description = "ONNX model files; the first is the reference for the speedups.")
    List<Path> models;

    @Option(names = "--batch", defaultValue = "128", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--warmup", defaultValue = "3", description = "Untimed runs of each model first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--runs", defaultValue = "30", description = "Timed runs of each model (default: ${DEFAULT-VALUE}).")
    int runs;

    @Override
    public Integer call() throws OrtException {
        if (batch < 1 || runs < 1 || warmup < 0) {
            System.err.println("pollard latency: --batch and --runs must be at least 1, --warmup at least 0");
            return 2;
        }
        List<OnnxModel> loaded = new ArrayList<>();
        for (Path p : models) {
            try {
                loaded.add(OnnxModel.load(p));
            } catch (ModelException e) {
                System.err.println("pollard latency: " + e.getMessage());
                return 2;
            }
        }
        double[] ms = OrtLatency.medianMillis(loaded, batch, warmup, runs);
        System.out.printf("%10s %8s  %s%n", "median ms", "speedup", "model");
        for (int i = 0; i < ms.length; i++) {
            System.out.printf("%10.3f %7.2fx  %s%n", ms[i], ms[0] / ms[i], models.get(i));
        }
        System.out.printf("ONNX Runtime CPU, batch %d, median of %d interleaved runs after %d warm-up runs, %d cores%n", batch,
                runs, warmup, Runtime.getRuntime().availableProcessors());
        return 0;
    }
}
