package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.onnx.proto.OnnxMl;
import java.util.List;
import java.util.Set;

/**
 * Split: consecutive parts of one axis, one per output; their sizes are an input (opset 13 on), an attribute (before),
 * or equal parts (the last one smaller when the axis does not divide, as opset 18's num_outputs says).
 */
final class SplitRule implements OpRule {
    @Override
    public Set<String> ops() {
        return Set.of("Split");
    }

    private static long[] sizes(OnnxMl.NodeProto n, long dim, long[] given) {
        if (given != null) {
            return given;
        }
        int parts = n.getOutputCount();
        long each = (dim + parts - 1) / parts;
        long[] sizes = new long[parts];
        for (int i = 0; i < parts; i++) {
            sizes[i] = Math.max(0, Math.min(each, dim - i * each));
        }
        return sizes;
    }

    @Override
    public void inferShapes(ShapeInference s, OnnxMl.NodeProto n) {
        long[] x = s.in(n, 0);
        int axis = Shapes.axis(Attributes.i(n, "axis", 0), x.length);
        long[] given = ShapeInference.hasInput(n, 1) ? s.longsOf(n, 1) : Attributes.ints(n, "split");
        long[] sizes = sizes(n, x[axis], given);
        if (sizes.length != n.getOutputCount()) {
            throw new ModelException("node '" + Attributes.label(n) + "': " + sizes.length + " split sizes for "
                    + n.getOutputCount() + " outputs");
        }
        for (int i = 0; i < sizes.length; i++) {
            long[] y = x.clone();
            y[axis] = sizes[i];
            s.out(n, i, y);
        }
    }

    @Override
    public NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution e) {
        return executeAll(n, in, e).get(0);
    }

    @Override
    public List<NDArray> executeAll(OnnxMl.NodeProto n, List<NDArray> in, Execution e) {
        NDArray x = in.get(0);
        int axis = Shapes.axis(Attributes.i(n, "axis", 0), x.getShape().dimension());
        long[] given = in.size() > 1 && in.get(1) != null ? in.get(1).toLongArray() : Attributes.ints(n, "split");
        long[] sizes = sizes(n, x.getShape().get(axis), given);
        long[] boundaries = new long[sizes.length - 1]; // where each part after the first begins
        long at = 0;
        for (int i = 0; i < boundaries.length; i++) {
            at += sizes[i];
            boundaries[i] = at;
        }
        return x.split(boundaries, axis);
    }

    @Override
    public long flops(OnnxMl.NodeProto n, ShapeInference s) {
        return 0; // moves data, computes nothing
    }
}
