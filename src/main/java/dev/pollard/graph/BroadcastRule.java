package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.onnx.proto.OnnxMl;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * Elementwise operators over several inputs with numpy broadcasting: arithmetic, comparisons, logic and Where. Small
 * constant results are folded at load time (shape arithmetic). Arithmetic traces units: a residual Add joins two
 * spaces, a scalar or an operand that is the same along the unit axis (an attention mask) leaves units apart, and a
 * vector added on the last axis is a linear layer's bias.
 */
final class BroadcastRule implements OpRule {
    /** What an operator computes: per element when folding constants, and on DJL. */
    private record Op(ToDoubleFunction<double[]> element, Kernel kernel, Result result) {
    }

    private interface Kernel {
        NDArray apply(OnnxMl.NodeProto n, List<NDArray> in);
    }

    /** The element type of a folded result. */
    private enum Result { LIKE_INPUTS, BOOLEAN, LIKE_BRANCHES }

    private static final Set<String> ARITHMETIC = Set.of("Add", "Sub", "Mul", "Div");
    private static final Map<String, Op> OPS = new LinkedHashMap<>();

    static {
        OPS.put("Add", new Op(a -> a[0] + a[1], (n, in) -> same(in.get(0), in.get(1)).add(same(in.get(1), in.get(0))),
                Result.LIKE_INPUTS));
        OPS.put("Sub", new Op(a -> a[0] - a[1], (n, in) -> same(in.get(0), in.get(1)).sub(same(in.get(1), in.get(0))),
                Result.LIKE_INPUTS));
        OPS.put("Mul", new Op(a -> a[0] * a[1], (n, in) -> same(in.get(0), in.get(1)).mul(same(in.get(1), in.get(0))),
                Result.LIKE_INPUTS));
        OPS.put("Div", new Op(null, BroadcastRule::divide, Result.LIKE_INPUTS)); // element function depends on types
        OPS.put("Pow", new Op(a -> Math.pow(a[0], a[1]),
                (n, in) -> in.get(0).pow(in.get(1).toType(in.get(0).getDataType(), false)), Result.LIKE_INPUTS));
        OPS.put("Mod", new Op(null, BroadcastRule::modulo, Result.LIKE_INPUTS));
        OPS.put("Max", new Op(a -> Arrays.stream(a).max().orElseThrow(), (n, in) -> fold(in, NDArray::maximum),
                Result.LIKE_INPUTS));
        OPS.put("Min", new Op(a -> Arrays.stream(a).min().orElseThrow(), (n, in) -> fold(in, NDArray::minimum),
                Result.LIKE_INPUTS));
        OPS.put("Equal", new Op(a -> a[0] == a[1] ? 1 : 0, (n, in) -> in.get(0).eq(in.get(1)), Result.BOOLEAN));
        OPS.put("Less", new Op(a -> a[0] < a[1] ? 1 : 0, (n, in) -> in.get(0).lt(in.get(1)), Result.BOOLEAN));
        OPS.put("Greater", new Op(a -> a[0] > a[1] ? 1 : 0, (n, in) -> in.get(0).gt(in.get(1)), Result.BOOLEAN));
        OPS.put("LessOrEqual", new Op(a -> a[0] <= a[1] ? 1 : 0, (n, in) -> in.get(0).lte(in.get(1)), Result.BOOLEAN));
        OPS.put("GreaterOrEqual", new Op(a -> a[0] >= a[1] ? 1 : 0, (n, in) -> in.get(0).gte(in.get(1)), Result.BOOLEAN));
        OPS.put("And", new Op(a -> a[0] != 0 && a[1] != 0 ? 1 : 0, (n, in) -> bool(in.get(0)).logicalAnd(bool(in.get(1))),
                Result.BOOLEAN));
        OPS.put("Or", new Op(a -> a[0] != 0 || a[1] != 0 ? 1 : 0, (n, in) -> bool(in.get(0)).logicalOr(bool(in.get(1))),
                Result.BOOLEAN));
        OPS.put("Xor", new Op(a -> (a[0] != 0) != (a[1] != 0) ? 1 : 0,
                (n, in) -> bool(in.get(0)).logicalXor(bool(in.get(1))), Result.BOOLEAN));
        OPS.put("Where", new Op(a -> a[0] != 0 ? a[1] : a[2], BroadcastRule::where, Result.LIKE_BRANCHES));
    }

    @Override
    public Set<String> ops() {
        return OPS.keySet();
    }

    @Override
    public void inferShapes(ShapeInference s, OnnxMl.NodeProto n) {
        long[] shape = s.in(n, 0);
        for (int i = 1; i < n.getInputCount(); i++) {
            shape = Shapes.broadcast(shape, s.in(n, i), Attributes.label(n));
        }
        s.out(n, shape);
        if (s.allConstant(n) && Shapes.elements(shape) <= 64) {
            List<Tensor> inputs = n.getInputList().stream().map(s::constant).toList();
            Op op = OPS.get(n.getOpType());
            boolean integral = switch (op.result()) {
                case BOOLEAN -> true;
                case LIKE_BRANCHES -> !inputs.get(1).isFloat() && !inputs.get(2).isFloat();
                case LIKE_INPUTS -> inputs.stream().noneMatch(Tensor::isFloat);
            };
            s.constant(n, Folding.elementwise(inputs, shape, integral, element(n, integral)));
        }
    }

