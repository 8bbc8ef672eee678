package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.onnx.proto.OnnxMl;
import java.util.List;
import java.util.Set;

/**
 * Everything Pollard knows about one family of ONNX operators, kept together the way Torch-Pruning keeps one pruner per
 * layer type: how the outputs' shapes (and small constant values) follow from the inputs', how a node runs on DJL, what
 * it costs, and how the units (channels, neurons, heads) of its inputs reach its outputs and weights. A new operator is
 * one more rule, or one more entry of a family's table, registered in {@link OpRules}; nothing else needs to change.
 */
interface OpRule {
    /** Where a node runs: the manager its results belong to, and whether it is a training step. */
    record Execution(NDManager scope, boolean training) {
    }

    /** Operator types (default ONNX domain) this rule handles. */
    Set<String> ops();

    /** Records the shapes of the node's outputs, and their values when they can be computed from constants. */
    void inferShapes(ShapeInference s, OnnxMl.NodeProto n);

    /** The node's first output on DJL; {@code in} holds null for an input left empty. */
    NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution x);

    /** Every output, in order; rules whose operators have several outputs override this. */
    default List<NDArray> executeAll(OnnxMl.NodeProto n, List<NDArray> in, Execution x) {
        return List.of(execute(n, in, x));
    }

    /**
     * A view or shape bookkeeping: no arithmetic and nothing read or written that a runtime would not alias, so it
     * costs nothing.
     */
    default boolean isView(OnnxMl.NodeProto n) {
        return false;
    }

    /** Floating-point operations for the batch {@code s} was inferred at; one per output element unless overridden. */
    default long flops(OnnxMl.NodeProto n, ShapeInference s) {
        return Shapes.elements(s.shape(n.getOutput(0)));
    }

    /**
     * Whether {@link #couple} follows units on an axis other than 1, as the last axis of a [.., F] activation of a
     * linear layer; where it does not, such units are frozen before the rule is asked.
     */
    default boolean followsLastAxis(OnnxMl.NodeProto n) {
        return false;
    }

    /** Whether {@link #couple} itself handles inputs that are concatenations of channel spaces (Concat does). */
    default boolean joinsSegments() {
        return false;
    }

    /** How the units of the node's traced inputs reach its outputs and weights; not traced, they are frozen. */
    default void couple(DependencyGraph g, OnnxMl.NodeProto n) {
        g.freezeInputs(n);
    }

    /**
     * The same for a node whose first input concatenates several channel spaces ({space, offset} on axis 1) and whose
     * other inputs carry none.
     */
    default void coupleSegments(DependencyGraph g, OnnxMl.NodeProto n, List<int[]> segments) {
        g.freezeInputs(n);
    }

    /**
     * Where entry {@code index} of this node's int64 output comes from, for rewriting a count in a shape: the input
     * value and its entry, or null when the entry is computed and cannot be traced back to one stored number.
     */
    default EntrySource entrySource(ShapeInference s, OnnxMl.NodeProto n, int index) {
        return null;
    }

    /** Entry {@code index} of value {@code value}. */
    record EntrySource(String value, int index) {
    }
}
