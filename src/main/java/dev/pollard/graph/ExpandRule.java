package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.onnx.proto.OnnxMl;
import java.util.List;
import java.util.Set;

/** Expand: the input broadcast to a shape (numpy rules, so the result may be larger than the shape asked for). */
final class ExpandRule implements OpRule {
    @Override
    public Set<String> ops() {
        return Set.of("Expand");
    }

    @Override
    public void inferShapes(ShapeInference s, OnnxMl.NodeProto n) {
        s.out(n, Shapes.broadcast(s.in(n, 0), s.longsOf(n, 1), Attributes.label(n)));
    }

    @Override
    public NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution e) {
        NDArray x = in.get(0);
        return x.broadcast(new Shape(Shapes.broadcast(x.getShape().getShape(), in.get(1).toLongArray(), Attributes.label(n))));
    }

    @Override
    public long flops(OnnxMl.NodeProto n, ShapeInference s) {
        return 0; // moves data, computes nothing
    }
}
