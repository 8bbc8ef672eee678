package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.onnx.proto.OnnxMl;
import java.util.List;
import java.util.Set;

/**
 * BatchNormalization and LayerNormalization: the output has the input's shape. BatchNorm's per-channel parameters
 * belong to the channels' group (scale and shift learned, mean and variance statistics); LayerNorm mixes every feature
 * of a row, so its input's units are not traced through it.
 */
final class NormalizationRule implements OpRule {
    @Override
    public Set<String> ops() {
        return Set.of("BatchNormalization", "LayerNormalization");
    }

    @Override
    public void inferShapes(ShapeInference s, OnnxMl.NodeProto n) {
        s.out(n, s.in(n, 0));
    }

    @Override
    public NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution e) {
        NDArray x = in.get(0);
        if (n.getOpType().equals("BatchNormalization")) {
            // PyTorch's own batch_norm; in training it normalises with the batch's mean and biased variance and moves
            // the running statistics (initializers, so the constants themselves) toward the batch's, unbiased, in
            // place, weighted by ONNX's momentum (ONNX's 0.9 is PyTorch's 0.1; DJL takes ONNX's)
            return x.getNDArrayInternal().batchNorm(x, in.get(3), in.get(4), in.get(1), in.get(2), 1,
                    Attributes.f(n, "momentum", 0.9f), Attributes.f(n, "epsilon", 1e-5f), e.training()).singletonOrThrow();
        }
        int axis = Shapes.axis(Attributes.i(n, "axis", -1), x.getShape().dimension());
        int[] axes = java.util.stream.IntStream.range(axis, x.getShape().dimension()).toArray();
        NDArray centered = x.sub(GraphExecutor.mean(x, axes, true));
        NDArray var = GraphExecutor.mean(centered.pow(2f), axes, true);
        NDArray y = centered.div(var.add(Attributes.f(n, "epsilon", 1e-5f)).sqrt()).mul(in.get(1));
        return in.size() > 2 && in.get(2) != null ? y.add(in.get(2)) : y;
    }

    @Override
    public long flops(OnnxMl.NodeProto n, ShapeInference s) {
        long out = Shapes.elements(s.shape(n.getOutput(0)));
        return n.getOpType().equals("BatchNormalization") ? 2 * out : 8 * out;
    }

    @Override
    public void couple(DependencyGraph g, OnnxMl.NodeProto n) {
        Integer in = g.space(n.getInput(0));
        if (!n.getOpType().equals("BatchNormalization")) {
            g.freezeInputs(n);
        } else if (in != null) {
            for (int i = 1; i < 5; i++) {
                g.member(in, n.getInput(i), 0, 1, n, role(i));
            }
            g.put(n.getOutput(0), in, 1);
        }
    }

    @Override
    public void coupleSegments(DependencyGraph g, OnnxMl.NodeProto n, List<int[]> segments) {
        if (!n.getOpType().equals("BatchNormalization")) {
            g.freezeInputs(n);
            return;
        }
        for (int[] seg : segments) {
            for (int i = 1; i < 5; i++) {
                g.member(seg[0], n.getInput(i), 0, 1, n, role(i), seg[1]);
            }
        }
        g.carrySegments(n, segments);
    }

    /** BatchNormalization's inputs 1 and 2 (scale, bias) are learned; 3 and 4 (mean, variance) are statistics. */
    private static PruningGroup.Role role(int input) {
        return input < 3 ? PruningGroup.Role.NORMALIZATION : PruningGroup.Role.STATISTICS;
    }
}
