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
 * <p>What each operator does to units is its {@link OpRule}'s {@code couple}; this class holds the spaces (a union-find
 * with widths, members and the nodes that carry them) and the operations rules trace with. Attention heads: a Reshape
 * that splits a linear layer's features [.., F] into [.., H, F/H] turns its space into one of H heads; the head axis
 * is followed through Transposes, scalings, masks, Softmax and the two activation-by-activation MatMuls (which join Q
 * with K, then with V), back through the Reshape that merges the heads. PyTorch's nn.MultiheadAttention adds a packed
 * projection (Q, K and V side by side: the space's units in 3 blocks, picked apart by Gather) and heads folded into
 * the batch axis ([B*H, L, D], told apart with shapes at a second batch size). Concat along channels makes segments
 * (space, offset). The int64 constants holding head counts in those Reshapes' shapes join the group, and so do shapes
 * computed at run time, which Surgery then makes constant.
 */
public final class DependencyGraph {
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
    private final Set<String> folded = new HashSet<>(); // head-axis values whose axis also holds the batch: [B*H, ..]
    private final Map<String, Integer> blockAxisOf = new HashMap<>(); // packed value -> the axis of its Q/K/V blocks
    private ShapeInference shapesAtTwo; // at batch 2, to tell which dimensions follow the batch; made when needed
    private final Map<String, OnnxMl.NodeProto> producerOf = new HashMap<>();
    private final Map<String, Integer> readers = new HashMap<>(); // value -> how many node inputs read it
    private final Map<String, List<OnnxMl.NodeProto>> consumersOf = new HashMap<>();
    private final Map<String, List<int[]>> segmentsOf = new HashMap<>(); // concatenated value -> {space, offset} on axis 1

    private DependencyGraph(OnnxModel model) {
        this.model = model;
        this.shapes = ShapeInference.infer(model, 1);
        for (OnnxMl.NodeProto n : model.nodes()) {
            n.getOutputList().forEach(o -> producerOf.put(o, n));
            n.getInputList().forEach(i -> readers.merge(i, 1, Integer::sum));
            n.getInputList().forEach(i -> consumersOf.computeIfAbsent(i, k -> new ArrayList<>()).add(n));
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

    private int find(int s) {
        while (parent.get(s) != s) {
            parent.set(s, parent.get(parent.get(s)));
            s = parent.get(s);
        }
        return s;
    }

    // ---- what op rules use to trace units (see OpRule#couple) ----

    ShapeInference shapes() {
        return shapes;
    }

    /** Shapes at batch 2: a dimension that differs from {@link #shapes()}' follows the batch. */
    ShapeInference shapesAtTwo() {
        if (shapesAtTwo == null) {
            shapesAtTwo = ShapeInference.infer(model, 2);
        }
        return shapesAtTwo;
    }

    /** Whether the value is a weight (an initializer), which can be sliced. */
    boolean isWeight(String value) {
        return model.initializers().containsKey(value);
    }

    /** The space whose units the value carries, or null. */
    Integer space(String value) {
        return spaceOf.get(value);
    }

    /** Whether the value carries units of some space, whole or as concatenated segments. */
    boolean traced(String value) {
        return spaceOf.containsKey(value) || segmentsOf.containsKey(value);
    }

    /** The {space, offset} segments of a concatenated value; empty when it is not one. */
    List<int[]> segments(String value) {
        return segmentsOf.getOrDefault(value, List.of());
    }

    /** The axis along which the value carries its units (1 for NCHW, the last for [.., F]). */
    int axis(String value) {
        return axisOf.getOrDefault(value, 1);
    }

    /** Consecutive entries per unit along the value's axis (H*W after a Flatten), else 1. */
    int span(String value) {
        return spanOf.getOrDefault(value, 1);
    }

    void setSpan(String value, int span) {
        spanOf.put(value, span);
    }

    /** Whether the value's traced axis is an attention-head axis. */
    boolean headed(String value) {
        return headed.contains(value);
    }

    void markHeaded(String value) {
        headed.add(value);
    }

    /** Whether the value's head axis also holds the batch (PyTorch's MultiheadAttention: [B*H, L, D]). */
    boolean folded(String value) {
        return folded.contains(value);
    }

    void markFolded(String value) {
        folded.add(value);
    }

    /** The axis holding a packed value's Q/K/V blocks, or -1. */
    int blockAxis(String value) {
        return blockAxisOf.getOrDefault(value, -1);
    }

    void setBlockAxis(String value, int axis) {
        blockAxisOf.put(value, axis);
    }

    int root(int space) {
        return find(space);
    }

    /** The nodes that read the value (a node reading it twice, twice). */
    List<OnnxMl.NodeProto> consumers(String value) {
        return consumersOf.getOrDefault(value, List.of());
    }

    /** Units of the space now. */
    int width(int space) {
        return widths.get(find(space));
    }

    /** Features per unit: the head size for heads, else 1. */
    int unit(int space) {
        return unitSpan.getOrDefault(find(space), 1);
    }

    /** A new space of {@code width} units produced by the node. */
    int newSpace(int width, OnnxMl.NodeProto producer) {
        int id = parent.size();
        parent.add(id);
        widths.add(width);
        names.put(id, Attributes.label(producer));
        kinds.put(id, producer.getOpType().equals("Conv") ? "conv-channels" : "linear-neurons");
        members.put(id, new ArrayList<>());
        return id;
    }

    /** Two spaces whose unit i meet (a residual Add, Q and K of one attention): they are pruned as one. */
    void union(int a, int b) {
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

    /** The space's units stay as they are. */
    void freeze(int space) {
        frozen.add(find(space));
    }

    /** Every space some input of n belongs to is frozen: n does something with units that is not traced. */
    void freezeInputs(OnnxMl.NodeProto n) {
        for (String input : n.getInputList()) {
            Integer s = spaceOf.get(input);
            if (s != null) {
                frozen.add(find(s));
            }
            segmentsOf.getOrDefault(input, List.of()).forEach(seg -> frozen.add(find(seg[0])));
        }
    }

    void member(int space, String tensor, int axis, int span, OnnxMl.NodeProto n, PruningGroup.Role role) {
        member(space, tensor, axis, span, n, role, 0);
    }

    /** A weight of the node holds the space's units along an axis; a weight computed at run time freezes them. */
    void member(int space, String tensor, int axis, int span, OnnxMl.NodeProto n, PruningGroup.Role role, int offset) {
        if (model.initializers().containsKey(tensor)) {
            int root = find(space);
            members.get(root).add(new PruningGroup.Member(tensor, axis, span * unit(root), Attributes.label(n), role,
                    offset));
        } else {
            frozen.add(find(space)); // a weight computed at run time cannot be sliced
        }
    }

    /** A member as it is (a shape entry from {@link #shapeEntry}). */
    void addMember(int space, PruningGroup.Member member) {
        members.get(find(space)).add(member);
    }

    /** Records that the value's units along this axis are the units of a space. */
    void put(String value, int space, int axis) {
        spaceOf.put(value, space);
        axisOf.put(value, axis);
        carry(space, value);
    }

    /** The output carries the input's units on the given axis, and is a head-split value when the input is. */
    void carry(String from, String to, int space, int axis) {
        put(to, space, axis);
        if (headed.contains(from)) {
            headed.add(to);
        }
        if (folded.contains(from)) {
            folded.add(to);
        }
    }

    /**
     * The output carries the input's units with its axes moved (Transpose, Squeeze, Unsqueeze, Gather):
     * {@code where[i]} is the output axis of input axis i, or -1 where the axis is gone.
     */
    boolean carryMoved(String from, String to, int space, int[] where) {
        int axis = axis(from);
        if (axis >= where.length || where[axis] < 0) {
            return false;
        }
        carry(from, to, space, where[axis]);
        int block = blockAxis(from);
        if (block >= 0 && block < where.length && where[block] >= 0) {
            blockAxisOf.put(to, where[block]);
        }
        return true;
    }

    /** The node's output carries the same concatenated segments as its input. */
    void carrySegments(OnnxMl.NodeProto n, List<int[]> segments) {
        segmentsOf.put(n.getOutput(0), segments);
        axisOf.put(n.getOutput(0), 1);
        segments.forEach(seg -> carry(seg[0], n.getOutput(0)));
    }

    /** Every unit of the space so far becomes one of {@code heads} heads of {@code size} consecutive features. */
    void becomeHeads(int space, int heads, int size) {
        int root = find(space);
        widths.set(root, heads);
        unitSpan.put(root, size);
        kinds.put(root, "attention-heads");
        List<PruningGroup.Member> scaled = new ArrayList<>();
        for (PruningGroup.Member m : members.get(root)) {
            scaled.add(new PruningGroup.Member(m.tensor(), m.axis(), m.span() * size, m.node(), m.role(), m.offset(),
                    m.blocks()));
        }
        members.put(root, scaled);
    }

    /**
     * The space's units so far turn out to be {@code blocks} packed copies (Q, K and V of one projection): unit i is
     * entry i of every block, and the width is one block's.
     */
    void becomeBlocks(int space, int blocks) {
        int root = find(space);
        widths.set(root, widths.get(root) / blocks);
        List<PruningGroup.Member> packed = new ArrayList<>();
        for (PruningGroup.Member m : members.get(root)) {
            packed.add(new PruningGroup.Member(m.tensor(), m.axis(), m.span(), m.node(), m.role(), m.offset(),
                    m.blocks() * blocks));
        }
        members.put(root, packed);
    }

    /** A count entry that needs no rewriting: the shape infers it (-1) or copies it from the input (0). */
    static final PruningGroup.Member UNCOUNTED = new PruningGroup.Member("", -1, 0, "", PruningGroup.Role.SHAPE);

    /**
     * Entry {@code index} of a Reshape's shape, which counts {@code width} units of {@code span} each: a stored
     * constant to rewrite (see {@link #shapeEntry}), {@link #UNCOUNTED} where it is -1 or 0, or, where the shape is
     * computed at run time and read by this Reshape alone, that value, for Surgery to replace with a constant shape.
     * Null when none of these holds.
     */
    PruningGroup.Member countEntry(OnnxMl.NodeProto reshape, int index, int span, int width) {
        String value = reshape.getInput(1);
        Tensor t = shapes.constant(value);
        if (t == null || t.isFloat()) {
            return null;
        }
        OnnxMl.NodeProto p = producerOf.get(value);
        boolean stored = model.initializers().containsKey(value) || (p != null && p.getOpType().equals("Constant"));
        if (stored && (t.longs()[index] == -1 || t.longs()[index] == 0)) {
            return UNCOUNTED;
        }
        PruningGroup.Member entry = shapeEntry(value, index, span, reshape, width);
        if (entry != null || stored || readers.getOrDefault(value, 0) != 1) {
            return entry;
        }
        return new PruningGroup.Member(value, index, span, Attributes.label(reshape), PruningGroup.Role.SHAPE);
    }

    /** The node producing the value does work in proportion to the space's width. */
    private void carry(int space, String value) {
        OnnxMl.NodeProto p = producerOf.get(value);
        if (p != null) {
            carriers.computeIfAbsent(find(space), k -> new LinkedHashSet<>()).add(Attributes.label(p));
        }
    }

    private void visit(OnnxMl.NodeProto n) {
        OpRule rule = OpRules.of(n, model.source());
        if (!rule.joinsSegments() && n.getInputList().stream().anyMatch(segmentsOf::containsKey)) {
            List<int[]> segments = segmentsOf.get(n.getInput(0));
            boolean onlyFirst = n.getInputList().stream().skip(1).noneMatch(this::traced);
            if (segments == null || !onlyFirst) {
                freezeInputs(n);
            } else {
                rule.coupleSegments(this, n, segments);
            }
            return;
        }
        String x = n.getInputCount() > 0 ? n.getInput(0) : "";
        if (spaceOf.containsKey(x) && axis(x) != 1 && !rule.followsLastAxis(n)) {
            freezeInputs(n); // units on the last axis of a 3-D tensor: only linear layers and elementwise ops are traced
            return;
        }
        rule.couple(this, n);
    }

    /**
     * Where entry {@code index} of a shape value is stored so that it can be rewritten: an int64 initializer or
     * Constant node output read by nothing else, possibly reached through the Concat (and Unsqueeze/Cast) PyTorch
     * builds shapes with. Null when it cannot be edited without touching something else.
     */
    PruningGroup.Member shapeEntry(String value, int index, int span, OnnxMl.NodeProto user, int width) {
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
        OpRule.EntrySource source = OpRules.of(p, model.source()).entrySource(shapes, p, index);
        return source == null ? null : shapeEntry(source.value(), source.index(), span, p, width);
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
