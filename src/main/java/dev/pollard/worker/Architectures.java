package dev.pollard.worker;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

/**
 * Networks for 1x28x28 images and 10 classes, written directly as ONNX with He-initialised weights, for Pollard to
 * train itself: "small" (2 conv blocks, ~420k parameters), "vgg" (4 conv layers in 2 blocks, ~1.7M parameters),
 * "resnet" (ResNet-20 of the CIFAR family: 3 stages of 3 BasicBlocks, 16/32/64 channels, projection shortcuts where a
 * stage halves the resolution; 21 conv layers, ~270k parameters) and "vit" (a vision transformer: 4x4 patches, width 64,
 * 4 pre-norm encoder blocks of 4 heads and a GELU FFN of 128, mean of the tokens; ~140k parameters).
 */
public final class Architectures {
    private Architectures() {
    }

    public static OnnxMl.ModelProto build(String name, long seed) {
        return switch (name) {
            case "small" -> cnn(new int[][] {{32}, {64}}, 128, seed);
            case "vgg" -> cnn(new int[][] {{32, 32}, {64, 64}}, 512, seed);
            case "resnet" -> resnet(new int[] {16, 32, 64}, 3, seed);
            case "vit" -> vit(4, 64, 4, 4, 128, seed);
            default -> throw new IllegalArgumentException("unknown architecture '" + name + "' (small, vgg, resnet, vit)");
        };
    }

