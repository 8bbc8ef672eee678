package dev.pollard.worker;

import dev.pollard.graph.PruningGroup;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;

/**
 * The knapsack criterion: one step saves a given amount of energy while losing the least importance. Each group offers
 * k whole multiples of its least important units (k = 0 … room/m, the most a step may take from it; one multiple
 * always stays); an option saves k·m times the group's energy fingerprint and costs the importance of the units it
 * removes, each unit's L2 norm divided by its group's mean so that layers of different scale compare. A
 * multiple-choice knapsack over the saving, in {@value #BUCKETS} buckets of the step's goal, picks one option per
 * group: the cheapest set that reaches the goal, or, when no set does, the one that comes closest.
 */
final class Knapsack {
    static final int BUCKETS = 200;

    private Knapsack() {
    }

    /**
     * Units to remove per group, at most {@code room} of each; a goal below the smallest saving one multiple can make
     * asks for that saving; empty when no group can give a multiple.
     */
    static Map<String, Integer> plan(List<Pruner.Fingerprint> prints, double goal, int multiple,
            ToIntFunction<PruningGroup> room) {
        return plan(prints, goal, g -> multiple, room);
    }

    /** The same with a multiple of each group's own (one head for attention heads). */
    static Map<String, Integer> plan(List<Pruner.Fingerprint> prints, double goal, ToIntFunction<PruningGroup> multipleOf,
            ToIntFunction<PruningGroup> room) {
        double smallest = prints.stream().filter(f -> f.group().width() >= 2 * multipleOf.applyAsInt(f.group()))
                .mapToDouble(f -> f.joulesPerUnit() * multipleOf.applyAsInt(f.group())).filter(j -> j > 0).min().orElse(0);
        if (smallest == 0) {
            return Map.of();
        }
        double goalJoules = Math.max(goal, smallest);
        double[] best = new double[BUCKETS + 1]; // least cost that saves at least b buckets
        Arrays.fill(best, Double.POSITIVE_INFINITY);
        best[0] = 0;
        int[][] choice = new int[prints.size()][BUCKETS + 1];
        for (int g = 0; g < prints.size(); g++) {
            Pruner.Fingerprint f = prints.get(g);
            int multiple = multipleOf.applyAsInt(f.group());
            double[] cost = cumulativeCost(f.importance(), multiple, room.applyAsInt(f.group()));
            double[] next = best.clone();
            for (int k = 1; k < cost.length; k++) {
                int gain = (int) Math.min(BUCKETS, Math.floor(k * multiple * f.joulesPerUnit() / goalJoules * BUCKETS + 1e-9));
                for (int b = 0; b <= BUCKETS; b++) {
                    if (best[b] == Double.POSITIVE_INFINITY) {
                        continue;
                    }
                    int to = Math.min(BUCKETS, b + gain);
                    if (best[b] + cost[k] < next[to]) {
                        next[to] = best[b] + cost[k];
                        choice[g][to] = k * (BUCKETS + 1) + b + 1; // k and where it came from, 0 meaning "keep all"
                    }
                }
            }
            best = next;
        }
        int reached = BUCKETS;
        while (best[reached] == Double.POSITIVE_INFINITY) {
            reached--;
        }
        Map<String, Integer> removal = new LinkedHashMap<>();
        for (int g = prints.size() - 1, b = reached; g >= 0; g--) {
            int c = choice[g][b];
            if (c == 0) {
                continue; // this group keeps every unit; b is unchanged
            }
            int k = (c - 1) / (BUCKETS + 1);
            b = (c - 1) % (BUCKETS + 1);
            removal.put(prints.get(g).group().id(), k * multipleOf.applyAsInt(prints.get(g).group()));
        }
        return removal;
    }

    /** cost[k]: the normalised importance of the k·m least important units, for each k with k·m ≤ room. */
    static double[] cumulativeCost(double[] importance, int multiple, int room) {
        double mean = Arrays.stream(importance).average().orElse(1);
        double[] sorted = Arrays.stream(importance).map(i -> mean > 0 ? i / mean : 0).sorted().toArray();
        int options = Math.min(room, importance.length - multiple) / multiple; // one multiple always stays
        double[] cost = new double[options + 1];
        double sum = 0;
        for (int k = 1; k <= options; k++) {
            for (int i = (k - 1) * multiple; i < k * multiple; i++) {
                sum += sorted[i];
            }
            cost[k] = sum;
        }
        return cost;
    }
}
