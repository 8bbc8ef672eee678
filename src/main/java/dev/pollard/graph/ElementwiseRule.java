package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.onnx.proto.OnnxMl;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Operators applied to each element on its own (activations, Cast, Identity): the output has the input's shape, and
 * unit i of the input is unit i of the output.
 */
final class ElementwiseRule implements OpRule {
    /** One element function on DJL. */
    private interface Kernel {
        NDArray apply(OnnxMl.NodeProto n, NDArray x, List<NDArray> in);
    }

    private static final Map<String, Kernel> KERNELS = new LinkedHashMap<>();
    /** Nothing computed: the output is the input. */
    private static final Set<String> VIEWS = Set.of("Identity", "Dropout");

    static {
        KERNELS.put("Identity", (n, x, in) -> x);
        KERNELS.put("Dropout", (n, x, in) -> x); // inference: dropout passes everything through
        KERNELS.put("Relu", (n, x, in) -> x.maximum(0f));
        KERNELS.put("LeakyRelu", (n, x, in) -> x.maximum(x.mul(Attributes.f(n, "alpha", 0.01f))));
        KERNELS.put("Sigmoid", (n, x, in) -> x.neg().exp().add(1f).pow(-1f));
        KERNELS.put("Tanh", (n, x, in) -> x.tanh());
        KERNELS.put("Erf", (n, x, in) -> x.erf());
        KERNELS.put("Sqrt", (n, x, in) -> x.sqrt());
        KERNELS.put("Exp", (n, x, in) -> x.exp());
        KERNELS.put("Neg", (n, x, in) -> x.neg());
        KERNELS.put("Abs", (n, x, in) -> x.abs());
        KERNELS.put("Reciprocal", (n, x, in) -> x.pow(-1f));
        KERNELS.put("Gelu", (n, x, in) -> x.mul(x.div((float) Math.sqrt(2)).erf().add(1f)).mul(0.5f));
        KERNELS.put("HardSigmoid", (n, x, in) -> x.mul(Attributes.f(n, "alpha", 0.2f)).add(Attributes.f(n, "beta", 0.5f))
                .clip(0f, 1f));
        KERNELS.put("HardSwish", (n, x, in) -> x.mul(x.div(6f).add(0.5f).clip(0f, 1f)));
        KERNELS.put("Clip", (n, x, in) -> {
            float lo = in.size() > 1 && in.get(1) != null ? in.get(1).getFloat() : Attributes.f(n, "min", -Float.MAX_VALUE);
            float hi = in.size() > 2 && in.get(2) != null ? in.get(2).getFloat() : Attributes.f(n, "max", Float.MAX_VALUE);
            return x.maximum(lo).minimum(hi);
        });
        KERNELS.put("Cast", (n, x, in) -> x.toType(GraphExecutor.type((int) Attributes.i(n, "to", 1)), false));
        KERNELS.put("Not", (n, x, in) -> x.toType(DataType.BOOLEAN, false).logicalNot());
    }

    @Override
    public Set<String> ops() {
        return KERNELS.keySet();
    }

    @Override
    public void inferShapes(ShapeInference s, OnnxMl.NodeProto n) {
        s.out(n, s.in(n, 0));
        Tensor t = s.constant(n.getInput(0));
        if (t != null && (n.getOpType().equals("Cast") || n.getOpType().equals("Identity"))) {
            s.constant(n, castTo(t, (int) Attributes.i(n, "to", t.isFloat() ? 1 : 7)));
        }
    }

    @Override
    public NDArray execute(OnnxMl.NodeProto n, List<NDArray> in, Execution x) {
        return KERNELS.get(n.getOpType()).apply(n, in.get(0), in);
    }

    @Override
    public boolean isView(OnnxMl.NodeProto n) {
        return VIEWS.contains(n.getOpType());
    }

    @Override
    public long flops(OnnxMl.NodeProto n, ShapeInference s) {
        return n.getOpType().equals("Cast") ? 0 : OpRule.super.flops(n, s); // a Cast only converts
    }

    @Override
    public boolean followsLastAxis(OnnxMl.NodeProto n) {
        return true;
    }

    @Override
    public void couple(DependencyGraph g, OnnxMl.NodeProto n) {
        String x = n.getInput(0);
        Integer space = g.space(x);
        if (space != null && g.span(x) == 1) {
            g.carry(x, n.getOutput(0), space, g.axis(x));
        } else {
            g.freezeInputs(n);
        }
    }

    @Override
    public void coupleSegments(DependencyGraph g, OnnxMl.NodeProto n, List<int[]> segments) {
        g.carrySegments(n, segments);
    }

    @Override
    public EntrySource entrySource(ShapeInference s, OnnxMl.NodeProto n, int index) {
        return n.getOpType().equals("Cast") || n.getOpType().equals("Identity") ? new EntrySource(n.getInput(0), index) : null;
    }

    private static Tensor castTo(Tensor t, int type) {
        if (type == 9) { // bool: anything not zero is true
            long[] v = new long[(int) t.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (t.isFloat() ? t.floats()[i] != 0 : t.longs()[i] != 0) ? 1 : 0;
            }
            return Tensor.ofLongs(t.dims(), v);
        }
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
}
