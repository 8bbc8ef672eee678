package dev.pollard.graph;

import java.util.List;
import java.util.Set;

/**
 * Units (channels, neurons or attention heads) that must be removed together: every tensor slice that belongs to unit i
 * of the group, and every shape constant that states how many units there are.
 *
 * @param id stable name, from the first producing node
 * @param kind conv-channels, linear-neurons or attention-heads
 * @param width number of units now
 * @param members the tensors and axes that carry the units
 * @param parameters weights the group's units own, over all members
 * @param unitSize features per unit along a producer's axis: 1 for channels and neurons, the head size for heads
 * @param nodes the nodes whose work grows with the group's width: producers, consumers and every node in between
 *     (BatchNorm, activations, pools, attention scores and context)
 */
public record PruningGroup(String id, String kind, int width, List<Member> members, long parameters, int unitSize,
        List<String> nodes) {

    /** FLOPs of the group's nodes, from {@link NodeCost#of}; a node shared by two groups counts in both. */
    public long flops(List<NodeCost> costs) {
        Set<String> mine = Set.copyOf(nodes);
        return costs.stream().filter(c -> mine.contains(c.node())).mapToLong(NodeCost::flops).sum();
    }

    /**
     * One tensor's share of a group: along {@code axis}, unit i occupies {@code span} consecutive entries starting at
     * i * span (span > 1 where a Flatten maps a channel to H x W columns of the next Gemm, or a head owns head-size
     * features), after {@code offset} entries that belong to others (where a Concat put other channels first).
     * A packed projection (PyTorch's in_proj_weight, Q, K and V side by side) holds the units {@code blocks} times
     * along the axis, one block after the other, each block laid out as above.
     * For a {@link Role#SHAPE} member, {@code tensor} is an int64 constant (initializer or Constant node
     * output), {@code axis} the index of the entry that counts units and {@code span} what each unit adds to it; where
     * the shape is computed at run time (from Shape operators), {@code tensor} is that value and {@code node} the
     * Reshape reading it, which Surgery gives a constant shape of its own (see {@link Surgery#remove}).
     */
    public record Member(String tensor, int axis, int span, String node, Role role, int offset, int blocks) {
        public Member(String tensor, int axis, int span, String node, Role role, int offset) {
            this(tensor, axis, span, node, role, offset, 1);
        }

        public Member(String tensor, int axis, int span, String node, Role role) {
            this(tensor, axis, span, node, role, 0, 1);
        }
    }

    /**
     * How a member takes part: it produces the units, normalises them (learned scale and shift), filters each unit on its
     * own (a depthwise convolution's weights, whose group count follows the width), holds their running statistics
     * (sliced with them, but no measure of their importance), consumes them, or counts them in a shape.
     */
    public enum Role { PRODUCER, NORMALIZATION, DEPTHWISE, STATISTICS, CONSUMER, SHAPE }
}
