package dev.pollard.worker;

import dev.pollard.data.Dataset;
import dev.pollard.graph.OnnxModel;
import dev.pollard.graph.PruningGroup;
import dev.pollard.graph.Surgery;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;

/**
 * How much accuracy each group carries, measured rather than guessed from norms: the training loss a copy of the model
 * without the group's weakest multiple adds, per unit of relative norm removed. A unit's norm relative to its group's
 * mean tells the units of one layer apart but not one layer from another; on a residual network the energy-aware
 * ranking then took the first stage until every step there was rolled back (docs/results.md).
 */
final class Sensitivity {
    /** Training samples each probe is measured on. */
    static final int SAMPLES = 1024;

    private Sensitivity() {
    }

    /** The fixed probe sample of a run: the same samples at every step, so that steps compare. */
    static Dataset sample(Dataset train, long seed) {
        int[] order = train.shuffledIndices(seed);
        return train.select(Arrays.copyOf(order, Math.min(SAMPLES, order.length)));
    }

    /**
     * Each group's added loss per unit of relative norm removed. A reading of zero or less (the loss did not rise:
     * noise on a group that carries little) counts as the smallest positive reading of the step, not as free: taken as
     * free, its units would outrank every saving under any balance of α and β. With no positive reading at all every
     * group reads 1, and the ranking is by norms and savings alone.
     */
    static Map<String, Double> probe(OnnxModel model, List<Pruner.Fingerprint> prints,
            ToIntFunction<PruningGroup> multiple, Dataset sample) throws Exception {
        double base = OrtEvaluation.loss(model, sample, 256);
        Map<String, Double> readings = new LinkedHashMap<>();
        for (Pruner.Fingerprint f : prints) {
            PruningGroup g = f.group();
            double[] norms = f.importance(); // the group L2 norms the step ranks by
            double mean = Arrays.stream(norms).average().orElse(0);
            int[] weakest = Pruner.weakest(norms, multiple.applyAsInt(g));
            double removed = mean > 0 ? Arrays.stream(weakest).mapToDouble(i -> norms[i] / mean).sum() : 0;
            double added = OrtEvaluation.loss(Surgery.remove(model, g, weakest), sample, 256) - base;
            // a loss that is no longer finite: the group carries everything; dead units (no norm) carry nothing
            readings.put(g.id(), !Double.isFinite(added) ? Double.MAX_VALUE : removed > 0 ? added / removed : 0);
        }
        return zeroAsSmallest(readings);
    }

    /** Readings of zero or less replaced by the smallest positive one; all 1 where none is positive. */
    static Map<String, Double> zeroAsSmallest(Map<String, Double> readings) {
        double smallest = readings.values().stream().mapToDouble(Double::doubleValue).filter(r -> r > 0).min().orElse(1);
        Map<String, Double> floored = new LinkedHashMap<>();
        readings.forEach((id, r) -> floored.put(id, r > 0 ? r : smallest));
        return floored;
    }
}
