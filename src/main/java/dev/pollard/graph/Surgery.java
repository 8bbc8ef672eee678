package dev.pollard.graph;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Physically removing units of a pruning group from every tensor that carries them, and the L2 importance of units. */
public final class Surgery {
    private Surgery() {
    }

    /**
     * A model without the given units of the group (indices into the group's current width). A Reshape whose shape
     * is computed at run time and counts the units (nn.MultiheadAttention reads it off its input) gets a constant
     * shape instead, valid for every batch size, with the new count.
     */
    public static OnnxModel remove(OnnxModel model, PruningGroup group, int[] indices) {
        Set<Integer> drop = new HashSet<>();
        for (int i : indices) {
            if (i < 0 || i >= group.width()) {
                throw new IllegalArgumentException("unit " + i + " is outside group " + group.id() + " of width " + group.width());
            }
            drop.add(i);
        }
        if (drop.size() >= group.width()) {
            throw new IllegalArgumentException("cannot remove every unit of group " + group.id());
        }
        int[] keep = java.util.stream.IntStream.range(0, group.width()).filter(i -> !drop.contains(i)).toArray();
        Map<String, Tensor> sliced = new HashMap<>();
        Map<String, Tensor> counts = new HashMap<>(); // shape constants that say how many units there are
        // where one tensor holds the group at several offsets, the later ones go first so the earlier stay in place
        List<PruningGroup.Member> ordered = group.members().stream()
                .sorted(java.util.Comparator.comparingInt(PruningGroup.Member::offset).reversed()).toList();
        Map<String, long[]> computed = new LinkedHashMap<>(); // Reshape label -> the constant shape it gets instead
        Map<String, String> computedInput = new HashMap<>(); // Reshape label -> the computed shape value it read
        ShapeInference[] atOneAndTwo = null;
        for (PruningGroup.Member m : ordered) {
            if (m.role() == PruningGroup.Role.SHAPE && !isStoredConstant(model, m.tensor())) {
                if (atOneAndTwo == null) {
                    atOneAndTwo = new ShapeInference[] {ShapeInference.infer(model, 1), ShapeInference.infer(model, 2)};
                }
                ShapeInference[] shapes = atOneAndTwo;
                long[] fixed = computed.computeIfAbsent(m.node(), label -> staticShape(model, label, m.tensor(),
                        shapes[0], shapes[1]));
                computedInput.put(m.node(), m.tensor());
                long at1 = atOneAndTwo[0].constant(m.tensor()).longs()[m.axis()];
                if (at1 == atOneAndTwo[1].constant(m.tensor()).longs()[m.axis()]) { // not the batch's entry: a count
                    fixed[m.axis()] = (long) keep.length * m.span();
                }
                continue;
            }
            if (m.role() == PruningGroup.Role.SHAPE) {
                Tensor t = counts.getOrDefault(m.tensor(), constantValue(model, m.tensor()));
                if (t.isFloat() || m.axis() < 0 || m.axis() >= t.longs().length) {
                    throw new ModelException(model.source() + ": shape constant " + m.tensor() + " " + t + " has no int64 entry " + m.axis()
                            + " to count the units of group " + group.id());
                }
                long[] v = t.longs().clone();
                v[m.axis()] = (long) keep.length * m.span();
                counts.put(m.tensor(), Tensor.ofLongs(t.dims(), v));
                continue;
            }
            Tensor declared = weights(model, m, group.width());
            Tensor t = sliced.getOrDefault(m.tensor(), declared); // narrower where a later offset was cut already
            sliced.put(m.tensor(), sliceBlocks(t, m, keep, group.width()));
        }
        Set<String> depthwise = new HashSet<>();
        for (PruningGroup.Member m : group.members()) {
            if (m.role() == PruningGroup.Role.DEPTHWISE) {
                depthwise.add(m.node());
            }
        }
        OnnxMl.GraphProto.Builder graph = model.proto().getGraph().toBuilder();
        for (int i = 0; i < graph.getInitializerCount(); i++) {
            Tensor t = sliced.get(graph.getInitializer(i).getName());
            if (t != null) {
                graph.setInitializer(i, proto(graph.getInitializer(i).getName(), t));
            }
            Tensor c = counts.get(graph.getInitializer(i).getName());
            if (c != null) {
                graph.setInitializer(i, longProto(graph.getInitializer(i).getName(), c));
            }
        }
        for (int i = 0; i < graph.getNodeCount(); i++) {
            OnnxMl.NodeProto n = graph.getNode(i);
            if (n.getOpType().equals("Constant") && counts.containsKey(n.getOutput(0))) {
                Tensor c = counts.get(n.getOutput(0));
                graph.setNode(i, n.toBuilder().clearAttribute().addAttribute(OnnxMl.AttributeProto.newBuilder()
                        .setName("value").setType(OnnxMl.AttributeProto.AttributeType.TENSOR).setT(longProto("", c))));
                continue;
            }
            if (n.getOpType().equals("Conv") && depthwise.contains(Attributes.label(n)) && Attributes.i(n, "group", 1) > 1) {
                OnnxMl.NodeProto.Builder b = n.toBuilder();
                for (int a = 0; a < b.getAttributeCount(); a++) {
                    if (b.getAttribute(a).getName().equals("group")) {
                        b.setAttribute(a, b.getAttribute(a).toBuilder().setI(keep.length));
                    }
                }
                graph.setNode(i, b);
            }
        }
        computed.forEach((label, fixed) -> {
            String name = uniqueName(model, label + "/static_shape");
            graph.addInitializer(longProto(name, Tensor.ofLongs(new long[] {fixed.length}, fixed)));
            for (int i = 0; i < graph.getNodeCount(); i++) {
                OnnxMl.NodeProto n = graph.getNode(i);
                if (Attributes.label(n).equals(label) && n.getInput(1).equals(computedInput.get(label))) {
                    graph.setNode(i, n.toBuilder().setInput(1, name));
                }
            }
        });
        graph.clearValueInfo(); // intermediate shape annotations are stale now; runtimes infer them again
        return OnnxModel.of(model.proto().toBuilder().setGraph(graph).build(), model.source());
    }

