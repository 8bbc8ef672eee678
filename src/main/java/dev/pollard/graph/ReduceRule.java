package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.onnx.proto.OnnxMl;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

/** ReduceMean and ReduceSum over some axes (an input from opset 13/18 on, an attribute before), all when none. */
final class ReduceRule implements OpRule {
    @Override
    public Set<String> ops() {
        return Set.of("ReduceMean", "ReduceSum");
    }

    @Override
    public void inferShapes(ShapeInference s, OnnxMl.NodeProto n) {
        long[] x = s.in(n, 0);
        long[] axes = ShapeInference.hasInput(n, 1) ? s.longsOf(n, 1) : Attributes.ints(n, "axes");
        boolean keep = Attributes.i(n, "keepdims", 1) == 1;
        boolean[] reduced = new boolean[x.length];
        if (axes == null || axes.length == 0) {
            Arrays.fill(reduced, Attributes.i(n, "noop_with_empty_axes", 0) == 0);
        } else {
            for (long a : axes) {
                reduced[Shapes.axis(a, x.length)] = true;
            }
        }
        long[] y = new long[x.length];
        int k = 0;
        for (int i = 0; i < x.length; i++) {
            if (!reduced[i]) {
                y[k++] = x[i];
            } else if (keep) {
                y[k++] = 1;
            }
        }
        s.out(n, Arrays.copyOf(y, k));
    }

    @Override
    public NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution e) {
        NDArray x = in.get(0);
        long[] axes = in.size() > 1 && in.get(1) != null ? in.get(1).toLongArray() : Attributes.ints(n, "axes");
        int rank = x.getShape().dimension();
        boolean keep = Attributes.i(n, "keepdims", 1) == 1;
        if ((axes == null || axes.length == 0) && Attributes.i(n, "noop_with_empty_axes", 0) == 1) {
            return x;
        }
        int[] a = axes == null || axes.length == 0 ? IntStream.range(0, rank).toArray()
                : Arrays.stream(axes).mapToInt(v -> Shapes.axis(v, rank)).toArray();
        return n.getOpType().equals("ReduceMean") ? GraphExecutor.mean(x, a, keep) : sum(x, a, keep);
    }

    /** Sum over several axes, one at a time from the last, as {@link GraphExecutor#mean} does. */
    private static NDArray sum(NDArray x, int[] axes, boolean keep) {
        int[] sorted = Arrays.stream(axes).sorted().toArray();
        NDArray y = x;
        for (int i = sorted.length - 1; i >= 0; i--) {
            y = y.sum(new int[] {sorted[i]}, keep);
        }
        return y;
    }

    @Override
    public long flops(OnnxMl.NodeProto n, ShapeInference s) {
        return Shapes.elements(s.shape(n.getInput(0)));
    }
}
