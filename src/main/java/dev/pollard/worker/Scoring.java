package dev.pollard.worker;

import dev.pollard.graph.PruningGroup;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Which units to remove first. Seed 002's eq. 3 ranks by I = α·‖W‖ + β·(E_dense/E_sparse) and prunes the lowest I,
 * which protects exactly the layers whose pruning saves the most energy. Pollard implements the intent instead: a
 * unit's removal priority rises with the energy its removal saves and falls with what its removal costs in accuracy,
 * α and β weighing the two as exponents of their ratio:
 * <pre>  priority = saving^β / cost^α,   i.e.  log priority = β · log saving − α · log cost  </pre>
 * A ratio, not a difference of terms each divided by its largest value: with the latter the single most expensive
 * unit set the scale of every cost, and on a residual network the saving term alone picked the layer (docs/results.md).
 * The cost is the unit's group L2 norm relative to its group's mean ({@link #relative}), which tells the units of one
 * layer apart, times, for the energy-aware criterion with both weights positive, a factor of its group's measured
 * sensitivity, which tells layers apart (see {@link Pruner}). β = 0 is plain magnitude pruning and α = 0
 * energy-only pruning (the seed's ablation rows).
 */
public final class Scoring {
    /** Savings and costs at or below this count as this: a logarithm needs a positive number. */
    static final double FLOOR = 1e-12;

    /** One unit of one group, with what removing it would save and cost. */
    public record Unit(PruningGroup group, int index, double joulesSaved, double cost) {
    }

    private Scoring() {
    }

    /** Units in removal order, highest priority first. */
    public static List<Unit> rank(List<Unit> units, double alpha, double beta) {
        List<Unit> ranked = new ArrayList<>(units);
        ranked.sort(Comparator.comparingDouble((Unit u) -> -priority(u.joulesSaved(), u.cost(), alpha, beta))
                .thenComparing(u -> u.group().id()).thenComparingInt(Unit::index));
        return ranked;
    }

    /** The logarithm of a unit's removal priority. */
    static double priority(double saving, double cost, double alpha, double beta) {
        return beta * Math.log(Math.max(saving, FLOOR)) - alpha * Math.log(Math.max(cost, FLOOR));
    }

    /**
     * Norms relative to their group's mean. The scale of a group L2 norm says more about a layer's shape than about its
     * units' worth (a channel's group holds the columns of every layer that reads it, so a conv feeding a wide Gemm has
     * norms twice its neighbours'), as Torch-Pruning's default normaliser also assumes.
     */
    static double[] relative(double[] norms) {
        double mean = Arrays.stream(norms).average().orElse(0);
        return Arrays.stream(norms).map(n -> mean > 0 ? n / mean : 0).toArray();
    }
}
