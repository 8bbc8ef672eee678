package dev.pollard.energy;

import java.util.ArrayList;
import java.util.List;

/**
 * Deterministic energy estimates from a HardwareClass's datasheet model, for where no meter exists (CI, planning).
 * Per operator, roofline style (docs/energy.md):
 * <pre>
 *   t_compute = flops / peak,  t_memory = bytes / bandwidth,  t = max(t_compute, t_memory)
 *   E = P_idle * t + (P_tdp - P_idle) * (t_compute + t_memory) / 2
 * </pre>
 * The board idles at P_idle for as long as the operator runs, and the dynamic headroom (P_tdp - P_idle) is split
 * evenly between the compute units and the memory system, each drawing it while busy. Energies add up over operators
 * by construction, so a model's estimate is the sum of its layers'.
 */
public final class AnalyticalMeter {
    private final EnergyModel model;

    public AnalyticalMeter(EnergyModel model) {
        this.model = model;
    }

    /** One operator's estimate. */
    public record Estimate(OpCost op, double seconds, double joules, boolean computeBound) {
    }

    public Estimate estimate(OpCost op) {
        double compute = op.flops() / (model.peakTflops() * 1e12);
        double memory = op.bytes() / (model.memoryBandwidthGBs() * 1e9);
        double seconds = Math.max(compute, memory);
        double joules = model.idleWatts() * seconds + (model.tdpWatts() - model.idleWatts()) * (compute + memory) / 2;
        return new Estimate(op, seconds, joules, compute >= memory);
    }

    public List<Estimate> estimate(List<OpCost> ops) {
        List<Estimate> out = new ArrayList<>(ops.size());
        for (OpCost op : ops) {
            out.add(estimate(op));
        }
        return out;
    }

    /** Joules per inference of a whole model. */
    public double joules(List<OpCost> ops) {
        return estimate(ops).stream().mapToDouble(Estimate::joules).sum();
    }

    public static String name() {
        return "analytical";
    }
}
