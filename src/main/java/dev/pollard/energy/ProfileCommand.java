package dev.pollard.energy;

import dev.pollard.graph.DependencyGraph;
import dev.pollard.graph.ModelException;
import dev.pollard.graph.NodeCost;
import dev.pollard.graph.OnnxModel;
import dev.pollard.graph.ServingShape;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code pollard profile}: where a model's energy goes on a hardware class, layer by layer. */
@Command(name = "profile", description = "Print a model's energy per inference layer by layer on a hardware class: "
        + "joules, share of the total and latency.")
public class ProfileCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "ONNX model file.")
    Path model;

    @Option(names = "--hardware", defaultValue = "h100", description = "Hardware class preset: ${COMPLETION-CANDIDATES} "
            + "(default: ${DEFAULT-VALUE}).", completionCandidates = Presets.class)
    String hardware;

    @Option(names = "--meter", defaultValue = "analytical", description = "analytical (datasheet roofline model of the "
            + "hardware class), or nvml (the GPU's energy) or rapl (the CPU package's energy) while each layer runs alone in "
            + "ONNX Runtime on this machine's CPU (default: ${DEFAULT-VALUE}).")
    String meter;

    @Option(names = "--gpu", defaultValue = "0", description = "NVML device index or UUID (default: ${DEFAULT-VALUE}).")
    String gpu;

    @Option(names = "--windows", defaultValue = "3", description = "Measurement windows per layer; the median is reported "
            + "(default: ${DEFAULT-VALUE}).")
    int windows;

    @Option(names = "--min-seconds", defaultValue = "0.5", description = "Shortest window in seconds, on top of the meter's "
            + "own need for updates (default: ${DEFAULT-VALUE}).")
    double minSeconds;

    @Option(names = "--fingerprints", description = "With nvml or rapl: also each prunable group's energy fingerprint, its "
            + "layers' joules at the dense width and at narrower multiples of --channel-multiple.")
    boolean fingerprints;

    @Option(names = "--channel-multiple", defaultValue = "8", description = "Widths are multiples of this (default: "
            + "${DEFAULT-VALUE}).")
    int channelMultiple;

    @Option(names = "--widths", defaultValue = "3", description = "Narrower widths per fingerprint (default: ${DEFAULT-VALUE}).")
    int widths;

    @Option(names = "--cache", description = "Fingerprint cache directory (default: ~/.cache/pollard/fingerprints).")
    Path cache = Path.of(System.getProperty("user.home"), ".cache", "pollard", "fingerprints");

    @Option(names = "--nvml-library", defaultValue = NvmlMeter.DEFAULT_LIBRARY, hidden = true)
    String nvmlLibrary;

    @Option(names = "--rapl-root", hidden = true)
    Path raplRoot = RaplMeter.DEFAULT_ROOT;

    @Option(names = "--batch", defaultValue = "" + ServingShape.DEFAULT_BATCH, description = "Batch size the model is served "
            + "at (default: ${DEFAULT-VALUE}, as `pollard prune`); figures are per inference, i.e. per sample.")
    int batch;

    @Option(names = "--sequence-length", description = "For a token model exported with a symbolic sequence axis: the "
            + "sequence length it is served at.")
    Integer sequenceLength;

    static class Presets implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return HardwarePresets.NAMES.iterator();
        }
    }

    @Override
    public Integer call() {
        try {
            OnnxModel onnx = new ServingShape(batch, sequenceLength).pin(OnnxModel.load(model));
            switch (meter) {
                case "analytical" -> print(NodeCost.of(onnx, batch), new AnalyticalMeter(HardwarePresets.energyModel(
                        HardwarePresets.spec(hardware))), batch, hardware, System.out);
                case "nvml", "rapl" -> {
                    try (EnergyMeter m = meter.equals("nvml") ? NvmlMeter.open(nvmlLibrary, gpu) : RaplMeter.open(raplRoot)) {
                        print(IsolatedLayers.measure(onnx, batch, m, windows, minSeconds), m.describe(), System.out);
                        if (fingerprints) {
                            Fingerprints f = new Fingerprints(m, batch, windows, minSeconds, cache);
                            print(DependencyGraph.groups(onnx).stream().map(g -> f.of(onnx, g,
                                    Fingerprints.widths(g.width(), channelMultiple, widths), hardware)).toList(), System.out);
                        }
                    }
                }
                default -> throw new IllegalArgumentException("--meter: '" + meter + "' is not one of analytical, nvml, rapl");
            }
            return 0;
        } catch (ModelException | IllegalArgumentException e) {
            System.err.println("pollard profile: " + e.getMessage());
            return 2;
        } catch (EnergyMeterException e) {
            System.err.println("pollard profile: --meter " + meter + ": " + e.getMessage());
            return 3;
        }
    }

    /** The measured table: each layer alone, their total, and how far that total is from the whole model measured. */
    static void print(IsolatedLayers.Profile p, String meter, PrintStream out) {
        double total = p.layerJoules();
        out.printf("%-36s %-20s %14s %7s %12s %8s%n", "layer", "op", "J/inference", "share", "latency us", "spread");
        for (IsolatedLayers.Layer l : p.layers()) {
            out.printf("%-36s %-20s %14.6g %6.2f%% %12.3f %7.1f%%%n", truncate(l.node(), 36), l.opType(), l.joules(),
                    100 * l.joules() / total, 1e6 * l.seconds(), 100 * l.spread());
        }
        out.printf("%-36s %-20s %14.6g %6.2f%% %12.3f%n", "total", "", total, 100.0,
                1e6 * p.layers().stream().mapToDouble(IsolatedLayers.Layer::seconds).sum());
        out.printf("%-36s %-20s %14.6g %7s %12.3f%n", "whole model, measured alone", "", p.wholeJoules(), "",
                1e6 * p.wholeSeconds());
        out.printf("layers' sum differs from the whole model by %+.1f%% (alone, a layer loses fusion and cache reuse and "
                + "adds per-run overhead)%n", 100 * p.difference());
        out.printf("meter: %s (%s), batch %d, ONNX Runtime CPU; median of the windows, spread = half their range%n",
                p.meter(), meter, p.batch());
    }

    /** The table, independent of where the costs came from. */
    static void print(List<NodeCost> costs, AnalyticalMeter meter, int batch, String hardware, PrintStream out) {
        List<AnalyticalMeter.Estimate> estimates = costs.stream()
                .map(c -> meter.estimate(new OpCost(c.node(), c.opType(), c.flops(), c.bytes()))).toList();
        double total = estimates.stream().mapToDouble(AnalyticalMeter.Estimate::joules).sum();
        double seconds = estimates.stream().mapToDouble(AnalyticalMeter.Estimate::seconds).sum();
        out.printf("%-36s %-20s %14s %12s %14s %7s %12s%n", "layer", "op", "MFLOPs", "MB moved", "J/inference", "share",
                "latency us");
        for (AnalyticalMeter.Estimate e : estimates) {
            if (e.joules() == 0) {
                continue; // views and shape bookkeeping
            }
            out.printf("%-36s %-20s %14.3f %12.3f %14.6g %6.2f%% %12.3f%n", truncate(e.op().node(), 36), e.op().opType(),
                    e.op().flops() / 1e6 / batch, e.op().bytes() / 1e6 / batch, e.joules() / batch,
                    100 * e.joules() / total, 1e6 * e.seconds() / batch);
        }
        out.printf("%-36s %-20s %14.3f %12.3f %14.6g %6.2f%% %12.3f%n", "total", "",
                costs.stream().mapToLong(NodeCost::flops).sum() / 1e6 / batch,
                costs.stream().mapToLong(NodeCost::bytes).sum() / 1e6 / batch, total / batch, 100.0, 1e6 * seconds / batch);
        out.printf("meter: analytical (%s datasheet model), batch %d; parameters: %d%n", hardware, batch,
                costs.stream().mapToLong(NodeCost::parameters).sum());
    }

    /** Each group's joules by width, and what one unit costs. */
    static void print(List<Fingerprints.Fingerprint> prints, PrintStream out) {
        out.printf("%nenergy fingerprints (the group's layers alone, J/inference by width):%n");
        out.printf("%-36s %-9s %7s %14s  %s%n", "group", "kind", "width", "J per unit", "J at width");
        for (Fingerprints.Fingerprint f : prints) {
            StringBuilder byWidth = new StringBuilder();
            f.joulesByWidth().descendingMap().forEach((w, j) -> byWidth.append(String.format("%d: %.4g  ", w, j)));
            out.printf("%-36s %-9s %7d %14.6g  %s%n", truncate(f.group(), 36), f.kind(), f.width(), f.joulesPerUnit(),
                    byWidth.toString().strip());
        }
    }

    private static String truncate(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n - 1) + "…";
    }
}
