package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.onnx.proto.OnnxMl;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Values made from nothing but attributes and shapes: Constant, ConstantOfShape (a shape filled with one value) and
 * Range (start, start + delta, ... below limit: position ids as torch.arange exports them).
 */
final class ConstantRule implements OpRule {
    /** Values computed at load time up to this many elements; larger ones only get their shape. */
    private static final int FOLDED_ELEMENTS = 1 << 16;

    @Override
    public Set<String> ops() {
        return Set.of("Constant", "ConstantOfShape", "Range");
    }

    @Override
    public void inferShapes(ShapeInference s, OnnxMl.NodeProto n) {
        switch (n.getOpType()) {
            case "Constant" -> s.constant(n, ShapeInference.constantAttribute(n));
            case "ConstantOfShape" -> {
                long[] shape = s.longsOf(n, 0);
                Tensor value = fillValue(n);
                int count = (int) Math.min(Shapes.elements(shape), FOLDED_ELEMENTS);
                float[] floats = new float[value.isFloat() ? count : 0];
                long[] longs = new long[value.isFloat() ? 0 : count];
                if (value.isFloat()) {
                    Arrays.fill(floats, value.floats()[0]);
                } else {
                    Arrays.fill(longs, value.longs()[0]);
                }
                s.constant(n, value.isFloat() ? Tensor.ofFloats(shape, floats) : Tensor.ofLongs(shape, longs));
            }
            default -> range(s, n);
        }
    }

    private static void range(ShapeInference s, OnnxMl.NodeProto n) {
        Tensor start = s.constant(n.getInput(0));
        Tensor limit = s.constant(n.getInput(1));
        Tensor delta = s.constant(n.getInput(2));
        if (start == null || limit == null || delta == null) {
            throw new ModelException("node '" + Attributes.label(n) + "': Range needs start, limit and delta known when "
                    + "the model is loaded (its length decides shapes)");
        }
        double first = number(start);
        double step = number(delta);
        long count = Math.max(0, (long) Math.ceil((number(limit) - first) / step));
        long[] dims = {count};
        if (count > FOLDED_ELEMENTS) {
            s.out(n, dims);
        } else if (start.isFloat() || limit.isFloat() || delta.isFloat()) {
            float[] v = new float[(int) count];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (first + i * step);
            }
            s.constant(n, Tensor.ofFloats(dims, v));
        } else {
            long[] v = new long[(int) count];
            for (int i = 0; i < v.length; i++) {
                v[i] = (long) first + i * (long) step;
            }
            s.constant(n, Tensor.ofLongs(dims, v));
        }
    }

    private static double number(Tensor t) {
        return t.isFloat() ? t.floats()[0] : t.longs()[0];
    }

    /** ConstantOfShape's value attribute, float 0 when absent. */
    private static Tensor fillValue(OnnxMl.NodeProto n) {
        return Attributes.find(n, "value").map(a -> OnnxModel.tensor(a.getT(), Attributes.label(n)))
                .orElse(Tensor.ofFloats(new long[] {1}, new float[] {0}));
    }

    @Override
    public NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution e) {
        switch (n.getOpType()) {
            case "Constant" -> {
                Tensor t = ShapeInference.constantAttribute(n);
                return t.isFloat() ? e.scope().create(t.floats(), new Shape(t.dims()))
                        : e.scope().create(t.longs(), new Shape(t.dims()));
            }
            case "ConstantOfShape" -> {
                Tensor value = fillValue(n);
                Shape shape = new Shape(in.get(0).toLongArray());
                if (value.isFloat()) {
                    return e.scope().full(shape, value.floats()[0]);
                }
                int type = Attributes.find(n, "value").map(a -> a.getT().getDataType()).orElse(7);
                return e.scope().full(shape, (int) value.longs()[0]).toType(GraphExecutor.type(type), false);
            }
            default -> {
                NDArray start = in.get(0);
                if (start.getDataType().isFloating()) {
                    return e.scope().arange(start.toType(DataType.FLOAT32, false).getFloat(),
                            in.get(1).toType(DataType.FLOAT32, false).getFloat(),
                            in.get(2).toType(DataType.FLOAT32, false).getFloat(), start.getDataType());
                }
                return e.scope().arange((int) start.toType(DataType.INT64, false).getLong(),
                        (int) in.get(1).toType(DataType.INT64, false).getLong(),
                        (int) in.get(2).toType(DataType.INT64, false).getLong(), start.getDataType());
            }
        }
    }

    @Override
    public boolean isView(OnnxMl.NodeProto n) {
        return !n.getOpType().equals("Range");
    }
}
