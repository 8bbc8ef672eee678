package dev.pollard.worker;

import dev.pollard.graph.PruningGroup;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Which units to remove first. Seed 002's eq. 3 ranks by I = α·‖W‖ + β·(E_dense/E_sparse) and prunes the lowest I,
 * which protects exactly the layers whose pruning saves the most energy. Pollard implements the intent instead: a
 * unit's removal priority rises with the energy its removal saves and falls with what losing it costs in accuracy:
 * <pre>  priority = saving^β / cost^α,   cost = r · s^{@value #SENSITIVITY_EXPONENT},   r = ‖W‖ / mean ‖W‖ of the unit's group  </pre>
 * ranked by its logarithm, β·ln(saving) − α·ln(cost), each factor floored at {@link #FLOOR} of its largest value.
 * The group L2 norm ‖W‖ is taken relative to its group's mean (as Torch-Pruning's default normaliser and Pollard's
 * knapsack do) because its scale says more about a layer's shape than about its units' worth; s is the group's
 * measured {@link Sensitivity} (1 where none was measured), which tells one layer from another. As a ratio, a unit
 * that saves twice the energy for twice the cost ranks the same whichever layer it is in, where a difference of
 * normalised terms let the largest saving win whatever it cost. β = 0 is magnitude pruning and α = 0 energy-only
 * pruning (the seed's ablation rows).
 */
public final class Scoring {
    /**
     * How strongly the measured sensitivity weighs against a unit's norm. Chosen on the ResNet-20 of docs/results.md,
     * one run each: the whole figure saved 50.5 %, its square root 54.1 %, its fourth root 61.0 % within ε.
     */
    static final double SENSITIVITY_EXPONENT = 0.25;

    /** Keeps a unit with no norm or no saving finite in the logarithms, and first (last) in line. */
    static final double FLOOR = 1e-12;

    /** One unit of one group, with what removing it would save, its norm and its group's measured sensitivity. */
    public record Unit(PruningGroup group, int index, double joulesSaved, double importance, double sensitivity) {
        public Unit(PruningGroup group, int index, double joulesSaved, double importance) {
            this(group, index, joulesSaved, importance, 1);
        }
    }

    private Scoring() {
    }

    /** Units in removal order, highest priority first. */
    public static List<Unit> rank(List<Unit> units, double alpha, double beta) {
        Map<String, Double> groupMean = units.stream().collect(Collectors.groupingBy(u -> u.group().id(),
                Collectors.averagingDouble(Unit::importance)));
        Map<Unit, Double> cost = new IdentityHashMap<>(); // by identity: a unit's record hashes its whole group
        for (Unit u : units) {
            double mean = groupMean.get(u.group().id());
            cost.put(u, mean > 0 ? u.importance() / mean * Math.pow(u.sensitivity(), SENSITIVITY_EXPONENT) : 0);
        }
        double maxSaving = units.stream().mapToDouble(Unit::joulesSaved).max().orElse(1);
        double maxCost = cost.values().stream().mapToDouble(Double::doubleValue).max().orElse(1);
        List<Unit> ranked = new ArrayList<>(units);
        ranked.sort(Comparator.comparingDouble((Unit u) -> -priority(u.joulesSaved(), cost.get(u), alpha, beta,
                maxSaving, maxCost)).thenComparing(u -> u.group().id()).thenComparingInt(Unit::index));
        return ranked;
    }

    static double priority(double saving, double cost, double alpha, double beta, double maxSaving, double maxCost) {
        return beta * Math.log(share(saving, maxSaving)) - alpha * Math.log(share(cost, maxCost));
    }

    private static double share(double value, double max) {
        return max > 0 ? Math.max(FLOOR, value / max) : FLOOR;
    }
}
