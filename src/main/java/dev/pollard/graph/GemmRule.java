package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.onnx.proto.OnnxMl;
import java.util.List;
import java.util.Set;

/** Gemm, a fully connected layer: its output columns are a new space; its input columns are consumed. */
final class GemmRule implements OpRule {
    @Override
    public Set<String> ops() {
        return Set.of("Gemm");
    }

    @Override
    public void inferShapes(ShapeInference s, OnnxMl.NodeProto n) {
        long[] a = s.in(n, 0);
        long[] b = s.in(n, 1);
        long m = Attributes.i(n, "transA", 0) == 1 ? a[1] : a[0];
        long cols = Attributes.i(n, "transB", 0) == 1 ? b[0] : b[1];
        s.out(n, new long[] {m, cols});
    }

    @Override
    public NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution x) {
        NDArray a = Attributes.i(n, "transA", 0) == 1 ? in.get(0).transpose() : in.get(0);
        NDArray b = Attributes.i(n, "transB", 0) == 1 ? in.get(1).transpose() : in.get(1);
        NDArray y = a.matMul(b).mul(Attributes.f(n, "alpha", 1f));
        return in.size() > 2 && in.get(2) != null ? y.add(in.get(2).mul(Attributes.f(n, "beta", 1f))) : y;
    }

    @Override
    public long flops(OnnxMl.NodeProto n, ShapeInference s) {
        long out = Shapes.elements(s.shape(n.getOutput(0)));
        long[] a = s.shape(n.getInput(0));
        long k = Attributes.i(n, "transA", 0) == 1 ? a[0] : a[1];
        return 2 * out * k + (n.getInputCount() > 2 ? out : 0);
    }

    @Override
    public void couple(DependencyGraph g, OnnxMl.NodeProto n) {
        boolean transB = Attributes.i(n, "transB", 0) == 1;
        if (Attributes.i(n, "transA", 0) == 1) {
            g.freezeInputs(n);
            return;
        }
        String x = n.getInput(0);
        Integer in = g.space(x);
        if (in != null) {
            g.member(in, n.getInput(1), transB ? 1 : 0, g.span(x), n, PruningGroup.Role.CONSUMER);
        }
        ShapeInference shapes = g.shapes();
        long[] w = shapes.shape(n.getInput(1));
        int out = g.newSpace((int) (transB ? w[0] : w[1]), n);
        g.member(out, n.getInput(1), transB ? 0 : 1, 1, n, PruningGroup.Role.PRODUCER);
        if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
            long[] bias = shapes.shape(n.getInput(2));
            if (bias.length == 1 && bias[0] > 1) {
                g.member(out, n.getInput(2), 0, 1, n, PruningGroup.Role.PRODUCER);
            } else {
                g.freeze(out); // a broadcast bias cannot be sliced per unit
            }
        }
        g.put(n.getOutput(0), out, 1);
    }
}
