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
            // packed Q/K/V first: its [.., 3, E] split would otherwise read as 3 heads
            if (!splitBlocks(g, n) && !splitHeads(g, n) && !mergeHeads(g, n) && !foldHeads(g, n) && !unfoldHeads(g, n)
                    && !mergeHeadsAndRows(g, n)) {
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

    /**
     * A Reshape [.., k*E] -> [.., k, E] of a packed projection (PyTorch's in_proj: an E-feature input projected to
     * Q, K and V side by side): the space's units are E, each present in all k blocks. Told from a split into k heads
     * by what follows: the blocks are picked apart one index at a time (Gather), heads are not.
     */
    private static boolean splitBlocks(DependencyGraph g, OnnxMl.NodeProto n) {
        String x = n.getInput(0);
        long[] before = g.shapes().shape(x);
        long[] after = g.shapes().shape(n.getOutput(0));
        int r = before.length;
        int space = g.root(g.space(x));
        if (g.headed(x) || g.blockAxis(x) >= 0 || g.axis(x) != r - 1 || g.span(x) != 1 || after.length != r + 1
                || g.unit(space) != 1 || g.width(space) != before[r - 1] || after[r - 1] < 2 || after[r - 1] > 3
                || !Arrays.equals(Arrays.copyOf(before, r - 1), Arrays.copyOf(after, r - 1))
                || !pickedApart(g, n.getOutput(0), r - 1)) {
            return false;
        }
        PruningGroup.Member count = g.countEntry(n, r, 1, (int) after[r]);
        if (count == null) {
            return false;
        }
        g.becomeBlocks(space, (int) after[r - 1]);
        if (count != DependencyGraph.UNCOUNTED) {
            g.addMember(space, count);
        }
        g.put(n.getOutput(0), space, r);
        g.setBlockAxis(n.getOutput(0), r - 1);
        return true;
    }

    /**
     * Whether every reader of the value, after axes moved by Unsqueeze, Squeeze and Transpose, Gathers one constant
     * index along {@code axis}: how PyTorch takes Q, K and V out of a packed projection.
     */
    private static boolean pickedApart(DependencyGraph g, String value, int axis) {
        List<OnnxMl.NodeProto> readers = g.consumers(value);
        for (OnnxMl.NodeProto c : readers) {
            int rank = g.shapes().shape(value).length;
            switch (c.getOpType()) {
                case "Gather" -> {
                    Tensor index = g.shapes().constant(c.getInput(1));
                    if (!c.getInput(0).equals(value) || Shapes.axis(Attributes.i(c, "axis", 0), rank) != axis
                            || index == null || index.dims().length != 0) {
                        return false;
                    }
                }
                case "Unsqueeze", "Squeeze", "Transpose" -> {
                    int[] where = c.getOpType().equals("Transpose") ? TransposeRule.axisMap(c, rank)
                            : SqueezeRule.axisMap(g.shapes(), c);
                    if (where[axis] < 0 || !pickedApart(g, c.getOutput(0), where[axis])) {
                        return false;
                    }
                }
                default -> {
                    return false;
                }
            }
        }
        return !readers.isEmpty();
    }

    /**
     * A Reshape [.., B, E] -> [.., B*H, D] that splits features into H heads and folds them into the batch axis, as
     * nn.MultiheadAttention does (B follows the batch: found by comparing shapes at two batch sizes).
     */
    private static boolean foldHeads(DependencyGraph g, OnnxMl.NodeProto n) {
        String x = n.getInput(0);
        long[] before = g.shapes().shape(x);
        long[] after = g.shapes().shape(n.getOutput(0));
        long[] before2 = g.shapesAtTwo().shape(x);
        long[] after2 = g.shapesAtTwo().shape(n.getOutput(0));
        int r = before.length;
        int space = g.root(g.space(x));
        if (g.headed(x) || g.blockAxis(x) >= 0 || g.axis(x) != r - 1 || g.span(x) != 1 || after.length != r) {
            return false;
        }
        int batchAxis = -1;
        for (int i = 0; i < r - 1; i++) {
            if (before2[i] != before[i]) {
                batchAxis = batchAxis < 0 ? i : -2;
            } else if (after[i] != before[i] || after2[i] != before2[i]) {
                return false;
            }
        }
        if (batchAxis < 0 || after2[batchAxis] % before2[batchAxis] != 0) {
            return false;
        }
        int heads = (int) (after2[batchAxis] / before2[batchAxis]);
        int size = (int) after[r - 1];
        if (heads < 2 || (long) heads * size != before[r - 1]) {
            return false;
        }
        boolean split = g.unit(space) == 1 && g.width(space) == before[r - 1];
        if (!split && (g.unit(space) != size || g.width(space) != heads)) {
            return false;
        }
        PruningGroup.Member count = g.countEntry(n, batchAxis, 1, heads);
        if (count == null) {
            return false;
        }
        if (split) {
            g.becomeHeads(space, heads, size);
        }
        if (count != DependencyGraph.UNCOUNTED) {
            g.addMember(space, count);
        }
        g.put(n.getOutput(0), space, batchAxis);
        g.markHeaded(n.getOutput(0));
        g.markFolded(n.getOutput(0));
        return true;
    }

    /** A Reshape [.., B*H, ..] -> [.., B, H, ..] that takes folded heads out of the batch axis again. */
    private static boolean unfoldHeads(DependencyGraph g, OnnxMl.NodeProto n) {
        String x = n.getInput(0);
        long[] before = g.shapes().shape(x);
        long[] after = g.shapes().shape(n.getOutput(0));
        long[] before2 = g.shapesAtTwo().shape(x);
        long[] after2 = g.shapesAtTwo().shape(n.getOutput(0));
        int j = g.axis(x);
        int space = g.root(g.space(x));
        if (!g.folded(x) || after.length != before.length + 1 || after[j + 1] != g.width(space)
                || after2[j] * after2[j + 1] != before2[j] || after2[j] == after[j]
                || !Arrays.equals(Arrays.copyOf(before, j), Arrays.copyOf(after, j))
                || !Arrays.equals(Arrays.copyOfRange(before, j + 1, before.length),
                        Arrays.copyOfRange(after, j + 2, after.length))) {
            return false;
        }
        PruningGroup.Member count = g.countEntry(n, j + 1, 1, g.width(space));
        if (count == null) {
            return false;
        }
        if (count != DependencyGraph.UNCOUNTED) {
            g.addMember(space, count);
        }
        g.put(n.getOutput(0), space, j + 1);
        g.markHeaded(n.getOutput(0));
        return true;
    }

    /**
     * A Reshape [a, b, .., H, D] -> [a*b*.., H*D]: heads merged back into features while the leading axes become
     * rows (nn.MultiheadAttention before its output projection).
     */
    private static boolean mergeHeadsAndRows(DependencyGraph g, OnnxMl.NodeProto n) {
        String x = n.getInput(0);
        long[] before = g.shapes().shape(x);
        long[] after = g.shapes().shape(n.getOutput(0));
        int r = before.length;
        int space = g.root(g.space(x));
        if (!g.headed(x) || g.folded(x) || g.axis(x) != r - 2 || g.unit(space) != before[r - 1] || after.length != 2
                || after[1] != before[r - 2] * before[r - 1]
                || after[0] != Shapes.elements(Arrays.copyOf(before, r - 2))) {
            return false;
        }
        PruningGroup.Member count = g.countEntry(n, 1, g.unit(space), g.width(space));
        if (count == null) {
            return false;
        }
        if (count != DependencyGraph.UNCOUNTED) {
            g.addMember(space, count);
        }
        g.put(n.getOutput(0), space, 1);
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
