package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.onnx.proto.OnnxMl;
import java.util.List;
import java.util.Set;

/**
 * Gather (rows of an embedding, entries of a shape) and GatherElements (one element per index, along an axis). Negative
 * indices count from the end.
 */
final class GatherRule implements OpRule {
    @Override
    public Set<String> ops() {
        return Set.of("Gather", "GatherElements");
    }

    @Override
    public void inferShapes(ShapeInference s, OnnxMl.NodeProto n) {
        long[] data = s.in(n, 0);
        long[] indices = s.in(n, 1);
        if (n.getOpType().equals("GatherElements")) {
            s.out(n, indices);
            return;
        }
        int axis = Shapes.axis(Attributes.i(n, "axis", 0), data.length);
        long[] y = new long[data.length - 1 + indices.length];
        System.arraycopy(data, 0, y, 0, axis);
        System.arraycopy(indices, 0, y, axis, indices.length);
        System.arraycopy(data, axis + 1, y, axis + indices.length, data.length - axis - 1);
        s.out(n, y);
        Tensor d = s.constant(n.getInput(0));
        Tensor idx = s.constant(n.getInput(1));
        if (d != null && idx != null && data.length == 1) {
            s.constant(n, Folding.gather1d(d, idx, y));
        }
    }

    @Override
    public NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution e) {
        NDArray x = in.get(0);
        int axis = Shapes.axis(Attributes.i(n, "axis", 0), x.getShape().dimension());
        NDArray idx = in.get(1);
        long dim = x.getShape().get(axis);
        NDArray positive = idx.add(idx.lt(0).toType(DataType.INT64, false).mul(dim));
        if (n.getOpType().equals("GatherElements")) {
            return x.gather(positive.toType(DataType.INT64, false), axis);
        }
        long[] flat = positive.toLongArray();
        NDArray picked = x.get(new NDIndex(":,".repeat(axis) + "{}", e.scope().create(flat)));
        long[] xs = x.getShape().getShape();
        long[] is = idx.getShape().getShape();
        long[] ys = new long[xs.length - 1 + is.length];
        System.arraycopy(xs, 0, ys, 0, axis);
        System.arraycopy(is, 0, ys, axis, is.length);
        System.arraycopy(xs, axis + 1, ys, axis + is.length, xs.length - axis - 1);
        return picked.reshape(ys);
    }

    @Override
    public boolean followsLastAxis(OnnxMl.NodeProto n) {
        return true;
    }

    /** Picking one block (Q, K or V) of a packed value by a constant index keeps the units of the others' axis. */
    @Override
    public void couple(DependencyGraph g, OnnxMl.NodeProto n) {
        String x = n.getInput(0);
        Integer space = g.space(x);
        Tensor index = g.shapes().constant(n.getInput(1));
        int rank = g.shapes().shape(x).length;
        int axis = Shapes.axis(Attributes.i(n, "axis", 0), rank);
        if (space == null || !n.getOpType().equals("Gather") || g.blockAxis(x) != axis || index == null
                || index.dims().length != 0 || g.span(x) != 1) {
            g.freezeInputs(n);
            return;
        }
        int[] where = new int[rank];
        for (int i = 0; i < rank; i++) {
            where[i] = i < axis ? i : i == axis ? -1 : i - 1;
        }
        String out = n.getOutput(0);
        g.carryMoved(x, out, space, where);
        g.setBlockAxis(out, -1);
    }

    @Override
    public long flops(OnnxMl.NodeProto n, ShapeInference s) {
        return 0; // moves data, computes nothing
    }
}
