package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.onnx.proto.OnnxMl;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Shape reads only its input's dimensions (from {@code start} to {@code end}): whatever a group's width becomes, the
 * subgraph it feeds recomputes it, so it couples nothing.
 */
final class ShapeRule implements OpRule {
    @Override
    public Set<String> ops() {
        return Set.of("Shape");
    }

    private static long[] dims(OnnxMl.NodeProto n, long[] shape) {
        int start = Shapes.axis(Attributes.i(n, "start", 0), shape.length);
        int end = Shapes.axis(Attributes.i(n, "end", shape.length), shape.length);
        return Arrays.copyOfRange(shape, Math.max(0, start), Math.min(shape.length, Math.max(start, end)));
    }

    @Override
    public void inferShapes(ShapeInference s, OnnxMl.NodeProto n) {
        long[] v = dims(n, s.in(n, 0));
        s.constant(n, Tensor.ofLongs(new long[] {v.length}, v));
    }

    @Override
    public NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution e) {
        return e.scope().create(dims(n, in.get(0).getShape().getShape()));
    }

    @Override
    public boolean isView(OnnxMl.NodeProto n) {
        return true;
    }

    @Override
    public boolean followsLastAxis(OnnxMl.NodeProto n) {
        return true;
    }

    @Override
    public void couple(DependencyGraph g, OnnxMl.NodeProto n) {
    }

    @Override
    public void coupleSegments(DependencyGraph g, OnnxMl.NodeProto n, List<int[]> segments) {
    }
}