    /** Whether the value is an int64 initializer or Constant node output, which can be rewritten in place. */
    private static boolean isStoredConstant(OnnxModel model, String name) {
        return model.initializers().containsKey(name)
                || model.nodes().stream().anyMatch(n -> n.getOpType().equals("Constant") && n.getOutput(0).equals(name));
    }

    /**
     * The shape a Reshape computes at run time from Shape operators, as a constant that holds for every batch size:
     * entries that do not change with the batch as they are, one that follows the batch from the same axis of the
     * input as 0 (copy it), and at most one other batch-dependent entry as -1 (inferred).
     */
    static long[] staticShape(OnnxModel model, String reshapeLabel, String shapeValue, ShapeInference one,
            ShapeInference two) {
        OnnxMl.NodeProto reshape = model.nodes().stream().filter(n -> Attributes.label(n).equals(reshapeLabel))
                .findFirst().orElseThrow(() -> new IllegalStateException("no node " + reshapeLabel));
        long[] at1 = one.constant(shapeValue).longs();
        long[] at2 = two.constant(shapeValue).longs();
        long[] in1 = one.shape(reshape.getInput(0));
        long[] in2 = two.shape(reshape.getInput(0));
        boolean copies = Attributes.i(reshape, "allowzero", 0) == 0;
        long[] fixed = new long[at1.length];
        int inferred = 0;
        for (int i = 0; i < fixed.length; i++) {
            if (at1[i] == at2[i] && at1[i] != 0) {
                fixed[i] = at1[i];
            } else if (copies && i < in1.length && in1[i] == at1[i] && in2[i] == at2[i]) {
                fixed[i] = 0;
            } else {
                fixed[i] = -1;
                inferred++;
            }
        }
        if (inferred > 1) {
            throw new ModelException("node '" + reshapeLabel + "': its shape follows the batch in " + inferred
                    + " entries; only one can be inferred");
        }
        return fixed;
    }

