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
 * unit's removal priority rises with the energy its removal saves and falls with its accuracy importance, both
 * normalised to [0, 1] over the whole model:
 * <pre>  priority = β · saving / max(saving)  −  α · r / max(r),   r = ‖W‖ / mean ‖W‖ of the unit's group  </pre>
 * The group L2 norm ‖W‖ is taken relative to its group's mean (as Torch-Pruning's default normaliser and Pollard's
 * knapsack do) because its scale says more about a layer's shape than about its units' worth: a channel's group
 * holds the columns of every layer that reads it, so a conv feeding a wide Gemm has norms twice its neighbours'.
 * β = 0 is magnitude pruning and α = 0 energy-only pruning (the seed's ablation rows).
 */
public final class Scoring {
    /** One unit of one group, with what removing it would save and how important its weights are. */
    public record Unit(PruningGroup group, int index, double joulesSaved, double importance) {
    }

    private Scoring() {
    }

    /** Units in removal order, highest priority first. */
    public static List<Unit> rank(List<Unit> units, double alpha, double beta) {
        Map<String, Double> groupMean = units.stream().collect(Collectors.groupingBy(u -> u.group().id(),
                Collectors.averagingDouble(Unit::importance)));
        Map<Unit, Double> relative = new IdentityHashMap<>(); // by identity: a unit's record hashes its whole group
        for (Unit u : units) {
            double mean = groupMean.get(u.group().id());
            relative.put(u, mean > 0 ? u.importance() / mean : 0);
        }
        double maxSaving = units.stream().mapToDouble(Unit::joulesSaved).max().orElse(1);
        double maxImportance = relative.values().stream().mapToDouble(Double::doubleValue).max().orElse(1);
        List<Unit> ranked = new ArrayList<>(units);
        ranked.sort(Comparator.comparingDouble((Unit u) -> -priority(u.joulesSaved(), relative.get(u), alpha, beta,
                maxSaving, maxImportance)).thenComparing(u -> u.group().id()).thenComparingInt(Unit::index));
        return ranked;
    }

    static double priority(double saving, double importance, double alpha, double beta, double maxSaving,
            double maxImportance) {
        double s = maxSaving > 0 ? saving / maxSaving : 0;
        double i = maxImportance > 0 ? importance / maxImportance : 0;
        return beta * s - alpha * i;
    }
}
