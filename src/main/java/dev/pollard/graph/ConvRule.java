package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.onnx.proto.OnnxMl;
import java.util.List;
import java.util.Set;

/**
 * Conv: output channels are a new space (weight axis 0, bias); input channels are consumed along weight axis 1. A
 * depthwise convolution (one filter per input channel) keeps its input's space: its filters are that space's
 * {@link PruningGroup.Role#DEPTHWISE} weights, and its group count follows the width.
 */
final class ConvRule implements OpRule {
    @Override
    public Set<String> ops() {
        return Set.of("Conv");
    }

    @Override
    public void inferShapes(ShapeInference s, OnnxMl.NodeProto n) {
        long[] x = s.in(n, 0);
        long[] w = s.in(n, 1);
        long[] kernel = Attributes.ints(n, "kernel_shape");
        if (kernel == null) {
            kernel = java.util.Arrays.copyOfRange(w, 2, w.length);
        }
        s.out(n, PoolRule.window(n, x, w[0], kernel, false));
    }

    @Override
    public NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution e) {
        NDArray x = in.get(0);
        NDArray w = in.get(1);
        NDArray b = in.size() > 2 ? in.get(2) : null;
        int spatial = x.getShape().dimension() - 2;
        long[] pads = Attributes.ints(n, "pads");
        long[] padding = new long[spatial];
        for (int i = 0; i < spatial; i++) {
            padding[i] = pads == null ? 0 : pads[i];
            if (pads != null && pads[i] != pads[i + spatial]) {
                throw new ModelException("node '" + Attributes.label(n) + "': asymmetric padding is not supported");
            }
        }
        return x.getNDArrayInternal().convolution(x, w, b, GraphExecutor.ones(Attributes.ints(n, "strides"), spatial),
                new Shape(padding), GraphExecutor.ones(Attributes.ints(n, "dilations"), spatial),
                (int) Attributes.i(n, "group", 1)).singletonOrThrow();
    }

    @Override
    public long flops(OnnxMl.NodeProto n, ShapeInference s) {
        long out = Shapes.elements(s.shape(n.getOutput(0)));
        long[] w = s.shape(n.getInput(1));
        long perOutput = 1;
        for (int i = 1; i < w.length; i++) {
            perOutput *= w[i]; // (C_in / groups) * kernel
        }
        return 2 * out * perOutput + (n.getInputCount() > 2 ? out : 0);
    }

    @Override
    public void couple(DependencyGraph g, OnnxMl.NodeProto n) {
        String x = n.getInput(0);
        Integer in = g.space(x);
        long[] w = g.shapes().shape(n.getInput(1));
        long group = Attributes.i(n, "group", 1);
        int out;
        if (group > 1 && in != null && group == w[0] && w[1] == 1 && g.width(in) == w[0]) {
            out = in; // depthwise: output channel i is input channel i
            g.member(out, n.getInput(1), 0, 1, n, PruningGroup.Role.DEPTHWISE);
        } else {
            if (in != null) {
                if (group == 1 && g.span(x) == 1) {
                    g.member(in, n.getInput(1), 1, 1, n, PruningGroup.Role.CONSUMER);
                } else {
                    g.freeze(in); // grouped convolution: channels would cross groups
                }
            }
            out = g.newSpace((int) w[0], n);
            g.member(out, n.getInput(1), 0, 1, n, PruningGroup.Role.PRODUCER);
            if (group > 1) {
                g.freeze(out);
            }
        }
        addBias(g, n, out);
        g.put(n.getOutput(0), out, 1);
    }

    @Override
    public void coupleSegments(DependencyGraph g, OnnxMl.NodeProto n, List<int[]> segments) {
        if (Attributes.i(n, "group", 1) != 1) {
            g.freezeInputs(n);
            return;
        }
        for (int[] seg : segments) {
            g.member(seg[0], n.getInput(1), 1, 1, n, PruningGroup.Role.CONSUMER, seg[1]);
        }
        long[] w = g.shapes().shape(n.getInput(1));
        int out = g.newSpace((int) w[0], n);
        g.member(out, n.getInput(1), 0, 1, n, PruningGroup.Role.PRODUCER);
        addBias(g, n, out);
        g.put(n.getOutput(0), out, 1);
    }

    private static void addBias(DependencyGraph g, OnnxMl.NodeProto n, int out) {
        if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
            g.member(out, n.getInput(2), 0, 1, n, PruningGroup.Role.PRODUCER);
        }
    }
}
