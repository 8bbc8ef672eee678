package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.onnx.proto.OnnxMl;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs an ONNX graph on DJL's PyTorch engine, node by node, so that gradients flow to its float weights and the model
 * can be fine-tuned. Shape subgraphs run on int64 arrays like everything else, so any batch size works. In training,
 * BatchNormalization behaves as in PyTorch's train mode: it normalises with the batch's statistics and moves its
 * running statistics toward them, which {@link #weights()} then returns with the trained weights.
 */
public final class GraphExecutor implements AutoCloseable {
    private final OnnxModel model;
    private final NDManager manager;
    private final Map<String, NDArray> constants = new LinkedHashMap<>();
    private final Map<String, NDArray> trainable = new LinkedHashMap<>();
    private final Map<String, NDArray> statistics = new LinkedHashMap<>();

    public GraphExecutor(OnnxModel model) {
        ShapeInference.infer(model, 1); // unsupported operators are reported before anything runs
        this.model = model;
        this.manager = NDManager.newBaseManager("PyTorch");
        Set<String> runningStatistics = new HashSet<>();
        for (OnnxMl.NodeProto n : model.nodes()) {
            if (n.getOpType().equals("BatchNormalization")) {
                runningStatistics.add(n.getInput(3));
                runningStatistics.add(n.getInput(4));
            }
        }
        model.initializers().forEach((name, t) -> {
            NDArray a = t.isFloat() ? manager.create(t.floats(), new Shape(t.dims()))
                    : manager.create(t.longs(), new Shape(t.dims()));
            a.setName(name);
            constants.put(name, a);
            // weights train; BatchNorm statistics follow the batches instead; small tensors of one value (scales,
            // epsilons) stay as they are
            if (runningStatistics.contains(name)) {
                statistics.put(name, a);
            } else if (t.isFloat() && t.size() > 1) {
                trainable.put(name, a);
            }
        });
    }

    /** The weights fine-tuning updates, by initializer name. */
    public Map<String, NDArray> trainable() {
        return trainable;
    }

    /** Current values of the trainable weights and the BatchNorm running statistics, to write back into the model. */
    public Map<String, float[]> weights() {
        Map<String, float[]> out = new LinkedHashMap<>();
        trainable.forEach((name, a) -> out.put(name, a.toFloatArray()));
        statistics.forEach((name, a) -> out.put(name, a.toFloatArray()));
        return out;
    }

    /** The graph's outputs for these inputs, as in inference, attached to {@code scope} (close it to free them). */
    public NDList forward(NDManager scope, Map<String, NDArray> inputs) {
        return forward(scope, inputs, false);
    }

    /** The graph's outputs; {@code training} makes BatchNormalization use, and learn from, the batch's statistics. */
    public NDList forward(NDManager scope, Map<String, NDArray> inputs, boolean training) {
        Map<String, NDArray> values = new HashMap<>(constants);
        values.putAll(inputs);
        for (OnnxMl.NodeProto n : model.nodes()) {
            List<NDArray> in = new ArrayList<>();
            for (String name : n.getInputList()) {
                in.add(name.isEmpty() ? null : values.get(name));
            }
            NDArray out = run(n, in, scope, training);
            values.put(n.getOutput(0), out);
        }
        NDList outputs = new NDList();
        for (String name : model.outputs()) {
            outputs.add(values.get(name));
        }
        return outputs;
    }

    private NDArray run(OnnxMl.NodeProto n, List<NDArray> in, NDManager scope, boolean training) {
        NDArray x = in.isEmpty() ? null : in.get(0);
        String op = n.getOpType();
        return switch (op) {
            case "Identity", "Dropout" -> x;
            case "Relu" -> x.maximum(0f);
            case "LeakyRelu" -> x.maximum(x.mul(Attributes.f(n, "alpha", 0.01f)));
            case "Sigmoid" -> x.neg().exp().add(1f).pow(-1f);
            case "Tanh" -> x.tanh();
            case "Erf" -> x.erf();
            case "Sqrt" -> x.sqrt();
            case "Exp" -> x.exp();
            case "Neg" -> x.neg();
            case "Abs" -> x.abs();
            case "Reciprocal" -> x.pow(-1f);
            case "Gelu" -> x.mul(x.div((float) Math.sqrt(2)).erf().add(1f)).mul(0.5f);
            case "HardSigmoid" -> x.mul(Attributes.f(n, "alpha", 0.2f)).add(Attributes.f(n, "beta", 0.5f)).clip(0f, 1f);
            case "HardSwish" -> x.mul(x.div(6f).add(0.5f).clip(0f, 1f));
            case "Clip" -> {
                float lo = in.size() > 1 && in.get(1) != null ? in.get(1).getFloat() : Attributes.f(n, "min", -Float.MAX_VALUE);
                float hi = in.size() > 2 && in.get(2) != null ? in.get(2).getFloat() : Attributes.f(n, "max", Float.MAX_VALUE);
                yield x.maximum(lo).minimum(hi);
            }
            case "Add" -> same(x, in.get(1)).add(same(in.get(1), x));
            case "Sub" -> same(x, in.get(1)).sub(same(in.get(1), x));
            case "Mul" -> same(x, in.get(1)).mul(same(in.get(1), x));
            case "Div" -> x.getDataType() == DataType.INT64 && in.get(1).getDataType() == DataType.INT64
                    ? x.toType(DataType.FLOAT64, false).div(in.get(1).toType(DataType.FLOAT64, false)).floor().toType(DataType.INT64, false)
                    : same(x, in.get(1)).div(same(in.get(1), x));
            case "Pow" -> x.pow(in.get(1).toType(x.getDataType(), false));
            case "Equal" -> x.eq(in.get(1));
            case "Less" -> x.lt(in.get(1));
            case "Greater" -> x.gt(in.get(1));
            case "Where" -> NDArrays.where(x.toType(DataType.BOOLEAN, false), in.get(1), in.get(2));
            case "Cast" -> x.toType(type((int) Attributes.i(n, "to", 1)), false);
            case "Constant" -> constant(n, scope);
            case "ConstantOfShape" -> {
                Tensor value = Attributes.find(n, "value").map(a -> OnnxModel.tensor(a.getT(), Attributes.label(n)))
                        .orElse(Tensor.ofFloats(new long[] {1}, new float[] {0}));
                Shape shape = new Shape(x.toLongArray());
                yield value.isFloat() ? scope.full(shape, value.floats()[0]) : scope.full(shape, (int) value.longs()[0]).toType(DataType.INT64, false);
            }
            case "Shape" -> scope.create(x.getShape().getShape());
            case "Conv" -> conv(n, x, in.get(1), in.size() > 2 ? in.get(2) : null);
            // PyTorch's own batch_norm; in training it normalises with the batch's mean and biased variance and moves
            // the running statistics (initializers, so the constants themselves) toward the batch's, unbiased, in
            // place, weighted by ONNX's momentum (ONNX's 0.9 is PyTorch's 0.1; DJL takes ONNX's)
            case "BatchNormalization" -> x.getNDArrayInternal().batchNorm(x, in.get(3), in.get(4), in.get(1), in.get(2), 1,
                    Attributes.f(n, "momentum", 0.9f), Attributes.f(n, "epsilon", 1e-5f), training).singletonOrThrow();
            case "MaxPool", "AveragePool" -> pool(n, x);
            case "GlobalAveragePool" -> mean(x, java.util.stream.IntStream.range(2, x.getShape().dimension()).toArray(), true);
            case "Gemm" -> {
                NDArray a = Attributes.i(n, "transA", 0) == 1 ? x.transpose() : x;
                NDArray b = Attributes.i(n, "transB", 0) == 1 ? in.get(1).transpose() : in.get(1);
                NDArray y = a.matMul(b).mul(Attributes.f(n, "alpha", 1f));
                yield in.size() > 2 && in.get(2) != null ? y.add(in.get(2).mul(Attributes.f(n, "beta", 1f))) : y;
            }
            case "MatMul" -> x.matMul(in.get(1));
            case "Flatten" -> {
                int axis = Shapes.axis(Attributes.i(n, "axis", 1), x.getShape().dimension());
                long outer = 1;
                for (int i = 0; i < axis; i++) {
                    outer *= x.getShape().get(i);
                }
                yield x.reshape(outer, -1);
            }
            case "Reshape" -> {
                long[] target = in.get(1).toLongArray();
                for (int i = 0; i < target.length; i++) {
                    if (target[i] == 0 && Attributes.i(n, "allowzero", 0) == 0) {
                        target[i] = x.getShape().get(i);
                    }
                }
                yield x.reshape(target);
            }
            case "Transpose" -> {
                long[] perm = Attributes.ints(n, "perm");
                yield perm == null ? x.transpose() : x.transpose(java.util.Arrays.stream(perm).mapToInt(p -> (int) p).toArray());
            }
            case "Squeeze" -> {
                long[] axes = in.size() > 1 && in.get(1) != null ? in.get(1).toLongArray() : Attributes.ints(n, "axes");
                if (axes == null) {
                    yield x.squeeze();
                }
                int rank = x.getShape().dimension();
                yield x.squeeze(java.util.Arrays.stream(axes).mapToInt(a -> Shapes.axis(a, rank)).toArray());
            }
            case "Unsqueeze" -> {
                long[] axes = in.size() > 1 && in.get(1) != null ? in.get(1).toLongArray() : Attributes.ints(n, "axes");
                int rank = x.getShape().dimension() + axes.length;
                int[] sorted = java.util.Arrays.stream(axes).mapToInt(a -> Shapes.axis(a, rank)).sorted().toArray();
                NDArray y = x;
                for (int a : sorted) {
                    y = y.expandDims(a);
                }
                yield y;
            }
            case "Concat" -> {
                int axis = Shapes.axis(Attributes.i(n, "axis", 0), x.getShape().dimension());
                yield NDArrays.concat(new NDList(in.toArray(new NDArray[0])), axis);
            }
            case "Slice" -> slice(x, in);
            case "Gather" -> {
                int axis = Shapes.axis(Attributes.i(n, "axis", 0), x.getShape().dimension());
                NDArray idx = in.get(1);
                long dim = x.getShape().get(axis);
                NDArray positive = idx.add(idx.lt(0).toType(DataType.INT64, false).mul(dim));
                long[] flat = positive.toLongArray();
                NDArray picked = x.get(new NDIndex(":,".repeat(axis) + "{}", scope.create(flat)));
                long[] xs = x.getShape().getShape();
                long[] is = idx.getShape().getShape();
                long[] ys = new long[xs.length - 1 + is.length];
                System.arraycopy(xs, 0, ys, 0, axis);
                System.arraycopy(is, 0, ys, axis, is.length);
                System.arraycopy(xs, axis + 1, ys, axis + is.length, xs.length - axis - 1);
                yield picked.reshape(ys);
            }
            case "ReduceMean" -> {
                long[] axes = in.size() > 1 && in.get(1) != null ? in.get(1).toLongArray() : Attributes.ints(n, "axes");
                int rank = x.getShape().dimension();
                int[] a = axes == null ? java.util.stream.IntStream.range(0, rank).toArray()
                        : java.util.Arrays.stream(axes).mapToInt(v -> Shapes.axis(v, rank)).toArray();
                yield mean(x, a, Attributes.i(n, "keepdims", 1) == 1);
            }
            case "Softmax" -> x.softmax(Shapes.axis(Attributes.i(n, "axis", -1), x.getShape().dimension()));
            case "LayerNormalization" -> {
                int axis = Shapes.axis(Attributes.i(n, "axis", -1), x.getShape().dimension());
                int[] axes = java.util.stream.IntStream.range(axis, x.getShape().dimension()).toArray();
                NDArray centered = x.sub(mean(x, axes, true));
                NDArray var = mean(centered.pow(2f), axes, true);
                NDArray y = centered.div(var.add(Attributes.f(n, "epsilon", 1e-5f)).sqrt()).mul(in.get(1));
                yield in.size() > 2 && in.get(2) != null ? y.add(in.get(2)) : y;
            }
            case "Expand" -> x.broadcast(new Shape(Shapes.broadcast(x.getShape().getShape(), in.get(1).toLongArray(),
                    Attributes.label(n))));
            default -> throw new ModelException("unsupported operator '" + op + "' at node '" + Attributes.label(n) + "'");
        };
    }

    /** b in the type of a, so int64 constants can meet float activations the way ONNX exporters intend. */
    private static NDArray same(NDArray a, NDArray b) {
        return a.getDataType() == DataType.INT64 && b.getDataType() != DataType.INT64 ? a.toType(b.getDataType(), false) : a;
    }

    /** Mean over several axes (the PyTorch engine reduces one axis at a time). */
    private static NDArray mean(NDArray x, int[] axes, boolean keep) {
        int[] sorted = java.util.Arrays.stream(axes).sorted().toArray();
        NDArray y = x;
        for (int i = sorted.length - 1; i >= 0; i--) {
            y = y.mean(new int[] {sorted[i]}, keep);
        }
        return y;
    }

    private static NDArray conv(OnnxMl.NodeProto n, NDArray x, NDArray w, NDArray b) {
        int spatial = x.getShape().dimension() - 2;
        long[] pads = Attributes.ints(n, "pads");
        long[] padding = new long[spatial];
        for (int i = 0; i < spatial; i++) {
            padding[i] = pads == null ? 0 : pads[i];
            if (pads != null && pads[i] != pads[i + spatial]) {
                throw new ModelException("node '" + Attributes.label(n) + "': asymmetric padding is not supported");
            }
        }
        return x.getNDArrayInternal().convolution(x, w, b, ones(Attributes.ints(n, "strides"), spatial), new Shape(padding),
                ones(Attributes.ints(n, "dilations"), spatial), (int) Attributes.i(n, "group", 1)).singletonOrThrow();
    }

    private static NDArray pool(OnnxMl.NodeProto n, NDArray x) {
        int spatial = x.getShape().dimension() - 2;
        Shape kernel = new Shape(Attributes.ints(n, "kernel_shape"));
        long[] pads = Attributes.ints(n, "pads");
        long[] padding = new long[spatial];
        for (int i = 0; i < spatial; i++) {
            padding[i] = pads == null ? 0 : pads[i];
        }
        boolean ceil = Attributes.i(n, "ceil_mode", 0) == 1;
        Shape strides = ones(Attributes.ints(n, "strides"), spatial);
        return n.getOpType().equals("MaxPool")
                ? x.getNDArrayInternal().maxPool(kernel, strides, new Shape(padding), ceil)
                : x.getNDArrayInternal().avgPool(kernel, strides, new Shape(padding), ceil,
                        Attributes.i(n, "count_include_pad", 0) == 1);
    }

    private static Shape ones(long[] values, int length) {
        if (values != null) {
            return new Shape(values);
        }
        long[] v = new long[length];
        java.util.Arrays.fill(v, 1);
        return new Shape(v);
    }

    private static NDArray slice(NDArray x, List<NDArray> in) {
        long[] starts = in.get(1).toLongArray();
        long[] ends = in.get(2).toLongArray();
        int rank = x.getShape().dimension();
        long[] axes = in.size() > 3 && in.get(3) != null ? in.get(3).toLongArray()
                : java.util.stream.LongStream.range(0, starts.length).toArray();
        long[] steps = in.size() > 4 && in.get(4) != null ? in.get(4).toLongArray() : null;
        String[] parts = new String[rank];
        java.util.Arrays.fill(parts, ":");
        for (int i = 0; i < axes.length; i++) {
            int axis = Shapes.axis(axes[i], rank);
            long dim = x.getShape().get(axis);
            long s = Math.max(0, Math.min(dim, starts[i] < 0 ? starts[i] + dim : starts[i]));
            long e = Math.max(0, Math.min(dim, ends[i] < 0 ? ends[i] + dim : ends[i]));
            long step = steps == null ? 1 : steps[i];
            if (step != 1) {
                throw new ModelException("Slice with step " + step + " is not supported on DJL yet");
            }
            parts[axis] = s + ":" + e;
        }
        return x.get(new NDIndex(String.join(",", parts)));
    }

    private static NDArray constant(OnnxMl.NodeProto n, NDManager scope) {
        Tensor t = ShapeInference.constantAttribute(n);
        return t.isFloat() ? scope.create(t.floats(), new Shape(t.dims())) : scope.create(t.longs(), new Shape(t.dims()));
    }

    private static DataType type(int onnxType) {
        return switch (onnxType) {
            case 1 -> DataType.FLOAT32;
            case 11 -> DataType.FLOAT64;
            case 6 -> DataType.INT32;
            case 9 -> DataType.BOOLEAN;
            default -> DataType.INT64;
        };
    }

    @Override
    public void close() {
        manager.close();
    }
}
