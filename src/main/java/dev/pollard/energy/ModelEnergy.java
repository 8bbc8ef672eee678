package dev.pollard.energy;

import dev.pollard.graph.NodeCost;
import dev.pollard.graph.OnnxModel;
import dev.pollard.graph.PruningGroup;
import dev.pollard.graph.Surgery;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * What pruning asks of a meter: a whole model's joules per inference, and a group's energy fingerprint — what one
 * unit of its width costs. Every figure is per sample of a batch of the size the model is served at
 * ({@link dev.pollard.graph.ServingShape}). {@link #analytical} answers from the hardware class's datasheet model; {@link #measured}
 * runs the model, and each group's layers alone, in ONNX Runtime under a hardware meter.
 */
public interface ModelEnergy {
    /** The meter every figure comes from: analytical, nvml or rapl. */
    String name();

    /** The batch every figure is taken at. */
    int batch();

    double joules(OnnxModel model);

    /** Joules per inference one unit of the group costs, from the group one multiple narrower. */
    double joulesPerUnit(OnnxModel model, PruningGroup group, int multiple);

    /** From the datasheet model, the whole batch's operators estimated at once and divided by its size. */
    static ModelEnergy analytical(AnalyticalMeter meter, int batch) {
        return new ModelEnergy() {
            @Override
            public String name() {
                return AnalyticalMeter.name();
            }

            @Override
            public int batch() {
                return batch;
            }

            @Override
            public double joules(OnnxModel model) {
                return meter.joules(NodeCost.of(model, batch).stream()
                        .map(c -> new OpCost(c.node(), c.opType(), c.flops(), c.bytes())).toList()) / batch;
            }

            @Override
            public double joulesPerUnit(OnnxModel model, PruningGroup group, int multiple) {
                OnnxModel narrower = Surgery.remove(model, group, IntStream.range(0, multiple).toArray());
                return Math.max(0, (joules(model) - joules(narrower)) / multiple);
            }
        };
    }

    /** Measured at {@code batch} (figures per sample) with windows of at least {@code minimumSeconds}. */
    static ModelEnergy measured(EnergyMeter meter, int batch, int windows, double minimumSeconds, String hardwareClass) {
        Fingerprints fingerprints = new Fingerprints(meter, batch, windows, minimumSeconds, null);
        return new ModelEnergy() {
            @Override
            public String name() {
                return meter.name();
            }

            @Override
            public int batch() {
                return batch;
            }

            @Override
            public double joules(OnnxModel model) {
                return IsolatedLayers.measureWhole(model, batch, meter, windows, minimumSeconds);
            }

            @Override
            public double joulesPerUnit(OnnxModel model, PruningGroup group, int multiple) {
                return fingerprints.of(model, group, Set.of(group.width(), group.width() - multiple), hardwareClass)
                        .joulesPerUnit();
            }
        };
    }
}
