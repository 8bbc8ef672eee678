package dev.pollard.graph;

import ai.onnx.proto.OnnxMl;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** The registry of {@link OpRule}s: the one place that says which ONNX operators Pollard understands, and how. */
final class OpRules {
    private static final Map<String, OpRule> BY_OP = register(new ElementwiseRule(), new BroadcastRule(), new ConvRule(),
            new GemmRule(), new MatMulRule(), new NormalizationRule(), new PoolRule(), new SoftmaxRule(),
            new ReduceRule(), new ReshapeRule(), new TransposeRule(), new SqueezeRule(), new ConcatRule(),
            new SliceRule(), new SplitRule(), new GatherRule(), new ExpandRule(), new ShapeRule(), new ConstantRule());

    private OpRules() {
    }

    private static Map<String, OpRule> register(OpRule... rules) {
        Map<String, OpRule> byOp = new LinkedHashMap<>();
        for (OpRule rule : rules) {
            for (String op : rule.ops()) {
                OpRule previous = byOp.put(op, rule);
                if (previous != null) {
                    throw new IllegalStateException(op + " has two rules: " + previous.getClass().getSimpleName() + " and "
                            + rule.getClass().getSimpleName());
                }
            }
        }
        return Collections.unmodifiableMap(byOp);
    }

    /** Every operator type Pollard understands, sorted. */
    static Set<String> supported() {
        return Collections.unmodifiableSet(new TreeSet<>(BY_OP.keySet()));
    }

    /** The rule for a node; an operator without one, or from another domain, is a one-line ModelException. */
    static OpRule of(OnnxMl.NodeProto node, String source) {
        OpRule rule = BY_OP.get(node.getOpType());
        if (rule == null || !(node.getDomain().isEmpty() || node.getDomain().equals("ai.onnx"))) {
            throw new ModelException(source + ": unsupported operator '" + node.getOpType() + "' at node '"
                    + Attributes.label(node) + "'");
        }
        return rule;
    }
}
