package dev.pollard.graph;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/** One-shot pruning: the lowest-L2 fraction of every group's units, keeping widths multiples of a channel multiple. */
public final class UniformPruning {
    private UniformPruning() {
    }

    public static OnnxModel prune(OnnxModel model, double ratio, int channelMultiple) {
        if (!(ratio > 0 && ratio < 1)) {
            throw new IllegalArgumentException("--ratio must be in (0, 1), got " + ratio);
        }
        OnnxModel current = model;
        for (String id : DependencyGraph.groups(model).stream().map(PruningGroup::id).toList()) {
            // groups are found again after each removal: widths and members change, ids do not
            PruningGroup group = DependencyGraph.groups(current).stream().filter(g -> g.id().equals(id)).findFirst().orElse(null);
            if (group == null) {
                continue;
            }
            int keep = group.unitSize() > 1 ? keptUnits(group.width(), group.unitSize(), ratio, channelMultiple)
                    : keptWidth(group.width(), ratio, channelMultiple);
            if (keep >= group.width()) {
                continue;
            }
            double[] l2 = Surgery.l2(current, group);
            int[] lowest = IntStream.range(0, group.width()).boxed()
                    .sorted(Comparator.comparingDouble((Integer i) -> l2[i]).thenComparingInt(i -> i))
                    .limit(group.width() - keep).mapToInt(Integer::intValue).toArray();
            Arrays.sort(lowest);
            current = Surgery.remove(current, group, lowest);
        }
        return current;
    }

    /** width x (1 - ratio), rounded to the nearest multiple, never below one multiple (nor above the width). */
    static int keptWidth(int width, double ratio, int multiple) {
        if (width <= multiple) {
            return width;
        }
        long rounded = Math.round(width * (1 - ratio) / multiple) * (long) multiple;
        return (int) Math.min(width, Math.max(multiple, rounded));
    }

    /**
     * Heads (units of several features): width x (1 - ratio) rounded, at least one, and enough that the features left
     * (heads x head size) stay a multiple of the channel multiple.
     */
    static int keptUnits(int width, int unitSize, double ratio, int multiple) {
        int keep = (int) Math.max(1, Math.round(width * (1 - ratio)));
        while (keep < width && (long) keep * unitSize % multiple != 0) {
            keep++;
        }
        return keep;
    }

    public static long flops(OnnxModel model, long batch) {
        return NodeCost.of(model, batch).stream().mapToLong(NodeCost::flops).sum();
    }

    public static long parameters(OnnxModel model) {
        return NodeCost.of(model, 1).stream().mapToLong(NodeCost::parameters).sum();
    }

}
