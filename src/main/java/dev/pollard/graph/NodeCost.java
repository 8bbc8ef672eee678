package dev.pollard.graph;

import ai.onnx.proto.OnnxMl;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The work of one node for one batch: floating-point operations, bytes read and written (float32 activations and
 * weights) and the weights it owns. Shape bookkeeping that runs on constants, and views (Reshape, Flatten, Squeeze,
 * Unsqueeze, Identity, Dropout) cost nothing. {@code bytes} = {@code weightBytes} (initializers read) +
 * {@code activationBytes} (activations read and written).
 */
public record NodeCost(String node, String opType, long flops, long bytes, long parameters, long weightBytes,
        long activationBytes) {
    private static final Set<String> VIEWS = Set.of("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout",
            "Shape", "Constant", "ConstantOfShape");

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
        boolean onConstants = n.getInputList().stream().allMatch(i -> i.isEmpty() || s.constant(i) != null);
        if (VIEWS.contains(op) || onConstants) {
            return new NodeCost(name, op, 0, 0, 0, 0, 0);
        }
        long params = 0;
        for (String input : n.getInputList()) {
            Tensor t = model.initializers().get(input);
            if (t != null && t.isFloat() && counted.add(input)) {
                params += t.size(); // a weight shared by two nodes counts once
            }
        }
        long out = Shapes.elements(s.shape(n.getOutput(0)));
        long flops = switch (op) {
            case "Conv" -> {
                long[] w = s.shape(n.getInput(1));
                long perOutput = 1;
                for (int i = 1; i < w.length; i++) {
                    perOutput *= w[i]; // (C_in / groups) * kernel
                }
                yield 2 * out * perOutput + (n.getInputCount() > 2 ? out : 0);
            }
            case "Gemm" -> {
                long[] a = s.shape(n.getInput(0));
                long k = Attributes.i(n, "transA", 0) == 1 ? a[0] : a[1];
                yield 2 * out * k + (n.getInputCount() > 2 ? out : 0);
            }
            case "MatMul" -> {
                long[] a = s.shape(n.getInput(0));
                yield 2 * out * a[a.length - 1];
            }
            case "BatchNormalization" -> 2 * out;
            case "LayerNormalization" -> 8 * out;
            case "Softmax" -> 3 * out;
            case "MaxPool", "AveragePool" -> out * Shapes.elements(Attributes.ints(n, "kernel_shape"));
            case "GlobalAveragePool", "ReduceMean" -> Shapes.elements(s.shape(n.getInput(0)));
            case "Transpose", "Concat", "Slice", "Gather", "Expand", "Cast" -> 0;
            default -> out; // elementwise
        };
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
