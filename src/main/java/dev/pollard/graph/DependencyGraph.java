package dev.pollard.graph;

import ai.onnx.proto.OnnxMl;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds the pruning groups of a model by tracing channel spaces: a Conv or Gemm creates one for its output units, and
 * it flows through operators that keep channels (BatchNorm, activations, pools) to the layers that consume it.
 * Residual Adds and depthwise convolutions join spaces: their units must be removed together. A space is left alone
 * when it reaches a graph output (the classes) or an operator that mixes channels in ways not traced (then removing a
 * unit would change the model's shapes inconsistently).
 *
 * <p>Attention heads: a Reshape that splits a linear layer's features [.., F] into [.., H, F/H] turns its space into
 * one of H heads of F/H features each. The head axis is followed through Transposes, scalings, Softmax and the two
 * activation-by-activation MatMuls (which join Q with K, then with V), back through the Reshape that merges the heads
 * into the output projection's input.
 *
 * <p>Concat along channels: the output's channels are the inputs' channels one after another, so a consumer's
 * weights hold each input's units at an offset (the widths of the inputs before it). Such a value is traced as segments
 * (space, offset) through BatchNorm and channel-preserving ops into the convolutions that consume it. The int64 constants holding H and F in those Reshapes' shapes join the group.
 */
public final class DependencyGraph {
    private static final Set<String> CHANNEL_PRESERVING = Set.of("Relu", "Clip", "Sigmoid", "Tanh", "Gelu",
            "Erf", "Identity", "Dropout", "MaxPool", "AveragePool", "GlobalAveragePool", "LeakyRelu", "HardSigmoid",
            "HardSwish", "Abs", "Neg", "Sqrt", "Exp");

    private final OnnxModel model;
    private final ShapeInference shapes;
    private final Map<String, Integer> spaceOf = new HashMap<>(); // value -> channel space
    private final Map<String, Integer> spanOf = new HashMap<>(); // flattened value -> columns per channel
    private final Map<String, Integer> axisOf = new HashMap<>(); // value -> its channel axis (1 for NCHW, last for [.., F])
    private final List<Integer> parent = new ArrayList<>(); // union-find over spaces
    private final List<Integer> widths = new ArrayList<>();
    private final Map<Integer, List<PruningGroup.Member>> members = new HashMap<>();
    private final Map<Integer, String> names = new HashMap<>();
    private final Map<Integer, String> kinds = new HashMap<>();
    private final Set<Integer> frozen = new HashSet<>();
    private final Map<Integer, Set<String>> carriers = new HashMap<>(); // space -> nodes whose outputs carry its units
    private final Map<Integer, Integer> unitSpan = new HashMap<>(); // space -> features per unit (head size), else 1
    private final Set<String> headed = new HashSet<>(); // values whose traced axis is a head axis
    private final Map<String, OnnxMl.NodeProto> producerOf = new HashMap<>();
    private final Map<String, Integer> readers = new HashMap<>(); // value -> how many node inputs read it
    private final Map<String, List<int[]>> segmentsOf = new HashMap<>(); // concatenated value -> {space, offset} on axis 1

    private DependencyGraph(OnnxModel model) {
        this.model = model;
        this.shapes = ShapeInference.infer(model, 1);
        for (OnnxMl.NodeProto n : model.nodes()) {
            n.getOutputList().forEach(o -> producerOf.put(o, n));
            n.getInputList().forEach(i -> readers.merge(i, 1, Integer::sum));
        }
    }

    /** The prunable groups of a model, in graph order. */
    public static List<PruningGroup> groups(OnnxModel model) {
        DependencyGraph g = new DependencyGraph(model);
        for (OnnxMl.NodeProto n : model.nodes()) {
            g.visit(n);
        }
        for (String output : model.outputs()) {
            Integer s = g.spaceOf.get(output);
            if (s != null) {
                g.frozen.add(g.find(s));
            }
            g.segmentsOf.getOrDefault(output, List.of()).forEach(seg -> g.frozen.add(g.find(seg[0])));
        }
        return g.collect();
    }

    private int newSpace(int width, OnnxMl.NodeProto producer) {
        int id = parent.size();
        parent.add(id);
        widths.add(width);
        names.put(id, Attributes.label(producer));
        kinds.put(id, producer.getOpType().equals("Conv") ? "conv-channels" : "linear-neurons");
        members.put(id, new ArrayList<>());
        return id;
    }

    private int find(int s) {
        while (parent.get(s) != s) {
            parent.set(s, parent.get(parent.get(s)));
            s = parent.get(s);
        }
        return s;
    }

    private void union(int a, int b) {
        int ra = find(a);
        int rb = find(b);
        if (ra == rb) {
            return;
        }
        if (!widths.get(ra).equals(widths.get(rb)) || unit(ra) != unit(rb)) { // cannot be pruned as one: leave both
            frozen.add(ra);
            frozen.add(rb);
            return;
        }
        int keep = Math.min(ra, rb);
        int drop = Math.max(ra, rb);
        parent.set(drop, keep);
        members.get(keep).addAll(members.get(drop));
        carriers.computeIfAbsent(keep, k -> new LinkedHashSet<>()).addAll(carriers.getOrDefault(drop, Set.of()));
        if (frozen.contains(drop)) {
            frozen.add(keep);
        }
    }

    /** BatchNormalization's inputs 1 and 2 (scale, bias) are learned; 3 and 4 (mean, variance) are statistics. */
    private static PruningGroup.Role batchNormRole(int input) {
        return input < 3 ? PruningGroup.Role.NORMALIZATION : PruningGroup.Role.STATISTICS;
    }

    private void member(int space, String tensor, int axis, int span, OnnxMl.NodeProto n, PruningGroup.Role role) {
        member(space, tensor, axis, span, n, role, 0);
    }

    private void member(int space, String tensor, int axis, int span, OnnxMl.NodeProto n, PruningGroup.Role role,
            int offset) {
        if (model.initializers().containsKey(tensor)) {
            int root = find(space);
            members.get(root).add(new PruningGroup.Member(tensor, axis, span * unit(root), Attributes.label(n), role,
                    offset));
        } else {
            frozen.add(find(space)); // a weight computed at run time cannot be sliced
        }
    }

    /** Every space some input of n belongs to is frozen: n does something with channels we do not trace. */
    private void freezeInputs(OnnxMl.NodeProto n) {
        for (String input : n.getInputList()) {
            Integer s = spaceOf.get(input);
            if (s != null) {
                frozen.add(find(s));
            }
            segmentsOf.getOrDefault(input, List.of()).forEach(seg -> frozen.add(find(seg[0])));
        }
    }

    /** Records that the value's units along this axis are the units of a space. */
    private void put(String value, int space, int axis) {
        spaceOf.put(value, space);
        axisOf.put(value, axis);
        carry(space, value);
    }

    /** The node producing the value does work in proportion to the space's width. */
    private void carry(int space, String value) {
        OnnxMl.NodeProto p = producerOf.get(value);
        if (p != null) {
            carriers.computeIfAbsent(find(space), k -> new LinkedHashSet<>()).add(Attributes.label(p));
        }
    }

    private int unit(int space) {
        return unitSpan.getOrDefault(find(space), 1);
    }

    /** The output carries the input's units on the given axis, and is a head-split value when the input is. */
    private void carry(String from, String to, int space, int axis) {
        put(to, space, axis);
        if (headed.contains(from)) {
            headed.add(to);
        }
    }

    private void visitHeadsOrFreeze(boolean ok, OnnxMl.NodeProto n) {
        if (!ok) {
            freezeInputs(n);
        }
    }

    private int axis(String value) {
        return axisOf.getOrDefault(value, 1);
    }

    private void visit(OnnxMl.NodeProto n) {
        String op = n.getOpType();
        String x = n.getInputCount() > 0 ? n.getInput(0) : "";
        Integer in = spaceOf.get(x);
        if (op.equals("Concat") && n.getInputList().stream().anyMatch(i -> spaceOf.containsKey(i) || segmentsOf.containsKey(i))) {
            concat(n);
            return;
        }
        if (n.getInputList().stream().anyMatch(segmentsOf::containsKey)) {
            visitSegments(n);
            return;
        }
        if (in != null && axis(x) != 1 && !Set.of("MatMul", "Add", "Sub", "Mul", "Div", "Shape", "Reshape", "Transpose", "Softmax").contains(op)
                && !CHANNEL_PRESERVING.contains(op)) {
            freezeInputs(n); // units on the last axis of a 3-D tensor: only linear layers and elementwise ops are traced
            return;
        }
        switch (op) {
            case "MatMul" -> {
                String w = n.getInput(1);
                long[] ws = shapes.shape(w);
                if (!model.initializers().containsKey(w) || ws.length != 2) {
                    visitHeadsOrFreeze(headMatMul(n), n); // activations times activations: attention scores or context
                    break;
                }
                long[] xs = shapes.shape(x);
                if (in != null) {
                    if (axis(x) == xs.length - 1 && spanOf.getOrDefault(x, 1) == 1) {
                        member(in, w, 0, 1, n, PruningGroup.Role.CONSUMER);
                    } else {
                        frozen.add(find(in));
                    }
                }
                int out = newSpace((int) ws[1], n);
                member(out, w, 1, 1, n, PruningGroup.Role.PRODUCER);
                put(n.getOutput(0), out, xs.length - 1);
            }
            case "Conv" -> {
                long[] w = shapes.shape(n.getInput(1));
                long group = Attributes.i(n, "group", 1);
                int out;
                if (group > 1 && in != null && group == w[0] && w[1] == 1 && widths.get(find(in)) == w[0]) {
                    out = in; // depthwise: output channel i is input channel i
                    member(out, n.getInput(1), 0, 1, n, PruningGroup.Role.NORMALIZATION);
                } else {
                    if (in != null) {
                        if (group == 1 && spanOf.getOrDefault(x, 1) == 1) {
                            member(in, n.getInput(1), 1, 1, n, PruningGroup.Role.CONSUMER);
                        } else {
                            frozen.add(find(in)); // grouped convolution: channels would cross groups
                        }
                    }
                    out = newSpace((int) w[0], n);
                    member(out, n.getInput(1), 0, 1, n, PruningGroup.Role.PRODUCER);
                    if (group > 1) {
                        frozen.add(find(out));
                    }
                }
                if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
                    member(out, n.getInput(2), 0, 1, n, PruningGroup.Role.PRODUCER);
                }
                put(n.getOutput(0), out, 1);
            }
            case "Gemm" -> {
                boolean transB = Attributes.i(n, "transB", 0) == 1;
                if (Attributes.i(n, "transA", 0) == 1) {
                    freezeInputs(n);
                    break;
                }
                if (in != null) {
                    member(in, n.getInput(1), transB ? 1 : 0, spanOf.getOrDefault(x, 1), n, PruningGroup.Role.CONSUMER);
                }
                long[] w = shapes.shape(n.getInput(1));
                int out = newSpace((int) (transB ? w[0] : w[1]), n);
                member(out, n.getInput(1), transB ? 0 : 1, 1, n, PruningGroup.Role.PRODUCER);
                if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
                    if (shapes.shape(n.getInput(2)).length == 1 && shapes.shape(n.getInput(2))[0] > 1) {
                        member(out, n.getInput(2), 0, 1, n, PruningGroup.Role.PRODUCER);
                    } else {
                        frozen.add(out); // a broadcast bias cannot be sliced per unit
                    }
                }
                put(n.getOutput(0), out, 1);
            }
            case "BatchNormalization" -> {
                if (in != null) {
                    for (int i = 1; i < 5; i++) {
                        member(in, n.getInput(i), 0, 1, n, batchNormRole(i));
                    }
                    put(n.getOutput(0), in, 1);
                }
            }
            case "Add", "Sub", "Mul", "Div" -> {
                Integer a = spaceOf.get(n.getInput(0));
                Integer b = spaceOf.get(n.getInput(1));
                long[] sa = shapes.shape(n.getInput(0));
                long[] sb = shapes.shape(n.getInput(1));
                if (a != null && b != null && java.util.Arrays.equals(sa, sb)
                        && axis(n.getInput(0)) == axis(n.getInput(1))
                        && headed.contains(n.getInput(0)) == headed.contains(n.getInput(1))) {
                    union(a, b); // residual connection: both sides' channel i meet
                    carry(n.getInput(0), n.getOutput(0), find(a), axis(n.getInput(0)));
                } else if (a != null || b != null) {
                    String mine = a != null ? n.getInput(0) : n.getInput(1);
                    String other = a != null ? n.getInput(1) : n.getInput(0);
                    int space = a != null ? a : b;
                    long[] os = shapes.shape(other);
                    boolean lastAxis = axis(mine) == shapes.shape(mine).length - 1;
                    if (shapes.constant(other) != null && Shapes.elements(os) == 1) {
                        carry(mine, n.getOutput(0), space, axis(mine)); // a scalar: every unit alike
                    } else if (op.equals("Add") && lastAxis && model.initializers().containsKey(other) && os.length == 1
                            && os[0] == widths.get(find(space))) {
                        member(space, other, 0, 1, n, PruningGroup.Role.PRODUCER); // the bias of a MatMul linear layer
                        put(n.getOutput(0), space, axis(mine));
                    } else {
                        freezeInputs(n);
                    }
                }
            }
            case "Flatten", "Reshape" -> {
                if (in != null && op.equals("Reshape") && (headed.contains(x) || axis(x) != 1)) {
                    visitHeadsOrFreeze(splitHeads(n) || mergeHeads(n), n);
                } else if (in != null) {
                    long[] before = shapes.shape(x);
                    long[] after = shapes.shape(n.getOutput(0));
                    // NCHW -> [N, C*H*W]: channel c owns H*W consecutive columns
                    if (before.length >= 2 && after.length == 2 && after[0] == before[0] && spanOf.getOrDefault(x, 1) == 1) {
                        put(n.getOutput(0), in, 1);
                        spanOf.put(n.getOutput(0), (int) (after[1] / before[1]));
                    } else {
                        frozen.add(find(in));
                    }
                }
            }
            case "Transpose" -> {
                if (in != null && headed.contains(x)) {
                    long[] perm = Attributes.ints(n, "perm");
                    int rank = shapes.shape(x).length;
                    for (int i = 0; i < rank; i++) {
                        if ((perm == null ? rank - 1 - i : perm[i]) == axis(x)) {
                            carry(x, n.getOutput(0), in, i);
                        }
                    }
                } else {
                    freezeInputs(n);
                }
            }
            case "Softmax" -> {
                int rank = shapes.shape(x).length;
                if (in != null && Shapes.axis(Attributes.i(n, "axis", -1), rank) != axis(x) && spanOf.getOrDefault(x, 1) == 1) {
                    carry(x, n.getOutput(0), in, axis(x)); // normalises along another axis: units stay apart
                } else {
                    freezeInputs(n);
                }
            }
            case "Shape" -> {
                // reads only the shape: whatever the width becomes, the subgraph it feeds recomputes it
            }
            default -> {
                if (CHANNEL_PRESERVING.contains(op) && in != null && spanOf.getOrDefault(x, 1) == 1) {
                    carry(x, n.getOutput(0), in, axis(x));
                } else {
                    freezeInputs(n);
                }
            }
        }
    }

    /**
     * A Reshape [.., F] -> [.., H, F/H] of a linear layer's output: its F neurons become H heads. The entry of the
     * shape that says H joins the group (none when it is -1, inferred).
     */
    private boolean splitHeads(OnnxMl.NodeProto n) {
        String x = n.getInput(0);
        long[] before = shapes.shape(x);
        long[] after = shapes.shape(n.getOutput(0));
        int r = before.length;
        int space = find(spaceOf.get(x));
        if (headed.contains(x) || axis(x) != r - 1 || spanOf.getOrDefault(x, 1) != 1 || after.length != r + 1
                || unit(space) != 1 || widths.get(space) != before[r - 1] || after[r - 1] < 2
                || !java.util.Arrays.equals(java.util.Arrays.copyOf(before, r - 1), java.util.Arrays.copyOf(after, r - 1))) {
            return false;
        }
        int heads = (int) after[r - 1];
        int size = (int) after[r];
        PruningGroup.Member count = null;
        long entry = shapes.constant(n.getInput(1)).longs()[r - 1];
        if (entry == heads) {
            count = shapeEntry(n.getInput(1), r - 1, 1, n, heads);
            if (count == null) {
                return false;
            }
        } else if (entry != -1) {
            return false;
        }
        // every unit so far becomes a head: size consecutive features along each member's axis
        widths.set(space, heads);
        unitSpan.put(space, size);
        kinds.put(space, "attention-heads");
        List<PruningGroup.Member> scaled = new ArrayList<>();
        for (PruningGroup.Member m : members.get(space)) {
            scaled.add(new PruningGroup.Member(m.tensor(), m.axis(), m.span() * size, m.node(), m.role()));
        }
        members.put(space, scaled);
        if (count != null) {
            scaled.add(count);
        }
        put(n.getOutput(0), space, r - 1);
        headed.add(n.getOutput(0));
        return true;
    }

    /** A Reshape [.., H, D] -> [.., H * D] that merges heads back into features; the entry saying H * D joins. */
    private boolean mergeHeads(OnnxMl.NodeProto n) {
        String x = n.getInput(0);
        long[] before = shapes.shape(x);
        long[] after = shapes.shape(n.getOutput(0));
        int r = after.length;
        int space = find(spaceOf.get(x));
        if (!headed.contains(x) || axis(x) != before.length - 2 || before.length != r + 1 || unit(space) != before[r]
                || after[r - 1] != before[r - 1] * before[r]
                || !java.util.Arrays.equals(java.util.Arrays.copyOf(before, r - 1), java.util.Arrays.copyOf(after, r - 1))) {
            return false;
        }
        long entry = shapes.constant(n.getInput(1)).longs()[r - 1];
        if (entry == after[r - 1]) {
            PruningGroup.Member count = shapeEntry(n.getInput(1), r - 1, unit(space), n, widths.get(space));
            if (count == null) {
                return false;
            }
            members.get(space).add(count);
        } else if (entry != -1) {
            return false;
        }
        put(n.getOutput(0), space, r - 1);
        return true;
    }

    /** Q x K^T or scores x V: both sides carry the same heads on the same batch axis, so their head spaces join. */
    private boolean headMatMul(OnnxMl.NodeProto n) {
        String a = n.getInput(0);
        String b = n.getInput(1);
        if (!headed.contains(a) || !headed.contains(b)) {
            return false;
        }
        int rank = shapes.shape(a).length;
        if (shapes.shape(b).length != rank || axis(a) != axis(b) || axis(a) >= rank - 2) {
            return false;
        }
        union(spaceOf.get(a), spaceOf.get(b));
        carry(a, n.getOutput(0), find(spaceOf.get(a)), axis(a));
        return true;
    }

    /**
     * Where entry {@code index} of a shape value is stored so that it can be rewritten: an int64 initializer or
     * Constant node output read by nothing else, possibly reached through the Concat (and Unsqueeze/Cast) PyTorch
     * builds shapes with. Null when it cannot be edited without touching something else.
     */
    private PruningGroup.Member shapeEntry(String value, int index, int span, OnnxMl.NodeProto user, int width) {
        if (readers.getOrDefault(value, 0) != 1) {
            return null; // shared: rewriting it would change another node too
        }
        OnnxMl.NodeProto p = producerOf.get(value);
        Tensor t = shapes.constant(value);
        if (t == null || t.isFloat()) {
            return null;
        }
        if (model.initializers().containsKey(value) || (p != null && p.getOpType().equals("Constant"))) {
            return t.longs()[index] == (long) width * span
                    ? new PruningGroup.Member(value, index, span, Attributes.label(user), PruningGroup.Role.SHAPE) : null;
        }
        if (p == null) {
            return null;
        }
        switch (p.getOpType()) {
            case "Concat" -> {
                int offset = 0;
                for (String part : p.getInputList()) {
                    int size = (int) Shapes.elements(shapes.shape(part));
                    if (index < offset + size) {
                        return shapeEntry(part, index - offset, span, p, width);
                    }
                    offset += size;
                }
                return null;
            }
            case "Unsqueeze", "Cast", "Identity", "Reshape", "Squeeze" -> {
                return shapeEntry(p.getInput(0), index, span, p, width);
            }
            default -> {
                return null;
            }
        }
    }

    /** Channels concatenated along axis 1: each traced input becomes a segment at the offset of what precedes it. */
    private void concat(OnnxMl.NodeProto n) {
        long[] first = shapes.shape(n.getInput(0));
        int axis = Shapes.axis(Attributes.i(n, "axis", 0), first.length);
        List<int[]> segments = new ArrayList<>();
        int offset = 0;
        for (String input : n.getInputList()) {
            Integer s = spaceOf.get(input);
            boolean traced = s != null || segmentsOf.containsKey(input);
            if (axis != 1 || (traced && (axis(input) != 1 || spanOf.getOrDefault(input, 1) != 1 || headed.contains(input)))) {
                freezeInputs(n); // along another axis, channels would not stay whole
                return;
            }
            if (s != null) {
                segments.add(new int[] {s, offset});
            }
            for (int[] seg : segmentsOf.getOrDefault(input, List.of())) {
                segments.add(new int[] {seg[0], offset + seg[1]});
            }
            offset += (int) shapes.shape(input)[1]; // untraced inputs keep their channels: they only shift the rest
        }
        segmentsOf.put(n.getOutput(0), segments);
        axisOf.put(n.getOutput(0), 1);
        segments.forEach(seg -> carry(seg[0], n.getOutput(0)));
    }

    /** A node reading a concatenated value: BatchNorm, channel-preserving ops and plain convolutions are traced. */
    private void visitSegments(OnnxMl.NodeProto n) {
        String op = n.getOpType();
        String x = n.getInput(0);
        List<int[]> segments = segmentsOf.get(x);
        boolean onlyFirst = n.getInputList().stream().skip(1).noneMatch(i -> spaceOf.containsKey(i) || segmentsOf.containsKey(i));
        if (segments == null || !onlyFirst) {
            freezeInputs(n);
            return;
        }
        switch (op) {
            case "BatchNormalization" -> {
                for (int[] seg : segments) {
                    for (int i = 1; i < 5; i++) {
                        member(seg[0], n.getInput(i), 0, 1, n, batchNormRole(i), seg[1]);
                    }
                }
                segmentsOf.put(n.getOutput(0), segments);
                segments.forEach(seg -> carry(seg[0], n.getOutput(0)));
            }
            case "Conv" -> {
                if (Attributes.i(n, "group", 1) != 1) {
                    freezeInputs(n);
                    break;
                }
                for (int[] seg : segments) {
                    member(seg[0], n.getInput(1), 1, 1, n, PruningGroup.Role.CONSUMER, seg[1]);
                }
                long[] w = shapes.shape(n.getInput(1));
                int out = newSpace((int) w[0], n);
                member(out, n.getInput(1), 0, 1, n, PruningGroup.Role.PRODUCER);
                if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
                    member(out, n.getInput(2), 0, 1, n, PruningGroup.Role.PRODUCER);
                }
                put(n.getOutput(0), out, 1);
            }
            case "Shape" -> {
            }
            default -> {
                if (CHANNEL_PRESERVING.contains(op)) {
                    segmentsOf.put(n.getOutput(0), segments);
                    segments.forEach(seg -> carry(seg[0], n.getOutput(0)));
                } else {
                    freezeInputs(n);
                }
            }
        }
    }

    private List<PruningGroup> collect() {
        Map<Integer, PruningGroup> groups = new LinkedHashMap<>();
        for (int s = 0; s < parent.size(); s++) {
            int root = find(s);
            if (root != s || frozen.contains(root) || groups.containsKey(root)) {
                continue;
            }
            List<PruningGroup.Member> m = members.get(root);
            boolean hasConsumer = m.stream().anyMatch(x -> x.role() == PruningGroup.Role.CONSUMER);
            if (!hasConsumer) {
                continue; // nothing downstream takes these units (or only an untraced op did): keep them
            }
            long params = m.stream().filter(x -> x.role() != PruningGroup.Role.SHAPE)
                    .mapToLong(x -> model.initializers().get(x.tensor()).size()).sum();
            Set<String> nodes = new LinkedHashSet<>(carriers.getOrDefault(root, Set.of()));
            m.stream().filter(x -> x.role() != PruningGroup.Role.SHAPE).forEach(x -> nodes.add(x.node()));
            groups.put(root, new PruningGroup(names.get(root), kinds.get(root), widths.get(root), List.copyOf(m), params,
                    unit(root), List.copyOf(nodes)));
        }
        return List.copyOf(groups.values());
    }
}
