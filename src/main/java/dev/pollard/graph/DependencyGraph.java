package dev.pollard.graph;

import ai.onnx.proto.OnnxMl;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds the pruning groups of a model by tracing channel spaces: a Conv or Gemm creates one for its output units, and
 * it flows through operators that keep channels (BatchNorm, activations, pools) to the layers that consume it.
 * Residual Adds and depthwise convolutions join spaces: their units must be removed together. A space is left alone
 * when it reaches a graph output (the classes) or an operator that mixes channels in ways not traced (then removing a
 * unit would change the model's shapes inconsistently).
 */
public final class DependencyGraph {
    private static final java.util.Set<String> CHANNEL_PRESERVING = Set.of("Relu", "Clip", "Sigmoid", "Tanh", "Gelu",
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

    private DependencyGraph(OnnxModel model) {
        this.model = model;
        this.shapes = ShapeInference.infer(model, 1);
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
        if (!widths.get(ra).equals(widths.get(rb))) { // cannot be pruned as one: leave both alone
            frozen.add(ra);
            frozen.add(rb);
            return;
        }
        int keep = Math.min(ra, rb);
        int drop = Math.max(ra, rb);
        parent.set(drop, keep);
        members.get(keep).addAll(members.get(drop));
        if (frozen.contains(drop)) {
            frozen.add(keep);
        }
    }

    private void member(int space, String tensor, int axis, int span, OnnxMl.NodeProto n, PruningGroup.Role role) {
        if (model.initializers().containsKey(tensor)) {
            members.get(find(space)).add(new PruningGroup.Member(tensor, axis, span, Attributes.label(n), role));
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
        }
    }

    /** Records that the value's units along this axis are the units of a space. */
    private void put(String value, int space, int axis) {
        spaceOf.put(value, space);
        axisOf.put(value, axis);
    }

    private int axis(String value) {
        return axisOf.getOrDefault(value, 1);
    }

    private void visit(OnnxMl.NodeProto n) {
        String op = n.getOpType();
        String x = n.getInputCount() > 0 ? n.getInput(0) : "";
        Integer in = spaceOf.get(x);
        if (in != null && axis(x) != 1 && !java.util.Set.of("MatMul", "Add", "Sub", "Mul", "Div", "Shape").contains(op)
                && !CHANNEL_PRESERVING.contains(op)) {
            freezeInputs(n); // units on the last axis of a 3-D tensor: only linear layers and elementwise ops are traced
            return;
        }
        switch (op) {
            case "MatMul" -> {
                String w = n.getInput(1);
                long[] ws = shapes.shape(w);
                if (!model.initializers().containsKey(w) || ws.length != 2) {
                    freezeInputs(n); // activations times activations (attention scores): heads are not traced yet
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
                        member(in, n.getInput(i), 0, 1, n, PruningGroup.Role.NORMALIZATION);
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
                        && axis(n.getInput(0)) == axis(n.getInput(1))) {
                    union(a, b); // residual connection: both sides' channel i meet
                    put(n.getOutput(0), find(a), axis(n.getInput(0)));
                } else if (a != null || b != null) {
                    String mine = a != null ? n.getInput(0) : n.getInput(1);
                    String other = a != null ? n.getInput(1) : n.getInput(0);
                    int space = a != null ? a : b;
                    long[] os = shapes.shape(other);
                    boolean lastAxis = axis(mine) == shapes.shape(mine).length - 1;
                    if (shapes.constant(other) != null && Shapes.elements(os) == 1) {
                        put(n.getOutput(0), space, axis(mine)); // a scalar: every unit alike
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
                if (in != null) {
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
            case "Shape" -> {
                // reads only the shape: whatever the width becomes, the subgraph it feeds recomputes it
            }
            default -> {
                if (CHANNEL_PRESERVING.contains(op) && in != null && spanOf.getOrDefault(x, 1) == 1) {
                    put(n.getOutput(0), in, axis(x));
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
            long params = m.stream().mapToLong(x -> model.initializers().get(x.tensor()).size()).sum();
            groups.put(root, new PruningGroup(names.get(root), kinds.get(root), widths.get(root), List.copyOf(m), params));
        }
        return List.copyOf(groups.values());
    }
}
