package dev.pollard.graph;

import ai.onnx.proto.OnnxMl;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The shape of every value of a model for a given batch size, and the values of the small int64 tensors that shape
 * subgraphs compute (Shape → Gather → Unsqueeze → Concat → Reshape, as PyTorch exports them).
 */
public final class ShapeInference {
    /** Operators whose output has the shape of their first input. */
    static final Set<String> SAME_SHAPE = Set.of("Identity", "Dropout", "Cast", "Relu", "Clip", "Sigmoid", "Tanh", "Gelu",
            "Erf", "Sqrt", "Softmax", "LayerNormalization", "BatchNormalization", "Neg", "Exp", "Reciprocal", "LeakyRelu",
            "HardSigmoid", "HardSwish", "Abs");
    static final Set<String> BROADCAST = Set.of("Add", "Sub", "Mul", "Div", "Pow", "Equal", "Where", "Less", "Greater");
    /** Every operator Pollard understands. */
    public static final Set<String> SUPPORTED;

    static {
        var all = new java.util.TreeSet<String>();
        all.addAll(SAME_SHAPE);
        all.addAll(BROADCAST);
        all.addAll(List.of("Constant", "ConstantOfShape", "Shape", "Conv", "MaxPool", "AveragePool", "GlobalAveragePool",
                "Gemm", "MatMul", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Concat", "Slice", "Gather",
                "ReduceMean", "Expand"));
        SUPPORTED = java.util.Collections.unmodifiableSet(all);
    }

    private final Map<String, long[]> shapes = new HashMap<>();
    private final Map<String, Tensor> constants = new HashMap<>();

    private ShapeInference() {
    }

    /** Shapes with every symbolic dimension of the graph inputs set to {@code batch} (PyTorch's dynamic axis 0). */
    public static ShapeInference infer(OnnxModel model, long batch) {
        ShapeInference s = new ShapeInference();
        model.initializers().forEach((name, t) -> {
            s.shapes.put(name, t.dims());
            s.constants.put(name, t);
        });
        for (OnnxModel.Input in : model.inputs()) {
            long[] dims = in.dims().clone();
            for (int i = 0; i < dims.length; i++) {
                if (dims[i] < 0) {
                    if (i != 0) {
                        throw new ModelException(model.source() + ": input " + in.name() + " has a symbolic dimension " + i
                                + " besides the batch; export it with a fixed size");
                    }
                    dims[i] = batch;
                }
            }
            s.shapes.put(in.name(), dims);
        }
        for (OnnxMl.NodeProto node : model.nodes()) {
            if (!SUPPORTED.contains(node.getOpType()) || !(node.getDomain().isEmpty() || node.getDomain().equals("ai.onnx"))) {
                throw new ModelException(model.source() + ": unsupported operator '" + node.getOpType() + "' at node '"
                        + Attributes.label(node) + "'");
            }
            try {
                s.visit(node);
            } catch (ModelException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new ModelException(model.source() + ": cannot infer shapes at node '" + Attributes.label(node) + "' ("
                        + node.getOpType() + "): " + e, e);
            }
        }
        return s;
    }

    public long[] shape(String value) {
        long[] s = shapes.get(value);
        if (s == null) {
            throw new ModelException("no shape known for value '" + value + "'");
        }
        return s;
    }

    public boolean has(String value) {
        return shapes.containsKey(value);
    }

    /** The value of a constant (an initializer, or computed from constants), or null. */
    public Tensor constant(String value) {
        return constants.get(value);
    }

    private long[] in(OnnxMl.NodeProto n, int i) {
        return shape(n.getInput(i));
    }

    private boolean hasInput(OnnxMl.NodeProto n, int i) {
        return n.getInputCount() > i && !n.getInput(i).isEmpty();
    }

    private long[] longsOf(OnnxMl.NodeProto n, int i) {
        Tensor t = constants.get(n.getInput(i));
        if (t == null) {
            throw new ModelException("node '" + Attributes.label(n) + "': input " + n.getInput(i)
                    + " must be a constant (it is computed at run time)");
        }
        if (t.isFloat()) {
            long[] v = new long[t.floats().length];
            for (int k = 0; k < v.length; k++) {
                v[k] = (long) t.floats()[k];
            }
            return v;
        }
        return t.longs();
    }

    private void out(OnnxMl.NodeProto n, long[] shape) {
        shapes.put(n.getOutput(0), shape);
    }

    private void constant(OnnxMl.NodeProto n, Tensor t) {
        shapes.put(n.getOutput(0), t.dims());
        constants.put(n.getOutput(0), t);
    }

    private boolean allConstant(OnnxMl.NodeProto n) {
        return n.getInputList().stream().allMatch(i -> i.isEmpty() || constants.containsKey(i));
    }

