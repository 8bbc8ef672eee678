package dev.pollard.worker;

import dev.pollard.graph.PruningGroup;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Which units to remove first. Seed 002's eq. 3 ranks by I = α·‖W‖ + β·(E_dense/E_sparse) and prunes the lowest I,
 * which protects exactly the layers whose pruning saves the most energy. Pollard implements the intent instead: a
 * unit's removal priority rises with the energy its removal saves and falls with its accuracy importance, both
 * normalised to [0, 1] over the whole model:
 * <pre>  priority = β · saving / max(saving)  −  α · ‖W‖ / max(‖W‖)  </pre>
 * β = 0 is plain magnitude pruning and α = 0 energy-only pruning (the seed's ablation rows).
 */
public final class Scoring {
    /** One unit of one group, with what removing it would save and how important its weights are. */
    public record Unit(PruningGroup group, int index, double joulesSaved, double importance) {
    }

    private Scoring() {
    }

    /** Units in removal order, highest priority first. */
    public static List<Unit> rank(List<Unit> units, double alpha, double beta) {
        double maxSaving = units.stream().mapToDouble(Unit::joulesSaved).max().orElse(1);
        double maxImportance = units.stream().mapToDouble(Unit::importance).max().orElse(1);
        List<Unit> ranked = new ArrayList<>(units);
        ranked.sort(Comparator.comparingDouble((Unit u) -> -priority(u, alpha, beta, maxSaving, maxImportance))
                .thenComparing(u -> u.group().id()).thenComparingInt(Unit::index));
        return ranked;
    }

    static double priority(Unit u, double alpha, double beta, double maxSaving, double maxImportance) {
        double saving = maxSaving > 0 ? u.joulesSaved() / maxSaving : 0;
        double importance = maxImportance > 0 ? u.importance() / maxImportance : 0;
        return beta * saving - alpha * importance;
    }
}
