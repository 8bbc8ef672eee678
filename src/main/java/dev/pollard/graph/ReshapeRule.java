package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.onnx.proto.OnnxMl;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Reshape and Flatten: the same elements in another shape. Channels of an NCHW tensor flattened to [N, C*H*W] each own
 * H*W consecutive columns. A Reshape [.., F] -> [.., H, F/H] of a linear layer's features splits them into H attention
 * heads; [.., H, D] -> [.., H*D] merges heads back into features. Anything else freezes the units it moves.
 */
final class ReshapeRule implements OpRule {
    @Override
    public Set<String> ops() {
        return Set.of("Reshape", "Flatten");
    }

    @Override
    public void inferShapes(ShapeInference s, OnnxMl.NodeProto n) {
        long[] x = s.in(n, 0);
        if (n.getOpType().equals("Flatten")) {
            int axis = Shapes.axis(Attributes.i(n, "axis", 1), x.length);
            s.out(n, new long[] {Shapes.elements(Arrays.copyOfRange(x, 0, axis)),
                    Shapes.elements(Arrays.copyOfRange(x, axis, x.length))});
            return;
        }
        long[] target = s.longsOf(n, 1).clone();
        boolean allowZero = Attributes.i(n, "allowzero", 0) == 1;
        int infer = -1;
        long known = 1;
        for (int i = 0; i < target.length; i++) {
            if (target[i] == 0 && !allowZero) {
                target[i] = x[i];
            }
            if (target[i] == -1) {
                infer = i;
            } else {
                known *= target[i];
            }
        }
        if (infer >= 0) {
            target[infer] = Shapes.elements(x) / known;
        }
        if (Shapes.elements(target) != Shapes.elements(x)) {
            throw new ModelException("node '" + Attributes.label(n) + "': cannot reshape " + Arrays.toString(x)
                    + " to " + Arrays.toString(s.longsOf(n, 1)));
        }
        s.out(n, target);
        Tensor t = s.constant(n.getInput(0));
        if (t != null) {
            s.constant(n, t.isFloat() ? Tensor.ofFloats(target, t.floats()) : Tensor.ofLongs(target, t.longs()));
        }
    }

    @Override
    public NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution e) {
        NDArray x = in.get(0);
        if (n.getOpType().equals("Flatten")) {
            int axis = Shapes.axis(Attributes.i(n, "axis", 1), x.getShape().dimension());
            long outer = 1;
            for (int i = 0; i < axis; i++) {
                outer *= x.getShape().get(i);
            }
            return x.reshape(outer, -1);
        }
        long[] target = in.get(1).toLongArray();
        for (int i = 0; i < target.length; i++) {
            if (target[i] == 0 && Attributes.i(n, "allowzero", 0) == 0) {
                target[i] = x.getShape().get(i);
            }
        }
        return x.reshape(target);
    }

    @Override
    public boolean isView(OnnxMl.NodeProto n) {
        return true;
    }

    @Override
    public boolean followsLastAxis(OnnxMl.NodeProto n) {
        return n.getOpType().equals("Reshape");
    }

    @Override
    public EntrySource entrySource(ShapeInference s, OnnxMl.NodeProto n, int index) {
        return n.getOpType().equals("Reshape") ? new EntrySource(n.getInput(0), index) : null;
    }

    @Override
    public void couple(DependencyGraph g, OnnxMl.NodeProto n) {
        String x = n.getInput(0);
        Integer in = g.space(x);
        if (in == null) {
            return;
        }
        if (n.getOpType().equals("Reshape") && (g.headed(x) || g.axis(x) != 1)) {
            if (!splitHeads(g, n) && !mergeHeads(g, n)) {
                g.freezeInputs(n);
            }
            return;
        }
        long[] before = g.shapes().shape(x);
        long[] after = g.shapes().shape(n.getOutput(0));
        // NCHW -> [N, C*H*W]: channel c owns H*W consecutive columns
        if (before.length >= 2 && after.length == 2 && after[0] == before[0] && g.span(x) == 1) {
            g.put(n.getOutput(0), in, 1);
            g.setSpan(n.getOutput(0), (int) (after[1] / before[1]));
        } else {
            g.freeze(in);
        }
    }

    /**
     * A Reshape [.., F] -> [.., H, F/H] of a linear layer's output: its F neurons become H heads. The entry of the
     * shape that says H joins the group (none when it is -1, inferred).
     */
    private static boolean splitHeads(DependencyGraph g, OnnxMl.NodeProto n) {
        String x = n.getInput(0);
        long[] before = g.shapes().shape(x);
        long[] after = g.shapes().shape(n.getOutput(0));
        int r = before.length;
        int space = g.root(g.space(x));
        if (g.headed(x) || g.axis(x) != r - 1 || g.span(x) != 1 || after.length != r + 1
                || g.unit(space) != 1 || g.width(space) != before[r - 1] || after[r - 1] < 2
                || !Arrays.equals(Arrays.copyOf(before, r - 1), Arrays.copyOf(after, r - 1))) {
            return false;
        }
        int heads = (int) after[r - 1];
        int size = (int) after[r];
        PruningGroup.Member count = null;
        long entry = g.shapes().constant(n.getInput(1)).longs()[r - 1];
        if (entry == heads) {
            count = g.shapeEntry(n.getInput(1), r - 1, 1, n, heads);
            if (count == null) {
                return false;
            }
        } else if (entry != -1) {
            return false;
        }
        g.becomeHeads(space, heads, size);
        if (count != null) {
            g.addMember(space, count);
        }
        g.put(n.getOutput(0), space, r - 1);
        g.markHeaded(n.getOutput(0));
        return true;
    }

    /** A Reshape [.., H, D] -> [.., H * D] that merges heads back into features; the entry saying H * D joins. */
    private static boolean mergeHeads(DependencyGraph g, OnnxMl.NodeProto n) {
        String x = n.getInput(0);
        long[] before = g.shapes().shape(x);
        long[] after = g.shapes().shape(n.getOutput(0));
        int r = after.length;
        int space = g.root(g.space(x));
        if (!g.headed(x) || g.axis(x) != before.length - 2 || before.length != r + 1 || g.unit(space) != before[r]
                || after[r - 1] != before[r - 1] * before[r]
                || !Arrays.equals(Arrays.copyOf(before, r - 1), Arrays.copyOf(after, r - 1))) {
            return false;
        }
        long entry = g.shapes().constant(n.getInput(1)).longs()[r - 1];
        if (entry == after[r - 1]) {
            PruningGroup.Member count = g.shapeEntry(n.getInput(1), r - 1, g.unit(space), n, g.width(space));
            if (count == null) {
                return false;
            }
            g.addMember(space, count);
        } else if (entry != -1) {
            return false;
        }
        g.put(n.getOutput(0), space, r - 1);
        return true;
    }
}
