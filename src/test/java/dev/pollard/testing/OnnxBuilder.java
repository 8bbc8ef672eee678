package dev.pollard.testing;

import ai.onnx.proto.OnnxMl;
import java.util.Random;

/** Builds small real ONNX graphs in tests, with seeded random weights. */
public final class OnnxBuilder {
    private final OnnxMl.GraphProto.Builder graph = OnnxMl.GraphProto.newBuilder().setName("test");
    private final Random random = new Random(42);

    /** A float input; a dimension of -1 is the symbolic "batch", -2 the symbolic "sequence". */
    public OnnxBuilder input(String name, long... dims) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(d < 0 ? OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam(d == -2 ? "sequence" : "batch")
                    : OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        graph.addInput(OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(1).setShape(shape))));
        return this;
    }

    public OnnxBuilder output(String name) {
        graph.addOutput(OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(1))));
        return this;
    }

    /** A float initializer with random values (or positive ones, e.g. for BatchNorm variances). */
    public OnnxBuilder weights(String name, boolean positive, long... dims) {
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name).setDataType(1);
        long n = 1;
        for (long d : dims) {
            t.addDims(d);
            n *= d;
        }
        for (long i = 0; i < n; i++) {
            t.addFloatData(positive ? 0.5f + random.nextFloat() : (float) random.nextGaussian() * 0.2f);
        }
        graph.addInitializer(t);
        return this;
    }

    public OnnxBuilder longs(String name, long... values) {
        graph.addInitializer(OnnxMl.TensorProto.newBuilder().setName(name).setDataType(7).addDims(values.length)
                .addAllInt64Data(java.util.Arrays.stream(values).boxed().toList()));
        return this;
    }

    /** A 0-d int64 initializer, like the index PyTorch's x.size(0) gathers with. */
    public OnnxBuilder scalar(String name, long value) {
        graph.addInitializer(OnnxMl.TensorProto.newBuilder().setName(name).setDataType(7).addInt64Data(value));
        return this;
    }

    /** A node; attributes as name, value pairs: Long, long[] or Float. */
    public OnnxBuilder node(String op, String name, String[] inputs, String[] outputs, Object... attributes) {
        OnnxMl.NodeProto.Builder n = OnnxMl.NodeProto.newBuilder().setOpType(op).setName(name);
        for (String i : inputs) {
            n.addInput(i);
        }
        for (String o : outputs) {
            n.addOutput(o);
        }
        for (int i = 0; i < attributes.length; i += 2) {
            OnnxMl.AttributeProto.Builder a = OnnxMl.AttributeProto.newBuilder().setName((String) attributes[i]);
            Object v = attributes[i + 1];
            if (v instanceof long[] ints) {
                a.setType(OnnxMl.AttributeProto.AttributeType.INTS);
                for (long x : ints) {
                    a.addInts(x);
                }
            } else if (v instanceof Float f) {
                a.setType(OnnxMl.AttributeProto.AttributeType.FLOAT).setF(f);
            } else {
                a.setType(OnnxMl.AttributeProto.AttributeType.INT).setI(((Number) v).longValue());
            }
            n.addAttribute(a);
        }
        graph.addNode(n);
        return this;
    }

    public static String[] in(String... names) {
        return names;
    }

    public OnnxMl.ModelProto build() {
        return OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("pollard-test")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).setGraph(graph).build();
    }

    /**
     * A small CNN as torchvision-style exports look: conv-bn-relu-pool twice, a residual add, global pooling, and a
     * flatten written as PyTorch emits x.view(x.size(0), -1) (Shape, Gather, Unsqueeze, Concat, Reshape), then Gemm.
     */
    public static OnnxMl.ModelProto smallCnn() {
        OnnxBuilder b = new OnnxBuilder().input("image", -1, 1, 28, 28).output("logits");
        b.weights("c1.w", false, 16, 1, 3, 3).weights("c1.b", false, 16);
        b.weights("bn1.s", true, 16).weights("bn1.b", false, 16).weights("bn1.m", false, 16).weights("bn1.v", true, 16);
        b.weights("c2.w", false, 16, 16, 3, 3).weights("c2.b", false, 16);
        b.weights("dw.w", false, 16, 1, 3, 3);
        b.weights("fc.w", false, 10, 16).weights("fc.b", false, 10);
        b.scalar("zero", 0).longs("axes0", 0).longs("minus1", -1);
        b.node("Conv", "conv1", in("image", "c1.w", "c1.b"), in("c1"), "pads", new long[] {1, 1, 1, 1}, "kernel_shape", new long[] {3, 3});
        b.node("BatchNormalization", "bn1", in("c1", "bn1.s", "bn1.b", "bn1.m", "bn1.v"), in("n1"), "epsilon", 1e-5f);
        b.node("Relu", "relu1", in("n1"), in("r1"));
        b.node("MaxPool", "pool1", in("r1"), in("p1"), "kernel_shape", new long[] {2, 2}, "strides", new long[] {2, 2});
        b.node("Conv", "conv2", in("p1", "c2.w", "c2.b"), in("c2"), "pads", new long[] {1, 1, 1, 1});
        b.node("Conv", "depthwise", in("c2", "dw.w"), in("d2"), "pads", new long[] {1, 1, 1, 1}, "group", 16L);
        b.node("Add", "residual", in("d2", "p1"), in("a2"));
        b.node("Relu", "relu2", in("a2"), in("r2"));
        b.node("GlobalAveragePool", "gap", in("r2"), in("g"));
        b.node("Shape", "shape", in("g"), in("s"));
        b.node("Gather", "batch", in("s", "zero"), in("s0"), "axis", 0L);
        b.node("Unsqueeze", "batch1d", in("s0", "axes0"), in("s0u"));
        b.node("Concat", "newshape", in("s0u", "minus1"), in("shape2"), "axis", 0L);
        b.node("Reshape", "flatten", in("g", "shape2"), in("flat"));
        b.node("Gemm", "fc", in("flat", "fc.w", "fc.b"), in("logits"), "transB", 1L);
        return b.build();
    }

    /**
     * One self-attention layer as PyTorch exports hand-written attention: x [batch, 6, 16] through Linear Q/K/V
     * (MatMul + Add), heads split by Reshape with a shape Concat-ed from Shape/Gather/Unsqueeze and constants
     * (4 heads of 4), Transposes, scaled scores, Softmax, context, heads merged by a Reshape to [0, 6, 16], output
     * projection.
     */
    public static OnnxMl.ModelProto attention() {
        OnnxBuilder b = new OnnxBuilder().input("x", -1, 6, 16).output("y");
        b.scalar("zero", 0).longs("axes0", 0).longs("seq", 6).longs("merge", 0, 6, 16).weights("scale", true);
        String[][] perms = {{"q", "0,2,1,3"}, {"k", "0,2,3,1"}, {"v", "0,2,1,3"}};
        for (String[] p : perms) {
            String s = p[0];
            b.weights(s + ".w", false, 16, 16).weights(s + ".b", false, 16).longs(s + ".heads", 4).longs(s + ".dim", 4);
            b.node("MatMul", s + "/MatMul", in("x", s + ".w"), in(s + "m"));
            b.node("Add", s + "/Add", in(s + ".b", s + "m"), in(s + "a"));
            b.node("Shape", s + "/Shape", in(s + "a"), in(s + "shape"));
            b.node("Gather", s + "/Gather", in(s + "shape", "zero"), in(s + "batch"), "axis", 0L);
            b.node("Unsqueeze", s + "/Unsqueeze", in(s + "batch", "axes0"), in(s + "batch1d"));
            b.node("Concat", s + "/Concat", in(s + "batch1d", "seq", s + ".heads", s + ".dim"), in(s + "split"), "axis", 0L);
            b.node("Reshape", s + "/Reshape", in(s + "a", s + "split"), in(s + "4"));
            long[] perm = java.util.Arrays.stream(p[1].split(",")).mapToLong(Long::parseLong).toArray();
            b.node("Transpose", s + "/Transpose", in(s + "4"), in(s + "t"), "perm", perm);
        }
        b.weights("o.w", false, 16, 16).weights("o.b", false, 16);
        b.node("MatMul", "scores", in("qt", "kt"), in("scores"));
        b.node("Div", "scaled", in("scores", "scale"), in("scaled"));
        b.node("Softmax", "softmax", in("scaled"), in("probs"), "axis", -1L);
        b.node("MatMul", "context", in("probs", "vt"), in("context"));
        b.node("Transpose", "context/Transpose", in("context"), in("ct"), "perm", new long[] {0, 2, 1, 3});
        b.node("Reshape", "merge", in("ct", "merge"), in("merged"));
        b.node("MatMul", "o/MatMul", in("merged", "o.w"), in("om"));
        b.node("Add", "o/Add", in("om", "o.b"), in("y"));
        return b.build();
    }

    /**
     * Two convolution branches concatenated along channels with the input image between them (8 + 3 + 8 = 19), then
     * BatchNorm, Relu and a convolution reading all 19 channels.
     */
    public static OnnxMl.ModelProto concatCnn() {
        OnnxBuilder b = new OnnxBuilder().input("image", -1, 3, 8, 8).output("y");
        b.weights("a.w", false, 8, 3, 3, 3).weights("a.b", false, 8).weights("b.w", false, 8, 3, 1, 1).weights("b.b", false, 8);
        b.weights("bn.s", true, 19).weights("bn.b", false, 19).weights("bn.m", false, 19).weights("bn.v", true, 19);
        b.weights("c.w", false, 4, 19, 3, 3).weights("c.b", false, 4);
        b.node("Conv", "a", in("image", "a.w", "a.b"), in("a"), "pads", new long[] {1, 1, 1, 1});
        b.node("Relu", "a/relu", in("a"), in("ar"));
        b.node("Conv", "b", in("image", "b.w", "b.b"), in("b"));
        b.node("Concat", "cat", in("ar", "image", "b"), in("cat"), "axis", 1L);
        b.node("BatchNormalization", "bn", in("cat", "bn.s", "bn.b", "bn.m", "bn.v"), in("n"), "epsilon", 1e-5f);
        b.node("Relu", "relu", in("n"), in("r"));
        b.node("Conv", "c", in("r", "c.w", "c.b"), in("y"), "pads", new long[] {1, 1, 1, 1});
        return b.build();
    }
}