    private void visit(OnnxMl.NodeProto n) {
        String op = n.getOpType();
        if (SAME_SHAPE.contains(op)) {
            out(n, in(n, 0));
            if (op.equals("Cast") || op.equals("Identity")) {
                Tensor t = constants.get(n.getInput(0));
                if (t != null) {
                    constant(n, castTo(t, (int) Attributes.i(n, "to", t.isFloat() ? 1 : 7)));
                }
            }
            return;
        }
        if (BROADCAST.contains(op)) {
            long[] shape = in(n, 0);
            for (int i = 1; i < n.getInputCount(); i++) {
                shape = Shapes.broadcast(shape, in(n, i), Attributes.label(n));
            }
            out(n, shape);
            if (allConstant(n) && Shapes.elements(shape) <= 64) {
                constant(n, Folding.elementwise(op, n.getInputList().stream().map(constants::get).toList(), shape));
            }
            return;
        }
        switch (op) {
            case "Constant" -> constant(n, constantAttribute(n));
            case "ConstantOfShape" -> {
                long[] shape = longsOf(n, 0);
                Tensor value = Attributes.find(n, "value").map(a -> OnnxModel.tensor(a.getT(), Attributes.label(n)))
                        .orElse(Tensor.ofFloats(new long[] {1}, new float[] {0}));
                int count = (int) Math.min(Shapes.elements(shape), 1 << 16);
                constant(n, value.isFloat() ? Tensor.ofFloats(shape, fill(new float[count], value.floats()[0]))
                        : Tensor.ofLongs(shape, fill(new long[count], value.longs()[0])));
            }
            case "Shape" -> {
                long[] shape = in(n, 0);
                int start = Shapes.axis(Attributes.i(n, "start", 0), shape.length);
                int end = Shapes.axis(Attributes.i(n, "end", shape.length), shape.length);
                long[] v = Arrays.copyOfRange(shape, Math.max(0, start), Math.min(shape.length, Math.max(start, end)));
                constant(n, Tensor.ofLongs(new long[] {v.length}, v));
            }
            case "Conv" -> out(n, conv(n));
            case "MaxPool", "AveragePool" -> {
                long[] x = in(n, 0);
                long[] kernel = Attributes.ints(n, "kernel_shape");
                out(n, window(n, x, x[1], kernel, Attributes.i(n, "ceil_mode", 0) == 1));
                if (n.getOutputCount() > 1 && !n.getOutput(1).isEmpty()) {
                    shapes.put(n.getOutput(1), shape(n.getOutput(0)));
                }
            }
            case "GlobalAveragePool" -> {
                long[] x = in(n, 0).clone();
                for (int i = 2; i < x.length; i++) {
                    x[i] = 1;
                }
                out(n, x);
            }
            case "Gemm" -> {
                long[] a = in(n, 0);
                long[] b = in(n, 1);
                long m = Attributes.i(n, "transA", 0) == 1 ? a[1] : a[0];
                long cols = Attributes.i(n, "transB", 0) == 1 ? b[0] : b[1];
                out(n, new long[] {m, cols});
            }
            case "MatMul" -> out(n, matmul(in(n, 0), in(n, 1), Attributes.label(n)));
            case "Flatten" -> {
                long[] x = in(n, 0);
                int axis = Shapes.axis(Attributes.i(n, "axis", 1), x.length);
                out(n, new long[] {Shapes.elements(Arrays.copyOfRange(x, 0, axis)),
                        Shapes.elements(Arrays.copyOfRange(x, axis, x.length))});
            }
            case "Reshape" -> {
                long[] x = in(n, 0);
                long[] target = longsOf(n, 1).clone();
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
                            + " to " + Arrays.toString(longsOf(n, 1)));
                }
                out(n, target);
                Tensor t = constants.get(n.getInput(0));
                if (t != null) {
                    constant(n, t.isFloat() ? Tensor.ofFloats(target, t.floats()) : Tensor.ofLongs(target, t.longs()));
                }
            }
            case "Transpose" -> {
                long[] x = in(n, 0);
                long[] perm = Attributes.ints(n, "perm");
                long[] y = new long[x.length];
                for (int i = 0; i < x.length; i++) {
                    y[i] = x[perm == null ? x.length - 1 - i : (int) perm[i]];
                }
                out(n, y);
            }
            case "Squeeze", "Unsqueeze" -> squeeze(n, op.equals("Unsqueeze"));
            case "Concat" -> {
                long[] first = in(n, 0);
                int axis = Shapes.axis(Attributes.i(n, "axis", 0), first.length);
                long[] y = first.clone();
                y[axis] = 0;
                for (int i = 0; i < n.getInputCount(); i++) {
                    y[axis] += in(n, i)[axis];
                }
                out(n, y);
                if (allConstant(n) && first.length == 1) {
                    constant(n, Folding.concat(n.getInputList().stream().map(constants::get).toList()));
                }
            }
            case "Slice" -> slice(n);
            case "Gather" -> {
                long[] data = in(n, 0);
                long[] indices = in(n, 1);
                int axis = Shapes.axis(Attributes.i(n, "axis", 0), data.length);
                long[] y = new long[data.length - 1 + indices.length];
                System.arraycopy(data, 0, y, 0, axis);
                System.arraycopy(indices, 0, y, axis, indices.length);
                System.arraycopy(data, axis + 1, y, axis + indices.length, data.length - axis - 1);
                out(n, y);
                Tensor d = constants.get(n.getInput(0));
                Tensor idx = constants.get(n.getInput(1));
                if (d != null && idx != null && data.length == 1) {
                    constant(n, Folding.gather1d(d, idx, y));
                }
            }
            case "ReduceMean" -> {
                long[] x = in(n, 0);
                long[] axes = hasInput(n, 1) ? longsOf(n, 1) : Attributes.ints(n, "axes");
                boolean keep = Attributes.i(n, "keepdims", 1) == 1;
                boolean[] reduced = new boolean[x.length];
                if (axes == null || axes.length == 0) {
                    Arrays.fill(reduced, true);
                } else {
                    for (long a : axes) {
                        reduced[Shapes.axis(a, x.length)] = true;
                    }
                }
                long[] y = new long[x.length];
                int k = 0;
                for (int i = 0; i < x.length; i++) {
                    if (!reduced[i]) {
                        y[k++] = x[i];
                    } else if (keep) {
                        y[k++] = 1;
                    }
                }
                out(n, Arrays.copyOf(y, k));
            }
            case "Expand" -> out(n, Shapes.broadcast(in(n, 0), longsOf(n, 1), Attributes.label(n)));
            default -> throw new ModelException("unsupported operator '" + op + "' at node '" + Attributes.label(n) + "'");
        }
    }

    private long[] conv(OnnxMl.NodeProto n) {
        long[] x = in(n, 0);
        long[] w = in(n, 1);
        long[] kernel = Attributes.ints(n, "kernel_shape");
        if (kernel == null) {
            kernel = Arrays.copyOfRange(w, 2, w.length);
        }
        return window(n, x, w[0], kernel, false);
    }

    /** Output shape of a sliding-window operator (Conv, pools) over the spatial dims of x. */
    private static long[] window(OnnxMl.NodeProto n, long[] x, long channels, long[] kernel, boolean ceil) {
        int spatial = x.length - 2;
        long[] strides = or(Attributes.ints(n, "strides"), spatial, 1);
        long[] dilations = or(Attributes.ints(n, "dilations"), spatial, 1);
        long[] pads = or(Attributes.ints(n, "pads"), 2 * spatial, 0);
        String autoPad = Attributes.s(n, "auto_pad", "NOTSET");
        long[] y = new long[x.length];
        y[0] = x[0];
        y[1] = channels;
        for (int i = 0; i < spatial; i++) {
            long in = x[2 + i];
            long effective = dilations[i] * (kernel[i] - 1) + 1;
            if (autoPad.startsWith("SAME")) {
                y[2 + i] = (in + strides[i] - 1) / strides[i];
            } else if (autoPad.equals("VALID")) {
                y[2 + i] = (in - effective) / strides[i] + 1;
            } else {
                double span = (double) (in + pads[i] + pads[i + spatial] - effective) / strides[i];
                y[2 + i] = (long) (ceil ? Math.ceil(span) : Math.floor(span)) + 1;
            }
        }
        return y;
    }

    private static long[] or(long[] values, int length, long otherwise) {
        if (values != null) {
            return values;
        }
        long[] v = new long[length];
        Arrays.fill(v, otherwise);
        return v;
    }

    private static long[] matmul(long[] a, long[] b, String node) {
        long[] a2 = a.length == 1 ? new long[] {1, a[0]} : a;
        long[] b2 = b.length == 1 ? new long[] {b[0], 1} : b;
        if (a2[a2.length - 1] != b2[b2.length - 2]) {
            throw new ModelException("node " + node + ": cannot multiply " + Arrays.toString(a) + " by " + Arrays.toString(b));
        }
        long[] batch = Shapes.broadcast(Arrays.copyOf(a2, a2.length - 2), Arrays.copyOf(b2, b2.length - 2), node);
        long[] y = Arrays.copyOf(batch, batch.length + 2);
        y[batch.length] = a2[a2.length - 2];
        y[batch.length + 1] = b2[b2.length - 1];
        if (a.length == 1 || b.length == 1) { // numpy drops the dimension it added
            return a.length == 1 ? Arrays.copyOfRange(y, 0, y.length - 2) : Arrays.copyOf(y, y.length - 1);
        }
        return y;
    }

    private void squeeze(OnnxMl.NodeProto n, boolean unsqueeze) {
        long[] x = in(n, 0);
        long[] axes = hasInput(n, 1) ? longsOf(n, 1) : Attributes.ints(n, "axes");
        long[] y;
        if (unsqueeze) {
            int rank = x.length + axes.length;
            boolean[] added = new boolean[rank];
            for (long a : axes) {
                added[Shapes.axis(a, rank)] = true;
            }
            y = new long[rank];
            for (int i = 0, k = 0; i < rank; i++) {
                y[i] = added[i] ? 1 : x[k++];
            }
        } else {
            boolean[] removed = new boolean[x.length];
            for (int i = 0; i < x.length; i++) {
                removed[i] = axes == null && x[i] == 1;
            }
            if (axes != null) {
                for (long a : axes) {
                    removed[Shapes.axis(a, x.length)] = true;
                }
            }
            y = java.util.stream.IntStream.range(0, x.length).filter(i -> !removed[i]).mapToLong(i -> x[i]).toArray();
        }
        out(n, y);
        Tensor t = constants.get(n.getInput(0));
        if (t != null) {
            constant(n, t.isFloat() ? Tensor.ofFloats(y, t.floats()) : Tensor.ofLongs(y, t.longs()));
        }
    }

    private void slice(OnnxMl.NodeProto n) {
        long[] x = in(n, 0);
        long[] starts = longsOf(n, 1);
        long[] ends = longsOf(n, 2);
        long[] axes = hasInput(n, 3) ? longsOf(n, 3) : java.util.stream.LongStream.range(0, starts.length).toArray();
        long[] steps = hasInput(n, 4) ? longsOf(n, 4) : or(null, starts.length, 1);
        long[] y = x.clone();
        long[] first = new long[x.length];
        long[] step = or(null, x.length, 1);
        for (int i = 0; i < axes.length; i++) {
            int axis = Shapes.axis(axes[i], x.length);
            long dim = x[axis];
            long s = starts[i] < 0 ? starts[i] + dim : starts[i];
            long e = ends[i] < 0 ? ends[i] + dim : ends[i];
            if (steps[i] > 0) {
                s = Math.max(0, Math.min(dim, s));
                e = Math.max(0, Math.min(dim, e));
                y[axis] = Math.max(0, (e - s + steps[i] - 1) / steps[i]);
            } else {
                s = Math.max(-1, Math.min(dim - 1, s));
                e = Math.max(-1, Math.min(dim - 1, e));
                y[axis] = Math.max(0, (s - e + (-steps[i]) - 1) / (-steps[i]));
            }
            first[axis] = s;
            step[axis] = steps[i];
        }
        out(n, y);
        Tensor t = constants.get(n.getInput(0));
        if (t != null && x.length == 1 && !t.isFloat()) {
            long[] v = new long[(int) y[0]];
            for (int i = 0; i < v.length; i++) {
                v[i] = t.longs()[(int) (first[0] + i * step[0])];
            }
            constant(n, Tensor.ofLongs(y, v));
        }
    }

    static Tensor constantAttribute(OnnxMl.NodeProto n) {
        OnnxMl.AttributeProto a = n.getAttribute(0);
        return switch (a.getName()) {
            case "value" -> OnnxModel.tensor(a.getT(), Attributes.label(n));
            case "value_float" -> Tensor.ofFloats(new long[0], new float[] {a.getF()});
            case "value_floats" -> {
                float[] v = new float[a.getFloatsCount()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = a.getFloats(i);
                }
                yield Tensor.ofFloats(new long[] {v.length}, v);
            }
            case "value_int" -> Tensor.ofLongs(new long[0], new long[] {a.getI()});
            case "value_ints" -> Tensor.ofLongs(new long[] {a.getIntsCount()},
                    a.getIntsList().stream().mapToLong(Long::longValue).toArray());
            default -> throw new ModelException("node '" + Attributes.label(n) + "': Constant with '" + a.getName()
                    + "' is not supported");
        };
    }

    private static Tensor castTo(Tensor t, int type) {
        if (type == 1 || type == 11) {
            if (t.isFloat()) {
                return t;
            }
            float[] v = new float[t.longs().length];
            for (int i = 0; i < v.length; i++) {
                v[i] = t.longs()[i];
            }
            return Tensor.ofFloats(t.dims(), v);
        }
        if (!t.isFloat()) {
            return t;
        }
        long[] v = new long[t.floats().length];
        for (int i = 0; i < v.length; i++) {
            v[i] = (long) t.floats()[i];
        }
        return Tensor.ofLongs(t.dims(), v);
    }

    private static float[] fill(float[] a, float v) {
        Arrays.fill(a, v);
        return a;
    }

    private static long[] fill(long[] a, long v) {
        Arrays.fill(a, v);
        return a;
    }
}
