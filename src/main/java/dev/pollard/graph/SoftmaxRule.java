package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.onnx.proto.OnnxMl;
import java.util.List;
import java.util.Set;

/** Softmax normalises along one axis: units on any other axis (attention heads) stay apart. */
final class SoftmaxRule implements OpRule {
    @Override
    public Set<String> ops() {
        return Set.of("Softmax");
    }

    @Override
    public void inferShapes(ShapeInference s, OnnxMl.NodeProto n) {
        s.out(n, s.in(n, 0));
    }

    @Override
    public NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution e) {
        NDArray x = in.get(0);
        return x.softmax(Shapes.axis(Attributes.i(n, "axis", -1), x.getShape().dimension()));
    }

    @Override
    public long flops(OnnxMl.NodeProto n, ShapeInference s) {
        return 3 * Shapes.elements(s.shape(n.getOutput(0)));
    }

    @Override
    public boolean followsLastAxis(OnnxMl.NodeProto n) {
        return true;
    }

    @Override
    public void couple(DependencyGraph g, OnnxMl.NodeProto n) {
        String x = n.getInput(0);
        Integer in = g.space(x);
        int rank = g.shapes().shape(x).length;
        if (in != null && Shapes.axis(Attributes.i(n, "axis", -1), rank) != g.axis(x) && g.span(x) == 1) {
            g.carry(x, n.getOutput(0), in, g.axis(x)); // normalises along another axis: units stay apart
        } else {
            g.freezeInputs(n);
        }
    }
}
