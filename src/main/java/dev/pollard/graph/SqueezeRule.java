package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.onnx.proto.OnnxMl;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

/** Squeeze and Unsqueeze remove or add axes of size one (axes an input from opset 13 on, an attribute before). */
final class SqueezeRule implements OpRule {
    @Override
    public Set<String> ops() {
        return Set.of("Squeeze", "Unsqueeze");
    }

    @Override
    public void inferShapes(ShapeInference s, OnnxMl.NodeProto n) {
        long[] x = s.in(n, 0);
        long[] axes = ShapeInference.hasInput(n, 1) ? s.longsOf(n, 1) : Attributes.ints(n, "axes");
        long[] y;
        if (n.getOpType().equals("Unsqueeze")) {
            int rank = x.length + axes.length;
            boolean[] added = new boolean[rank];
            for (long a : axes) {
                added[Shapes.axis(a, rank)] = true;
            }
            y = new long[rank];
            for (int i = 0, k = 0; i < rank; i++) {
                y[i] = added[i] ? 1 : x[k++];
            }
        } else {
            boolean[] removed = new boolean[x.length];
            for (int i = 0; i < x.length; i++) {
                removed[i] = axes == null && x[i] == 1;
            }
            if (axes != null) {
                for (long a : axes) {
                    removed[Shapes.axis(a, x.length)] = true;
                }
            }
            y = IntStream.range(0, x.length).filter(i -> !removed[i]).mapToLong(i -> x[i]).toArray();
        }
        s.out(n, y);
        Tensor t = s.constant(n.getInput(0));
        if (t != null) {
            s.constant(n, t.isFloat() ? Tensor.ofFloats(y, t.floats()) : Tensor.ofLongs(y, t.longs()));
        }
    }

    @Override
    public NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution e) {
        NDArray x = in.get(0);
        long[] axes = in.size() > 1 && in.get(1) != null ? in.get(1).toLongArray() : Attributes.ints(n, "axes");
        if (n.getOpType().equals("Squeeze")) {
            if (axes == null) {
                return x.squeeze();
            }
            int rank = x.getShape().dimension();
            return x.squeeze(Arrays.stream(axes).mapToInt(a -> Shapes.axis(a, rank)).toArray());
        }
        int rank = x.getShape().dimension() + axes.length;
        int[] sorted = Arrays.stream(axes).mapToInt(a -> Shapes.axis(a, rank)).sorted().toArray();
        NDArray y = x;
        for (int a : sorted) {
            y = y.expandDims(a);
        }
        return y;
    }

    @Override
    public boolean isView(OnnxMl.NodeProto n) {
        return true;
    }

    @Override
    public boolean followsLastAxis(OnnxMl.NodeProto n) {
        return true;
    }

    /** Packed and head-split values keep their units through added or removed size-one axes. */
    @Override
    public void couple(DependencyGraph g, OnnxMl.NodeProto n) {
        String x = n.getInput(0);
        Integer space = g.space(x);
        if (space == null || !(g.headed(x) || g.blockAxis(x) >= 0) || g.span(x) != 1
                || !g.carryMoved(x, n.getOutput(0), space, axisMap(g.shapes(), n))) {
            g.freezeInputs(n);
        }
    }

    /** Where each input axis ends up (-1 where squeezed away). */
    static int[] axisMap(ShapeInference s, OnnxMl.NodeProto n) {
        long[] x = s.in(n, 0);
        long[] y = s.shape(n.getOutput(0));
        long[] axes = ShapeInference.hasInput(n, 1) ? s.longsOf(n, 1) : Attributes.ints(n, "axes");
        int[] where = new int[x.length];
        if (n.getOpType().equals("Unsqueeze")) {
            boolean[] added = new boolean[y.length];
            for (long a : axes) {
                added[Shapes.axis(a, y.length)] = true;
            }
            for (int i = 0, k = 0; i < y.length; i++) {
                if (!added[i]) {
                    where[k++] = i;
                }
            }
            return where;
        }
        boolean[] removed = new boolean[x.length];
        for (int i = 0; i < x.length; i++) {
            removed[i] = axes == null && x[i] == 1;
        }
        if (axes != null) {
            for (long a : axes) {
                removed[Shapes.axis(a, x.length)] = true;
            }
        }
        for (int i = 0, k = 0; i < x.length; i++) {
            where[i] = removed[i] ? -1 : k++;
        }
        return where;
    }

    @Override
    public EntrySource entrySource(ShapeInference s, OnnxMl.NodeProto n, int index) {
        return new EntrySource(n.getInput(0), index);
    }
}
