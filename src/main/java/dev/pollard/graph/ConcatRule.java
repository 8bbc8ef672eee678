package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.onnx.proto.OnnxMl;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Concat. Along channels (axis 1) the output's channels are the inputs' one after another, so a consumer's weights hold
 * each input's units at an offset (the widths of the inputs before it): the output is traced as segments (space,
 * offset). Small int64 concatenations (the shapes PyTorch builds) are folded at load time.
 */
final class ConcatRule implements OpRule {
    @Override
    public Set<String> ops() {
        return Set.of("Concat");
    }

    @Override
    public void inferShapes(ShapeInference s, OnnxMl.NodeProto n) {
        long[] first = s.in(n, 0);
        int axis = Shapes.axis(Attributes.i(n, "axis", 0), first.length);
        long[] y = first.clone();
        y[axis] = 0;
        for (int i = 0; i < n.getInputCount(); i++) {
            y[axis] += s.in(n, i)[axis];
        }
        s.out(n, y);
        if (s.allConstant(n) && first.length == 1) {
            s.constant(n, Folding.concat(n.getInputList().stream().map(s::constant).toList()));
        }
    }

    @Override
    public NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution e) {
        int axis = Shapes.axis(Attributes.i(n, "axis", 0), in.get(0).getShape().dimension());
        return NDArrays.concat(new NDList(in.toArray(new NDArray[0])), axis);
    }

    @Override
    public long flops(OnnxMl.NodeProto n, ShapeInference s) {
        return 0; // moves data, computes nothing
    }

    @Override
    public EntrySource entrySource(ShapeInference s, OnnxMl.NodeProto n, int index) {
        int offset = 0;
        for (String part : n.getInputList()) {
            int size = (int) Shapes.elements(s.shape(part));
            if (index < offset + size) {
                return new EntrySource(part, index - offset);
            }
            offset += size;
        }
        return null;
    }

    @Override
    public boolean joinsSegments() {
        return true;
    }

    @Override
    public boolean followsLastAxis(OnnxMl.NodeProto n) {
        return true;
    }

    /** Each traced input becomes a segment at the offset of what precedes it; along another axis, all freeze. */
    @Override
    public void couple(DependencyGraph g, OnnxMl.NodeProto n) {
        if (n.getInputList().stream().noneMatch(g::traced)) {
            return;
        }
        long[] first = g.shapes().shape(n.getInput(0));
        int axis = Shapes.axis(Attributes.i(n, "axis", 0), first.length);
        List<int[]> segments = new ArrayList<>();
        int offset = 0;
        for (String input : n.getInputList()) {
            Integer s = g.space(input);
            boolean traced = g.traced(input);
            if (axis != 1 || (traced && (g.axis(input) != 1 || g.span(input) != 1 || g.headed(input)))) {
                g.freezeInputs(n); // along another axis, channels would not stay whole
                return;
            }
            if (s != null) {
                segments.add(new int[] {s, offset});
            }
            for (int[] seg : g.segments(input)) {
                segments.add(new int[] {seg[0], offset + seg[1]});
            }
            offset += (int) g.shapes().shape(input)[1]; // untraced inputs keep their channels: they only shift the rest
        }
        g.carrySegments(n, segments);
    }
}
