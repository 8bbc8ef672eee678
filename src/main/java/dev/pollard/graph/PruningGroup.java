package dev.pollard.graph;

import java.util.List;

/**
 * Units (channels or neurons) that must be removed together: every tensor slice that belongs to unit i of the group.
 *
 * @param id stable name, from the first producing node
 * @param kind conv-channels or linear-neurons
 * @param width number of units now
 * @param members the tensors and axes that carry the units
 * @param parameters weights the group's units own, over all members
 */
public record PruningGroup(String id, String kind, int width, List<Member> members, long parameters) {

    /**
     * One tensor's share of a group: along {@code axis}, unit i occupies {@code span} consecutive entries starting at
     * i * span (span > 1 where a Flatten maps a channel to H x W columns of the next Gemm).
     */
    public record Member(String tensor, int axis, int span, String node, Role role) {
    }

    /** How a member takes part: it produces the units, normalises them, or consumes them. */
    public enum Role { PRODUCER, NORMALIZATION, CONSUMER }
}
