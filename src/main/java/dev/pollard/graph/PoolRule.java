package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.onnx.proto.OnnxMl;
import java.util.List;
import java.util.Set;

/** MaxPool, AveragePool, GlobalAveragePool: windows over space within each channel, so channels stay apart. */
final class PoolRule implements OpRule {
    @Override
    public Set<String> ops() {
        return Set.of("MaxPool", "AveragePool", "GlobalAveragePool");
    }

    @Override
    public void inferShapes(ShapeInference s, OnnxMl.NodeProto n) {
        long[] x = s.in(n, 0);
        if (n.getOpType().equals("GlobalAveragePool")) {
            long[] y = x.clone();
            for (int i = 2; i < y.length; i++) {
                y[i] = 1;
            }
            s.out(n, y);
            return;
        }
        long[] kernel = Attributes.ints(n, "kernel_shape");
        long[] y = window(n, x, x[1], kernel, Attributes.i(n, "ceil_mode", 0) == 1);
        s.out(n, y);
        s.out(n, 1, y); // MaxPool's indices
    }

    /** Output shape of a sliding-window operator (Conv, pools) over the spatial dims of x. */
    static long[] window(OnnxMl.NodeProto n, long[] x, long channels, long[] kernel, boolean ceil) {
        int spatial = x.length - 2;
        long[] strides = ShapeInference.or(Attributes.ints(n, "strides"), spatial, 1);
        long[] dilations = ShapeInference.or(Attributes.ints(n, "dilations"), spatial, 1);
        long[] pads = ShapeInference.or(Attributes.ints(n, "pads"), 2 * spatial, 0);
        String autoPad = Attributes.s(n, "auto_pad", "NOTSET");
        long[] y = new long[x.length];
        y[0] = x[0];
        y[1] = channels;
        for (int i = 0; i < spatial; i++) {
            long in = x[2 + i];
            long effective = dilations[i] * (kernel[i] - 1) + 1;
            if (autoPad.startsWith("SAME")) {
                y[2 + i] = (in + strides[i] - 1) / strides[i];
            } else if (autoPad.equals("VALID")) {
                y[2 + i] = (in - effective) / strides[i] + 1;
            } else {
                double span = (double) (in + pads[i] + pads[i + spatial] - effective) / strides[i];
                y[2 + i] = (long) (ceil ? Math.ceil(span) : Math.floor(span)) + 1;
            }
        }
        return y;
    }

    @Override
    public NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution e) {
        NDArray x = in.get(0);
        int spatial = x.getShape().dimension() - 2;
        if (n.getOpType().equals("GlobalAveragePool")) {
            return GraphExecutor.mean(x, java.util.stream.IntStream.range(2, x.getShape().dimension()).toArray(), true);
        }
        Shape kernel = new Shape(Attributes.ints(n, "kernel_shape"));
        long[] pads = Attributes.ints(n, "pads");
        long[] padding = new long[spatial];
        for (int i = 0; i < spatial; i++) {
            padding[i] = pads == null ? 0 : pads[i];
        }
        boolean ceil = Attributes.i(n, "ceil_mode", 0) == 1;
        Shape strides = GraphExecutor.ones(Attributes.ints(n, "strides"), spatial);
        return n.getOpType().equals("MaxPool")
                ? x.getNDArrayInternal().maxPool(kernel, strides, new Shape(padding), ceil)
                : x.getNDArrayInternal().avgPool(kernel, strides, new Shape(padding), ceil,
                        Attributes.i(n, "count_include_pad", 0) == 1);
    }

    @Override
    public long flops(OnnxMl.NodeProto n, ShapeInference s) {
        return n.getOpType().equals("GlobalAveragePool") ? Shapes.elements(s.shape(n.getInput(0)))
                : Shapes.elements(s.shape(n.getOutput(0))) * Shapes.elements(Attributes.ints(n, "kernel_shape"));
    }

    @Override
    public boolean followsLastAxis(OnnxMl.NodeProto n) {
        return true;
    }

    @Override
    public void couple(DependencyGraph g, OnnxMl.NodeProto n) {
        String x = n.getInput(0);
        Integer space = g.space(x);
        if (space != null && g.span(x) == 1) {
            g.carry(x, n.getOutput(0), space, g.axis(x));
        } else {
            g.freezeInputs(n);
        }
    }

    @Override
    public void coupleSegments(DependencyGraph g, OnnxMl.NodeProto n, List<int[]> segments) {
        g.carrySegments(n, segments);
    }
}
