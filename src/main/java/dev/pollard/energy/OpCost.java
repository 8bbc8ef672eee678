package dev.pollard.energy;

/** The work of one operator for one inference: floating-point operations and bytes moved to and from memory. */
public record OpCost(String node, String opType, double flops, double bytes) {
}