    private static ToDoubleFunction<double[]> element(OnnxMl.NodeProto n, boolean integral) {
        return switch (n.getOpType()) {
            case "Div" -> integral ? a -> Math.floorDiv((long) a[0], (long) a[1]) : a -> a[0] / a[1];
            // fmod = 1: C's fmod, sign of the dividend; fmod = 0 (integers only): sign of the divisor, as Python's %
            case "Mod" -> Attributes.i(n, "fmod", 0) == 1 || !integral ? a -> a[0] % a[1]
                    : a -> Math.floorMod((long) a[0], (long) a[1]);
            default -> OPS.get(n.getOpType()).element();
        };
    }

    @Override
    public NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution x) {
        return OPS.get(n.getOpType()).kernel().apply(n, in);
    }

    /** b in the type of a, so int64 constants can meet float activations the way ONNX exporters intend. */
    private static NDArray same(NDArray a, NDArray b) {
        return GraphExecutor.same(a, b);
    }

    private static NDArray bool(NDArray a) {
        return a.toType(DataType.BOOLEAN, false);
    }

    private static NDArray fold(List<NDArray> in, java.util.function.BinaryOperator<NDArray> f) {
        NDArray y = in.get(0);
        for (int i = 1; i < in.size(); i++) {
            y = f.apply(same(y, in.get(i)), same(in.get(i), y));
        }
        return y;
    }

    /** DJL's where wants the condition and both branches of one shape: broadcast them first. */
    private static NDArray where(OnnxMl.NodeProto n, List<NDArray> in) {
        long[] shape = in.get(0).getShape().getShape();
        for (int i = 1; i < 3; i++) {
            shape = Shapes.broadcast(shape, in.get(i).getShape().getShape(), Attributes.label(n));
        }
        Shape common = new Shape(shape);
        return NDArrays.where(bool(in.get(0)).broadcast(common), in.get(1).broadcast(common), in.get(2).broadcast(common));
    }

    /** Integer division floors (as the shape arithmetic PyTorch exports expects); float division is plain. */
    private static NDArray divide(OnnxMl.NodeProto n, List<NDArray> in) {
        NDArray a = in.get(0);
        NDArray b = in.get(1);
        return a.getDataType() == DataType.INT64 && b.getDataType() == DataType.INT64
                ? a.toType(DataType.FLOAT64, false).div(b.toType(DataType.FLOAT64, false)).floor().toType(DataType.INT64, false)
                : same(a, b).div(same(b, a));
    }

    private static NDArray modulo(OnnxMl.NodeProto n, List<NDArray> in) {
        NDArray a = same(in.get(0), in.get(1));
        NDArray b = same(in.get(1), in.get(0));
        if (Attributes.i(n, "fmod", 0) == 0) {
            return a.mod(b); // PyTorch's remainder: the sign of the divisor
        }
        DataType type = a.getDataType();
        NDArray fa = a.toType(DataType.FLOAT64, false);
        NDArray fb = b.toType(DataType.FLOAT64, false);
        NDArray quotient = fa.div(fb);
        NDArray truncated = quotient.floor().mul(quotient.gte(0).toType(DataType.FLOAT64, false))
                .add(quotient.ceil().mul(quotient.lt(0).toType(DataType.FLOAT64, false)));
        return fa.sub(truncated.mul(fb)).toType(type, false);
    }

    @Override
    public boolean followsLastAxis(OnnxMl.NodeProto n) {
        return true;
    }

    @Override
    public void couple(DependencyGraph g, OnnxMl.NodeProto n) {
        if (!ARITHMETIC.contains(n.getOpType())) {
            g.freezeInputs(n);
            return;
        }
        ShapeInference shapes = g.shapes();
        String in0 = n.getInput(0);
        String in1 = n.getInput(1);
        Integer a = g.space(in0);
        Integer b = g.space(in1);
        if (a != null && b != null && Arrays.equals(shapes.shape(in0), shapes.shape(in1)) && g.axis(in0) == g.axis(in1)
                && g.headed(in0) == g.headed(in1) && g.folded(in0) == g.folded(in1)) {
            g.union(a, b); // residual connection: both sides' channel i meet
            g.carry(in0, n.getOutput(0), g.root(a), g.axis(in0));
            return;
        }
        if (a == null && b == null) {
            return;
        }
        String mine = a != null ? in0 : in1;
        String other = a != null ? in1 : in0;
        int space = a != null ? a : b;
        long[] os = shapes.shape(other);
        boolean lastAxis = g.axis(mine) == shapes.shape(mine).length - 1;
        if (shapes.constant(other) != null && Shapes.elements(os) == 1) {
            g.carry(mine, n.getOutput(0), space, g.axis(mine)); // a scalar: every unit alike
        } else if (n.getOpType().equals("Add") && lastAxis && g.isWeight(other) && os.length == 1
                && os[0] == g.width(space)) {
            g.member(space, other, 0, 1, n, PruningGroup.Role.PRODUCER); // the bias of a MatMul linear layer
            g.put(n.getOutput(0), space, g.axis(mine));
        } else if (g.space(other) == null && g.span(mine) == 1 && sameAlong(os, shapes.shape(mine), g.axis(mine))) {
            g.carry(mine, n.getOutput(0), space, g.axis(mine)); // e.g. an attention mask: one value for every head
        } else {
            g.freezeInputs(n);
        }
    }

    /** Whether an operand of shape {@code other} broadcasts along {@code axis} of {@code mine} without moving it. */
    private static boolean sameAlong(long[] other, long[] mine, int axis) {
        int aligned = axis - (mine.length - other.length);
        return other.length <= mine.length && (aligned < 0 || other[aligned] == 1);
    }
}
