package dev.pollard.worker;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

/**
 * CNNs for 1x28x28 images and 10 classes, written directly as ONNX with He-initialised weights, for Pollard to train
 * itself: "small" (2 conv blocks, ~420k parameters) and "vgg" (4 conv layers in 2 blocks, ~1.7M parameters).
 */
public final class Architectures {
    private Architectures() {
    }

    public static OnnxMl.ModelProto build(String name, long seed) {
        return switch (name) {
            case "small" -> cnn(new int[][] {{32}, {64}}, 128, seed);
            case "vgg" -> cnn(new int[][] {{32, 32}, {64, 64}}, 512, seed);
            default -> throw new IllegalArgumentException("unknown architecture '" + name + "' (small, vgg)");
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
