package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.onnx.proto.OnnxMl;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * MatMul. Times a 2-D weight it is a linear layer on the last axis: a new space of output features, the input's
 * features consumed. Between two activations it is attention: Q x K^T or scores x V, which join their head spaces.
 */
final class MatMulRule implements OpRule {
    @Override
    public Set<String> ops() {
        return Set.of("MatMul");
    }

    @Override
    public void inferShapes(ShapeInference s, OnnxMl.NodeProto n) {
        s.out(n, matmul(s.in(n, 0), s.in(n, 1), Attributes.label(n)));
    }

    static long[] matmul(long[] a, long[] b, String node) {
        long[] a2 = a.length == 1 ? new long[] {1, a[0]} : a;
        long[] b2 = b.length == 1 ? new long[] {b[0], 1} : b;
        if (a2[a2.length - 1] != b2[b2.length - 2]) {
            throw new ModelException("node " + node + ": cannot multiply " + Arrays.toString(a) + " by " + Arrays.toString(b));
        }
        long[] batch = Shapes.broadcast(Arrays.copyOf(a2, a2.length - 2), Arrays.copyOf(b2, b2.length - 2), node);
        long[] y = Arrays.copyOf(batch, batch.length + 2);
        y[batch.length] = a2[a2.length - 2];
        y[batch.length + 1] = b2[b2.length - 1];
        if (a.length == 1 || b.length == 1) { // numpy drops the dimension it added
            return a.length == 1 ? Arrays.copyOfRange(y, 0, y.length - 2) : Arrays.copyOf(y, y.length - 1);
        }
        return y;
    }

    @Override
    public NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution x) {
        return in.get(0).matMul(in.get(1));
    }

    @Override
    public long flops(OnnxMl.NodeProto n, ShapeInference s) {
        long[] a = s.shape(n.getInput(0));
        return 2 * Shapes.elements(s.shape(n.getOutput(0))) * a[a.length - 1];
    }

    @Override
    public boolean followsLastAxis(OnnxMl.NodeProto n) {
        return true;
    }

    @Override
    public void couple(DependencyGraph g, OnnxMl.NodeProto n) {
        String x = n.getInput(0);
        String w = n.getInput(1);
        long[] ws = g.shapes().shape(w);
        if (!g.isWeight(w) || ws.length != 2) {
            if (!headMatMul(g, n)) { // activations times activations: attention scores or context
                g.freezeInputs(n);
            }
            return;
        }
        Integer in = g.space(x);
        long[] xs = g.shapes().shape(x);
        if (in != null) {
            if (g.axis(x) == xs.length - 1 && g.span(x) == 1) {
                g.member(in, w, 0, 1, n, PruningGroup.Role.CONSUMER);
            } else {
                g.freeze(in);
            }
        }
        int out = g.newSpace((int) ws[1], n);
        g.member(out, w, 1, 1, n, PruningGroup.Role.PRODUCER);
        g.put(n.getOutput(0), out, xs.length - 1);
    }

    /** Q x K^T or scores x V: both sides carry the same heads on the same batch axis, so their head spaces join. */
    private static boolean headMatMul(DependencyGraph g, OnnxMl.NodeProto n) {
        String a = n.getInput(0);
        String b = n.getInput(1);
        if (!g.headed(a) || !g.headed(b) || g.folded(a) || g.folded(b)) {
            return false;
        }
        int rank = g.shapes().shape(a).length;
        if (g.shapes().shape(b).length != rank || g.axis(a) != g.axis(b) || g.axis(a) >= rank - 2) {
            return false;
        }
        g.union(g.space(a), g.space(b));
        g.carry(a, n.getOutput(0), g.root(g.space(a)), g.axis(a));
        return true;
    }
}
