package dev.pollard.serve;

import ai.onnx.proto.OnnxMl;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A real ONNX model whose run takes as long as its input says: a Loop that adds 1 to a counter {@code iterations} times
 * (a scalar INT64 input; the output {@code count} is FP32 [1]). A trillion iterations outlast any test on any machine,
 * so a run that must be stopped is one the test controls, not one that happens to be slow.
 */
final class CountingOnnx {
    private static final int FLOAT = OnnxMl.TensorProto.DataType.FLOAT.getNumber();
    private static final int INT64 = OnnxMl.TensorProto.DataType.INT64.getNumber();
    private static final int BOOL = OnnxMl.TensorProto.DataType.BOOL.getNumber();

    private CountingOnnx() {
    }

    static Path write(Path file) throws IOException {
        OnnxMl.GraphProto body = OnnxMl.GraphProto.newBuilder().setName("add-one")
                .addInput(value("i", INT64)).addInput(value("keep_going", BOOL)).addInput(value("count_in", FLOAT, 1))
                .addInitializer(OnnxMl.TensorProto.newBuilder().setName("one").setDataType(FLOAT).addDims(1).addFloatData(1))
                .addNode(node("Identity", "keep_going", "keep_going_out"))
                .addNode(node("Add", "count_in", "one", "count_out"))
                .addOutput(value("keep_going_out", BOOL)).addOutput(value("count_out", FLOAT, 1))
                .build();
        OnnxMl.GraphProto graph = OnnxMl.GraphProto.newBuilder().setName("counting")
                .addInput(value("iterations", INT64))
                .addInitializer(OnnxMl.TensorProto.newBuilder().setName("zero").setDataType(FLOAT).addDims(1).addFloatData(0))
                .addNode(node("Loop", "iterations", "", "zero", "count").toBuilder().addAttribute(OnnxMl.AttributeProto
                        .newBuilder().setName("body").setType(OnnxMl.AttributeProto.AttributeType.GRAPH).setG(body)))
                .addOutput(value("count", FLOAT, 1))
                .build();
        byte[] model = OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("pollard-test")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .setGraph(graph).build().toByteArray();
        Files.createDirectories(file.toAbsolutePath().getParent());
        return Files.write(file, model);
    }

    /** A node: its inputs, then its one output last. */
    private static OnnxMl.NodeProto node(String op, String... inputsThenOutput) {
        OnnxMl.NodeProto.Builder n = OnnxMl.NodeProto.newBuilder().setOpType(op);
        for (int i = 0; i < inputsThenOutput.length - 1; i++) {
            n.addInput(inputsThenOutput[i]);
        }
        return n.addOutput(inputsThenOutput[inputsThenOutput.length - 1]).build();
    }

    /** A tensor value of a fixed shape; no dimensions: a scalar. */
    private static OnnxMl.ValueInfoProto value(String name, int type, long... dims) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(type).setShape(shape))).build();
    }
}
