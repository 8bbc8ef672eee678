package dev.pollard.testing;

import ai.onnx.proto.OnnxMl;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A tiny real ONNX classifier (Gemm then Softmax, 4 features, 3 classes) built with the ONNX protobuf classes. */
public final class TinyOnnx {
    public static final float[] WEIGHTS = {0.5f, -1f, 0.25f, 2f, -0.5f, 1f, 1.5f, -2f, 1f, 0f, -1f, 0.5f};
    public static final float[] BIAS = {0.1f, -0.2f, 0.3f};

    private TinyOnnx() {
    }

    public static byte[] classifier() {
        OnnxMl.GraphProto graph = OnnxMl.GraphProto.newBuilder().setName("tiny")
                .addInitializer(tensor("W", new long[] {3, 4}, WEIGHTS))
                .addInitializer(tensor("B", new long[] {3}, BIAS))
                .addInput(value("input", "N", 4))
                .addOutput(value("probabilities", "N", 3))
                .addNode(OnnxMl.NodeProto.newBuilder().setOpType("Gemm").setName("fc").addInput("input").addInput("W")
                        .addInput("B").addOutput("logits").addAttribute(OnnxMl.AttributeProto.newBuilder().setName("transB")
                                .setType(OnnxMl.AttributeProto.AttributeType.INT).setI(1)))
                .addNode(OnnxMl.NodeProto.newBuilder().setOpType("Softmax").setName("softmax").addInput("logits")
                        .addOutput("probabilities").addAttribute(OnnxMl.AttributeProto.newBuilder().setName("axis")
                                .setType(OnnxMl.AttributeProto.AttributeType.INT).setI(1)))
                .build();
        return OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("pollard-test")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .setGraph(graph).build().toByteArray();
    }

    public static Path write(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        return Files.write(file, classifier());
    }

    private static OnnxMl.TensorProto tensor(String name, long[] dims, float[] values) {
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name)
                .setDataType(OnnxMl.TensorProto.DataType.FLOAT.getNumber());
        for (long d : dims) {
            t.addDims(d);
        }
        for (float v : values) {
            t.addFloatData(v);
        }
        return t.build();
    }

    private static OnnxMl.ValueInfoProto value(String name, String batch, int width) {
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder().setTensorType(
                OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT.getNumber())
                        .setShape(OnnxMl.TensorShapeProto.newBuilder()
                                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam(batch))
                                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(width))))).build();
    }

    /** What the classifier computes, in plain Java, to check a server's answers against. */
    public static double[] expected(float[] x) {
        double[] logits = new double[3];
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < 3; c++) {
            logits[c] = BIAS[c];
            for (int i = 0; i < 4; i++) {
                logits[c] += WEIGHTS[c * 4 + i] * x[i];
            }
            max = Math.max(max, logits[c]);
        }
        double sum = 0;
        for (int c = 0; c < 3; c++) {
            logits[c] = Math.exp(logits[c] - max);
            sum += logits[c];
        }
        for (int c = 0; c < 3; c++) {
            logits[c] /= sum;
        }
        return logits;
    }
}