    private static String uniqueName(OnnxModel model, String wanted) {
        Set<String> taken = new HashSet<>(model.initializers().keySet());
        model.nodes().forEach(n -> taken.addAll(n.getOutputList()));
        String name = wanted;
        for (int i = 2; taken.contains(name); i++) {
            name = wanted + "_" + i;
        }
        return name;
    }

    /** A member's tensor seen with its axis split into (blocks, block length), so each block slices alike. */
    private static Tensor blockView(Tensor t, int axis, int blocks) {
        long[] dims = t.dims();
        long[] split = new long[dims.length + 1];
        System.arraycopy(dims, 0, split, 0, axis);
        split[axis] = blocks;
        split[axis + 1] = dims[axis] / blocks;
        System.arraycopy(dims, axis + 1, split, axis + 2, dims.length - axis - 1);
        return Tensor.ofFloats(split, t.floats());
    }

    /** {@link #slice} of every block of a packed member (Q, K and V alike); one block is the plain case. */
    static Tensor sliceBlocks(Tensor t, PruningGroup.Member m, int[] keep, int width) {
        if (m.blocks() == 1) {
            return slice(t, m.axis(), m.span(), m.offset(), keep, width);
        }
        Tensor blocked = slice(blockView(t, m.axis(), m.blocks()), m.axis() + 1, m.span(), m.offset(), keep, width);
        long[] dims = t.dims().clone();
        dims[m.axis()] = m.blocks() * blocked.dims()[m.axis() + 1];
        return Tensor.ofFloats(dims, blocked.floats());
    }

    /**
     * Keeps the given units along one axis, each unit being {@code span} consecutive entries after {@code offset}
     * entries of others; entries outside the group's range stay.
     */
    static Tensor slice(Tensor t, int axis, int span, int offset, int[] keep, int width) {
        long[] dims = t.dims();
        long length = dims[axis];
        if (offset + (long) width * span > length) {
            throw new IllegalStateException("tensor " + Arrays.toString(dims) + " axis " + axis + " has no " + width + " x "
                    + span + " units at offset " + offset);
        }
        long outer = Shapes.elements(Arrays.copyOfRange(dims, 0, axis));
        int inner = Math.toIntExact(Shapes.elements(Arrays.copyOfRange(dims, axis + 1, dims.length)));
        long newLength = length - (long) (width - keep.length) * span;
        float[] out = new float[Math.toIntExact(outer * newLength * inner)];
        int k = 0;
        for (long o = 0; o < outer; o++) {
            int base = (int) (o * length * inner);
            System.arraycopy(t.floats(), base, out, k, offset * inner);
            k += offset * inner;
            for (int unit : keep) {
                System.arraycopy(t.floats(), base + (offset + unit * span) * inner, out, k, span * inner);
                k += span * inner;
            }
            int after = (int) (length - offset - (long) width * span) * inner;
            System.arraycopy(t.floats(), base + (offset + width * span) * inner, out, k, after);
            k += after;
        }
        long[] newDims = dims.clone();
        newDims[axis] = newLength;
        return Tensor.ofFloats(newDims, out);
    }

    /**
     * L2 norm of each unit over the group's weights (Torch-Pruning's "group L2"): producers, consumers and learned
     * normalisation parameters, not running statistics, which measure activations rather than what a unit learned.
     */
    public static double[] l2(OnnxModel model, PruningGroup group) {
        double[] sums = new double[group.width()];
        Set<String> seen = new HashSet<>();
        for (PruningGroup.Member m : group.members()) {
            boolean weights = m.role() != PruningGroup.Role.SHAPE && m.role() != PruningGroup.Role.STATISTICS;
            if (!weights || !seen.add(m.tensor() + "/" + m.axis() + "/" + m.offset() + "/" + m.blocks())) {
                continue;
            }
            Tensor stored = weights(model, m, group.width());
            // a packed member's blocks (Q, K, V) are one more outer axis: each unit's entries in every block count
            Tensor t = m.blocks() == 1 ? stored : blockView(stored, m.axis(), m.blocks());
            int axis = m.blocks() == 1 ? m.axis() : m.axis() + 1;
            long[] dims = t.dims();
            long outer = Shapes.elements(Arrays.copyOfRange(dims, 0, axis));
            long row = Shapes.elements(Arrays.copyOfRange(dims, axis + 1, dims.length));
            long inner = row * m.span();
            for (long o = 0; o < outer; o++) {
                for (int unit = 0; unit < group.width(); unit++) {
                    int from = (int) ((o * dims[axis] + m.offset()) * row + unit * inner);
                    for (int j = 0; j < inner; j++) {
                        double v = t.floats()[from + j];
                        sums[unit] += v * v;
                    }
                }
            }
        }
        for (int i = 0; i < sums.length; i++) {
            sums[i] = Math.sqrt(sums[i]);
        }
        return sums;
    }