    /** Blocks of 3x3 conv + BatchNorm + ReLU layers, each block ending in a 2x2 max pool; then fc, ReLU, fc. */
    static OnnxMl.ModelProto cnn(int[][] blocks, int hidden, long seed) {
        Random random = new Random(seed);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("cnn");
        g.addInput(value("image", 1, 28, 28));
        g.addOutput(value("logits", 10));
        String x = "image";
        int channels = 1;
        int size = 28;
        int layer = 0;
        for (int[] block : blocks) {
            for (int width : block) {
                layer++;
                String p = "conv" + layer;
                g.addInitializer(he(p + ".weight", random, channels * 9, width, channels, 3, 3));
                g.addInitializer(constant(p + ".bias", 0f, width));
                g.addInitializer(constant("bn" + layer + ".weight", 1f, width));
                g.addInitializer(constant("bn" + layer + ".bias", 0f, width));
                g.addInitializer(constant("bn" + layer + ".running_mean", 0f, width));
                g.addInitializer(constant("bn" + layer + ".running_var", 1f, width));
                g.addNode(node("Conv", p, new String[] {x, p + ".weight", p + ".bias"}, p + ".out")
                        .addAttribute(ints("pads", 1, 1, 1, 1)).addAttribute(ints("kernel_shape", 3, 3)));
                g.addNode(node("BatchNormalization", "bn" + layer, new String[] {p + ".out", "bn" + layer + ".weight",
                        "bn" + layer + ".bias", "bn" + layer + ".running_mean", "bn" + layer + ".running_var"}, "bn" + layer + ".out"));
                g.addNode(node("Relu", "relu" + layer, new String[] {"bn" + layer + ".out"}, "relu" + layer + ".out"));
                x = "relu" + layer + ".out";
                channels = width;
            }
            g.addNode(node("MaxPool", "pool" + layer, new String[] {x}, "pool" + layer + ".out")
                    .addAttribute(ints("kernel_shape", 2, 2)).addAttribute(ints("strides", 2, 2)));
            x = "pool" + layer + ".out";
            size /= 2;
        }
        int flat = channels * size * size;
        g.addNode(node("Flatten", "flatten", new String[] {x}, "flat"));
        g.addInitializer(he("fc1.weight", random, flat, hidden, flat));
        g.addInitializer(constant("fc1.bias", 0f, hidden));
        g.addNode(node("Gemm", "fc1", new String[] {"flat", "fc1.weight", "fc1.bias"}, "fc1.out").addAttribute(
                OnnxMl.AttributeProto.newBuilder().setName("transB").setType(OnnxMl.AttributeProto.AttributeType.INT).setI(1)));
        g.addNode(node("Relu", "fc1.relu", new String[] {"fc1.out"}, "fc1.relu.out"));
        g.addInitializer(he("fc2.weight", random, hidden, 10, hidden));
        g.addInitializer(constant("fc2.bias", 0f, 10));
        g.addNode(node("Gemm", "fc2", new String[] {"fc1.relu.out", "fc2.weight", "fc2.bias"}, "logits").addAttribute(
                OnnxMl.AttributeProto.newBuilder().setName("transB").setType(OnnxMl.AttributeProto.AttributeType.INT).setI(1)));
        return OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("pollard")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).setGraph(g).build();
    }

    /** ResNet for 28x28 inputs: a 3x3 stem, then stages of BasicBlocks (conv-BN-ReLU-conv-BN + shortcut, ReLU). */
    static OnnxMl.ModelProto resnet(int[] widths, int blocks, long seed) {
        Graph g = new Graph("resnet", seed);
        String x = g.convBn("stem", "image", 1, widths[0], 3, 1, true);
        int channels = widths[0];
        for (int stage = 0; stage < widths.length; stage++) {
            for (int b = 0; b < blocks; b++) {
                String p = "layer" + (stage + 1) + "." + b;
                int stride = stage > 0 && b == 0 ? 2 : 1;
                int width = widths[stage];
                String y = g.convBn(p + ".conv1", x, channels, width, 3, stride, true);
                y = g.convBn(p + ".conv2", y, width, width, 3, 1, false);
                String shortcut = stride == 1 && channels == width ? x : g.convBn(p + ".shortcut", x, channels, width, 1, stride, false);
                x = g.op("Relu", p + ".relu", g.op("Add", p + ".add", y, shortcut));
                channels = width;
            }
        }
        String pooled = g.op("Flatten", "flatten", g.op("GlobalAveragePool", "pool", x));
        g.initializer(he("fc.weight", g.random, channels, 10, channels));
        g.initializer(constant("fc.bias", 0f, 10));
        g.graph.addNode(node("Gemm", "fc", new String[] {pooled, "fc.weight", "fc.bias"}, "logits").addAttribute(transB()));
        return g.model();
    }

    /**
     * Vision transformer: a patch-embedding conv, learned position embeddings, pre-norm encoder blocks (LayerNorm,
     * multi-head self-attention with Q, K, V and output projections, LayerNorm, Linear-GELU-Linear FFN, each with a
     * residual), a final LayerNorm, the mean of the tokens and a linear head. Heads are split with a Reshape to
     * [B, T, H, D] and a Transpose, the way PyTorch exports a hand-written attention.
     */
    static OnnxMl.ModelProto vit(int patch, int width, int depth, int heads, int ffn, long seed) {
        Graph g = new Graph("vit", seed);
        int tokens = (28 / patch) * (28 / patch);
        int head = width / heads;
        g.initializer(he("patch.weight", g.random, patch * patch, width, 1, patch, patch));
        g.initializer(constant("patch.bias", 0f, width));
        g.graph.addNode(node("Conv", "patch", new String[] {"image", "patch.weight", "patch.bias"}, "patch.out")
                .addAttribute(ints("kernel_shape", patch, patch)).addAttribute(ints("strides", patch, patch)));
        g.graph.addInitializer(int64s("tokens.shape", 0, width, tokens));
        String x = g.op("Transpose", "tokens.t", g.op("Reshape", "tokens", "patch.out", "tokens.shape"), perm(0, 2, 1));
        g.initializer(gaussian("position", g.random, 0.02, 1, tokens, width));
        x = g.op("Add", "position.add", x, "position");
        g.initializer(constant("attention.scale", (float) (1 / Math.sqrt(head)), 1));
        for (int b = 0; b < depth; b++) {
            String p = "block" + b;
            String n = g.layerNorm(p + ".norm1", x, width);
            // each Reshape its own shape constant, as PyTorch exports them: pruning one layer's heads rewrites its own
            String q = g.op("Transpose", p + ".q.t", g.splitHeads(p + ".q", g.linear(p + ".q", n, width, width), tokens, heads, head), perm(0, 2, 1, 3));
            String k = g.op("Transpose", p + ".k.t", g.splitHeads(p + ".k", g.linear(p + ".k", n, width, width), tokens, heads, head), perm(0, 2, 3, 1));
            String v = g.op("Transpose", p + ".v.t", g.splitHeads(p + ".v", g.linear(p + ".v", n, width, width), tokens, heads, head), perm(0, 2, 1, 3));
            String scores = g.op("Mul", p + ".scale", g.op("MatMul", p + ".qk", q, k), "attention.scale");
            OnnxMl.NodeProto.Builder softmax = node("Softmax", p + ".softmax", new String[] {scores}, p + ".softmax.out")
                    .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("axis").setType(OnnxMl.AttributeProto.AttributeType.INT).setI(-1));
            g.graph.addNode(softmax);
            String context = g.op("MatMul", p + ".av", p + ".softmax.out", v);
            g.initializer(int64s(p + ".merge.shape", 0, tokens, width));
            String merged = g.op("Reshape", p + ".merge", g.op("Transpose", p + ".merge.t", context, perm(0, 2, 1, 3)), p + ".merge.shape");
            x = g.op("Add", p + ".residual1", x, g.linear(p + ".out", merged, width, width));
            String h = g.linear(p + ".fc1", g.layerNorm(p + ".norm2", x, width), width, ffn);
            x = g.op("Add", p + ".residual2", x, g.linear(p + ".fc2", g.gelu(p + ".gelu", h), ffn, width));
        }
        x = g.layerNorm("norm", x, width);
        OnnxMl.NodeProto.Builder mean = node("ReduceMean", "mean", new String[] {x}, "mean.out")
                .addAttribute(ints("axes", 1)).addAttribute(OnnxMl.AttributeProto.newBuilder().setName("keepdims")
                        .setType(OnnxMl.AttributeProto.AttributeType.INT).setI(0));
        g.graph.addNode(mean);
        g.initializer(gaussian("head.weight", g.random, 0.02, 10, width));
        g.initializer(constant("head.bias", 0f, 10));
        g.graph.addNode(node("Gemm", "head", new String[] {"mean.out", "head.weight", "head.bias"}, "logits").addAttribute(transB()));
        return g.model();
    }

    /** A graph under construction: one input "image" [B, 1, 28, 28], one output "logits" [B, 10]. */
    private static final class Graph {
        final OnnxMl.GraphProto.Builder graph;
        final Random random;

        Graph(String name, long seed) {
            graph = OnnxMl.GraphProto.newBuilder().setName(name);
            random = new Random(seed);
            graph.addInput(value("image", 1, 28, 28));
            graph.addOutput(value("logits", 10));
        }

        void initializer(OnnxMl.TensorProto tensor) {
            graph.addInitializer(tensor);
        }

        /** A node of one output, named after the node. */
        String op(String op, String name, String... inputs) {
            graph.addNode(node(op, name, inputs, name + ".out"));
            return name + ".out";
        }

        String op(String op, String name, String input, OnnxMl.AttributeProto attribute) {
            graph.addNode(node(op, name, new String[] {input}, name + ".out").addAttribute(attribute));
            return name + ".out";
        }

        /** [B, T, H * D] as [B, T, H, D]. */
        String splitHeads(String name, String x, int tokens, int heads, int head) {
            initializer(int64s(name + ".heads", 0, tokens, heads, head));
            return op("Reshape", name + ".split", x, name + ".heads");
        }

        /** Conv without bias, BatchNorm, and ReLU if asked. */
        String convBn(String name, String x, int in, int out, int kernel, int stride, boolean relu) {
            initializer(he(name + ".weight", random, in * kernel * kernel, out, in, kernel, kernel));
            graph.addNode(node("Conv", name, new String[] {x, name + ".weight"}, name + ".out")
                    .addAttribute(ints("kernel_shape", kernel, kernel)).addAttribute(ints("strides", stride, stride))
                    .addAttribute(ints("pads", kernel / 2, kernel / 2, kernel / 2, kernel / 2)));
            String bn = name + ".bn";
            initializer(constant(bn + ".weight", 1f, out));
            initializer(constant(bn + ".bias", 0f, out));
            initializer(constant(bn + ".running_mean", 0f, out));
            initializer(constant(bn + ".running_var", 1f, out));
            String y = op("BatchNormalization", bn, name + ".out", bn + ".weight", bn + ".bias", bn + ".running_mean",
                    bn + ".running_var");
            return relu ? op("Relu", name + ".relu", y) : y;
        }

        /** x W + b with W stored [in, out], as PyTorch exports nn.Linear on a 3-d input (MatMul, then Add). */
        String linear(String name, String x, int in, int out) {
            initializer(gaussian(name + ".weight", random, Math.sqrt(1.0 / in), in, out));
            initializer(constant(name + ".bias", 0f, out));
            return op("Add", name + ".add", op("MatMul", name, x, name + ".weight"), name + ".bias");
        }

        String layerNorm(String name, String x, int width) {
            initializer(constant(name + ".weight", 1f, width));
            initializer(constant(name + ".bias", 0f, width));
            graph.addNode(node("LayerNormalization", name, new String[] {x, name + ".weight", name + ".bias"}, name + ".out")
                    .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("axis").setType(OnnxMl.AttributeProto.AttributeType.INT).setI(-1)));
            return name + ".out";
        }

        /** GELU as PyTorch exports it before opset 20: x * 0.5 * (1 + erf(x / sqrt(2))). */
        String gelu(String name, String x) {
            if (graph.getInitializerList().stream().noneMatch(t -> t.getName().equals("gelu.sqrt2"))) {
                initializer(constant("gelu.sqrt2", (float) Math.sqrt(2), 1));
                initializer(constant("gelu.one", 1f, 1));
                initializer(constant("gelu.half", 0.5f, 1));
            }
            String erf = op("Add", name + ".plus1", op("Erf", name + ".erf", op("Div", name + ".div", x, "gelu.sqrt2")), "gelu.one");
            return op("Mul", name + ".half", op("Mul", name + ".mul", x, erf), "gelu.half");
        }

        OnnxMl.ModelProto model() {
            return OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("pollard")
                    .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).setGraph(graph).build();
        }
    }

    private static OnnxMl.AttributeProto transB() {
        return OnnxMl.AttributeProto.newBuilder().setName("transB").setType(OnnxMl.AttributeProto.AttributeType.INT).setI(1).build();
    }

    private static OnnxMl.AttributeProto perm(long... axes) {
        return ints("perm", axes);
    }

    private static OnnxMl.TensorProto int64s(String name, long... values) {
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name).setDataType(7).addDims(values.length);
        for (long v : values) {
            t.addInt64Data(v);
        }
        return t.build();
    }

    private static OnnxMl.TensorProto gaussian(String name, Random random, double std, long... dims) {
        int n = 1;
        for (long d : dims) {
            n *= (int) d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextGaussian() * std);
        }
        return floats(name, v, dims);
    }

    private static OnnxMl.NodeProto.Builder node(String op, String name, String[] inputs, String output) {
        OnnxMl.NodeProto.Builder n = OnnxMl.NodeProto.newBuilder().setOpType(op).setName(name).addOutput(output);
        for (String i : inputs) {
            n.addInput(i);
        }
        return n;
    }

    private static OnnxMl.AttributeProto ints(String name, long... values) {
        OnnxMl.AttributeProto.Builder a = OnnxMl.AttributeProto.newBuilder().setName(name)
                .setType(OnnxMl.AttributeProto.AttributeType.INTS);
        for (long v : values) {
            a.addInts(v);
        }
        return a.build();
    }

    private static OnnxMl.ValueInfoProto value(String name, long... dims) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder()
                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("batch"));
        for (long d : dims) {
            shape.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(1).setShape(shape))).build();
    }

    /** He (Kaiming) normal initialisation for ReLU networks: std = sqrt(2 / fan_in). */
    private static OnnxMl.TensorProto he(String name, Random random, int fanIn, long... dims) {
        int n = 1;
        for (long d : dims) {
            n *= (int) d;
        }
        float[] v = new float[n];
        double std = Math.sqrt(2.0 / fanIn);
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextGaussian() * std);
        }
        return floats(name, v, dims);
    }

    private static OnnxMl.TensorProto constant(String name, float value, long size) {
        float[] v = new float[(int) size];
        java.util.Arrays.fill(v, value);
        return floats(name, v, size);
    }

    private static OnnxMl.TensorProto floats(String name, float[] v, long... dims) {
        ByteBuffer raw = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(v);
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name).setDataType(1)
                .setRawData(ByteString.copyFrom(raw.array()));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }
}
