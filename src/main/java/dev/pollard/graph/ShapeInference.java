package dev.pollard.graph;

import ai.onnx.proto.OnnxMl;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The shape of every value of a model for a given batch size, and the values of the small int64 tensors that shape
 * subgraphs compute (Shape → Gather → Unsqueeze → Concat → Reshape, as PyTorch exports them). What each operator does
 * to shapes is its {@link OpRule}'s business; this class holds the results and the helpers rules share.
 */
public final class ShapeInference {
    /** Every operator Pollard understands. */
    public static final Set<String> SUPPORTED = OpRules.supported();

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
            OpRule rule = OpRules.of(node, model.source());
            try {
                rule.inferShapes(s, node);
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

    /** The shape of input i of n. */
    long[] in(OnnxMl.NodeProto n, int i) {
        return shape(n.getInput(i));
    }

    static boolean hasInput(OnnxMl.NodeProto n, int i) {
        return n.getInputCount() > i && !n.getInput(i).isEmpty();
    }

    /** Input i of n as integers; it must be a constant (shapes, axes, indices). */
    long[] longsOf(OnnxMl.NodeProto n, int i) {
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

    /** Records the shape of n's first output. */
    void out(OnnxMl.NodeProto n, long[] shape) {
        shapes.put(n.getOutput(0), shape);
    }

    /** Records the shape of one of n's outputs (an optional output left empty is skipped). */
    void out(OnnxMl.NodeProto n, int output, long[] shape) {
        if (n.getOutputCount() > output && !n.getOutput(output).isEmpty()) {
            shapes.put(n.getOutput(output), shape);
        }
    }

    /** Records n's first output as a constant of known value. */
    void constant(OnnxMl.NodeProto n, Tensor t) {
        shapes.put(n.getOutput(0), t.dims());
        constants.put(n.getOutput(0), t);
    }

    /** Whether every input of n is a known constant. */
    boolean allConstant(OnnxMl.NodeProto n) {
        return n.getInputList().stream().allMatch(i -> i.isEmpty() || constants.containsKey(i));
    }

    /** The value a Constant node holds. */
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

    /** An ints attribute, or {@code length} copies of {@code otherwise} when absent. */
    static long[] or(long[] values, int length, long otherwise) {
        if (values != null) {
            return values;
        }
        long[] v = new long[length];
        Arrays.fill(v, otherwise);
        return v;
    }
}
