package dev.pollard.graph;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code pollard prune-uniform}: one-shot magnitude pruning of every group, and what it bought. */
@Command(name = "prune-uniform", description = "Remove the lowest-L2 fraction of every pruning group in one shot and "
        + "print parameters, FLOPs, file size and ONNX Runtime CPU latency before and after.")
public class PruneUniformCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "ONNX model file.")
    Path model;

    @Option(names = "--ratio", required = true, description = "Fraction of each group's units to remove, in (0, 1).")
    double ratio;

    @Option(names = "--out", required = true, description = "Where to write the pruned ONNX model.")
    Path out;

    @Option(names = "--channel-multiple", defaultValue = "8", description = "Widths stay multiples of this (default: "
            + "${DEFAULT-VALUE}).")
    int channelMultiple;

    @Option(names = "--batch", defaultValue = "32", description = "Batch size for the latency measurement (default: "
            + "${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--runs", defaultValue = "10", description = "Timed runs of each model (interleaved) after 3 warm-up runs (default: ${DEFAULT-VALUE}).")
    int runs;

    @Override
    public Integer call() throws Exception {
        OnnxModel before;
        OnnxModel after;
        try {
            before = OnnxModel.load(model);
            after = UniformPruning.prune(before, ratio, channelMultiple);
        } catch (ModelException | IllegalArgumentException e) {
            System.err.println("pollard prune-uniform: " + e.getMessage());
            return 2;
        }
        byte[] bytes = after.proto().toByteArray();
        String sha = after.save(out);
        long sizeBefore = Files.size(model);
        double[] ms = OrtLatency.medianMillis(List.of(before, after), batch, 3, runs); // interleaved runs
        double msBefore = ms[0];
        double msAfter = ms[1];
        long flopsBefore = UniformPruning.flops(before, 1);
        long flopsAfter = UniformPruning.flops(after, 1);
        long paramsBefore = UniformPruning.parameters(before);
        long paramsAfter = UniformPruning.parameters(after);
        System.out.printf("%-28s %16s %16s %10s%n", "", "before", "after", "change");
        System.out.printf("%-28s %16d %16d %9.1f%%%n", "parameters", paramsBefore, paramsAfter, pct(paramsBefore, paramsAfter));
        System.out.printf("%-28s %16.1f %16.1f %9.1f%%%n", "MFLOPs per inference", flopsBefore / 1e6, flopsAfter / 1e6,
                pct(flopsBefore, flopsAfter));
        System.out.printf("%-28s %16d %16d %9.1f%%%n", "file bytes", sizeBefore, (long) bytes.length, pct(sizeBefore, bytes.length));
        System.out.printf("%-28s %16.2f %16.2f %9.2fx%n", "ORT CPU ms (batch " + batch + ")", msBefore, msAfter, msBefore / msAfter);
        System.out.printf("wrote %s sha256:%s%n", out, sha);
        return 0;
    }

    private static double pct(double before, double after) {
        return 100 * (after - before) / before;
    }
}