    /** A model with some weights replaced (same shapes), e.g. after fine-tuning. */
    public static OnnxModel withWeights(OnnxModel model, Map<String, float[]> weights) {
        OnnxMl.GraphProto.Builder graph = model.proto().getGraph().toBuilder();
        for (int i = 0; i < graph.getInitializerCount(); i++) {
            String name = graph.getInitializer(i).getName();
            float[] v = weights.get(name);
            if (v != null) {
                Tensor old = model.initializers().get(name);
                if (v.length != old.size()) {
                    throw new IllegalArgumentException("weights for " + name + " have " + v.length + " values, the tensor "
                            + Arrays.toString(old.dims()) + " has " + old.size());
                }
                graph.setInitializer(i, proto(name, Tensor.ofFloats(old.dims(), v)));
            }
        }
        return OnnxModel.of(model.proto().toBuilder().setGraph(graph).build(), model.source());
    }

    /** The int64 value of an initializer or of a Constant node's output. */
    private static Tensor constantValue(OnnxModel model, String name) {
        Tensor t = model.initializers().get(name);
        if (t != null) {
            return t;
        }
        for (OnnxMl.NodeProto n : model.nodes()) {
            if (n.getOpType().equals("Constant") && n.getOutput(0).equals(name)) {
                return ShapeInference.constantAttribute(n);
            }
        }
        throw new ModelException(model.source() + ": no int64 constant named " + name);
    }

    /**
     * The float initializer a member cuts units from, checked to hold all of the group's units: one that claimed
     * more would read past the tensor, or another unit's weights.
     */
    private static Tensor weights(OnnxModel model, PruningGroup.Member m, int width) {
        Tensor t = model.initializers().get(m.tensor());
        if (t == null || !t.isFloat()) {
            throw new ModelException(model.source() + ": " + m.tensor() + " is not a float initializer to cut units from");
        }
        long[] dims = t.dims();
        // a packed member (Q, K and V in one tensor) holds its units once in each of its blocks
        if (m.axis() < 0 || m.axis() >= dims.length || m.offset() < 0
                || m.offset() + (long) width * m.span() > dims[m.axis()] / m.blocks()) {
            throw new ModelException(model.source() + ": tensor " + m.tensor() + " " + Arrays.toString(dims) + " has no " + width + " units of "
                    + m.span() + " along axis " + m.axis() + " after offset " + m.offset());
        }
        return t;
    }

    static OnnxMl.TensorProto longProto(String name, Tensor t) {
        ByteBuffer raw = ByteBuffer.allocate(t.longs().length * 8).order(ByteOrder.LITTLE_ENDIAN);
        raw.asLongBuffer().put(t.longs());
        OnnxMl.TensorProto.Builder b = OnnxMl.TensorProto.newBuilder().setName(name).setDataType(7)
                .setRawData(ByteString.copyFrom(raw.array()));
        for (long d : t.dims()) {
            b.addDims(d);
        }
        return b.build();
    }

    static OnnxMl.TensorProto proto(String name, Tensor t) {
        ByteBuffer raw = ByteBuffer.allocate(t.floats().length * 4).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(t.floats());
        OnnxMl.TensorProto.Builder b = OnnxMl.TensorProto.newBuilder().setName(name).setDataType(1)
                .setRawData(ByteString.copyFrom(raw.array()));
        for (long d : t.dims()) {
            b.addDims(d);
        }
        return b.build();
    }

}
