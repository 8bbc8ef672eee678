package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.onnx.proto.OnnxMl;
import java.util.List;
import java.util.Set;

/**
 * Transpose permutes axes: attention heads and packed Q/K/V blocks move with their axes; other units are not followed
 * through it.
 */
final class TransposeRule implements OpRule {
    @Override
    public Set<String> ops() {
        return Set.of("Transpose");
    }

    @Override
    public void inferShapes(ShapeInference s, OnnxMl.NodeProto n) {
        long[] x = s.in(n, 0);
        long[] perm = Attributes.ints(n, "perm");
        long[] y = new long[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[perm == null ? x.length - 1 - i : (int) perm[i]];
        }
        s.out(n, y);
    }

    @Override
    public NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution e) {
        long[] perm = Attributes.ints(n, "perm");
        NDArray x = in.get(0);
        return perm == null ? x.transpose() : x.transpose(java.util.Arrays.stream(perm).mapToInt(p -> (int) p).toArray());
    }

    @Override
    public long flops(OnnxMl.NodeProto n, ShapeInference s) {
        return 0; // moves data, computes nothing
    }

    @Override
    public boolean followsLastAxis(OnnxMl.NodeProto n) {
        return true;
    }

    @Override
    public void couple(DependencyGraph g, OnnxMl.NodeProto n) {
        String x = n.getInput(0);
        Integer in = g.space(x);
        if (in == null || !(g.headed(x) || g.blockAxis(x) >= 0)) {
            g.freezeInputs(n);
            return;
        }
        g.carryMoved(x, n.getOutput(0), in, axisMap(n, g.shapes().shape(x).length));
    }

    /** Where each input axis ends up. */
    static int[] axisMap(OnnxMl.NodeProto n, int rank) {
        long[] perm = Attributes.ints(n, "perm");
        int[] where = new int[rank];
        for (int i = 0; i < rank; i++) {
            where[(int) (perm == null ? rank - 1 - i : perm[i])] = i;
        }
        return where;
    }
}
