package dev.pollard.energy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pollard.graph.ModelException;
import dev.pollard.graph.NodeCost;
import dev.pollard.graph.OnnxModel;
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

    @Option(names = "--meter", defaultValue = "analytical", description = "analytical (datasheet roofline model). "
            + "nvml and rapl need per-layer runs in ONNX Runtime on the target, which profile does not do yet.")
    String meter;

    @Option(names = "--batch", defaultValue = "1", description = "Batch size (default: ${DEFAULT-VALUE}); figures are per "
            + "inference, i.e. per sample.")
    int batch;

    static class Presets implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return HardwarePresets.NAMES.iterator();
        }
    }

    @Override
    public Integer call() {
        if (!meter.equals("analytical")) {
            System.err.println("pollard profile: --meter " + meter + ": per-layer measurement with a hardware meter is not "
                    + "implemented yet; use --meter analytical");
            return 2;
        }
        try {
            JsonNode spec = HardwarePresets.spec(hardware);
            List<NodeCost> costs = NodeCost.of(OnnxModel.load(model), batch);
            print(costs, new AnalyticalMeter(HardwarePresets.energyModel(spec)), batch, hardware, System.out);
            return 0;
        } catch (ModelException | IllegalArgumentException e) {
            System.err.println("pollard profile: " + e.getMessage());
            return 2;
        }
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

    private static String truncate(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n - 1) + "…";
    }
}
