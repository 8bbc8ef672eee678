package dev.pollard.graph;

import ai.onnx.proto.OnnxMl;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The work of one node for one batch: floating-point operations (as its {@link OpRule} counts them), bytes read and
 * written (float32 activations and weights) and the weights it owns. Shape bookkeeping that runs on constants, and
 * views (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout) cost nothing. {@code bytes} = {@code weightBytes} (initializers read) +
 * {@code activationBytes} (activations read and written).
 */
public record NodeCost(String node, String opType, long flops, long bytes, long parameters, long weightBytes,
        long activationBytes) {
    /** Costs of every node of the model, in graph order, for a batch of the given size. */
    public static List<NodeCost> of(OnnxModel model, long batch) {
        ShapeInference shapes = ShapeInference.infer(model, batch);
        Set<String> counted = new HashSet<>();
        List<NodeCost> costs = new ArrayList<>();
        for (OnnxMl.NodeProto n : model.nodes()) {
            costs.add(cost(n, model, shapes, counted));
        }
        return costs;
    }

    private static NodeCost cost(OnnxMl.NodeProto n, OnnxModel model, ShapeInference s, Set<String> counted) {
        String op = n.getOpType();
        String name = Attributes.label(n);
        OpRule rule = OpRules.of(n, model.source());
        boolean onConstants = n.getInputList().stream().allMatch(i -> i.isEmpty() || s.constant(i) != null);
        if (rule.isView(n) || onConstants) {
            return new NodeCost(name, op, 0, 0, 0, 0, 0);
        }
        long params = 0;
        for (String input : n.getInputList()) {
            Tensor t = model.initializers().get(input);
            if (t != null && t.isFloat() && counted.add(input)) {
                params += t.size(); // a weight shared by two nodes counts once
            }
        }
        long flops = rule.flops(n, s);
        long weights = 0;
        long activations = 0;
        for (String input : n.getInputList()) {
            if (!input.isEmpty() && s.constant(input) == null) {
                activations += 4 * Shapes.elements(s.shape(input));
            } else if (model.initializers().containsKey(input)) {
                weights += 4 * Shapes.elements(s.shape(input));
            }
        }
        for (String output : n.getOutputList()) {
            if (!output.isEmpty() && s.has(output)) {
                activations += 4 * Shapes.elements(s.shape(output));
            }
        }
        return new NodeCost(name, op, flops, weights + activations, params, weights, activations);
    }
}
