package dev.pollard.graph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.pollard.testing.OnnxBuilder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShapeInferenceTest {
    @TempDir
    Path dir;

    /** Every intermediate value's inferred shape equals what ONNX Runtime produces, for two batch sizes. */
    @Test
    void inferredShapesMatchOnnxRuntime() throws Exception {
        OnnxMl.ModelProto proto = OnnxBuilder.smallCnn();
        OnnxModel model = OnnxModel.of(proto, "small-cnn");
        // expose every float intermediate as a graph output, so ONNX Runtime reports its shape
        OnnxMl.GraphProto.Builder g = proto.getGraph().toBuilder();
        Set<String> values = new HashSet<>();
        for (OnnxMl.NodeProto n : proto.getGraph().getNodeList()) {
            if (!Set.of("Shape", "Gather", "Unsqueeze", "Concat").contains(n.getOpType())) {
                values.addAll(n.getOutputList());
            }
        }
        values.remove("logits");
        values.forEach(v -> g.addOutput(OnnxMl.ValueInfoProto.newBuilder().setName(v)));
        byte[] bytes = proto.toBuilder().setGraph(g).build().toByteArray();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(bytes, new OrtSession.SessionOptions())) {
            for (int batch : new int[] {1, 3}) {
                ShapeInference shapes = ShapeInference.infer(model, batch);
                float[] image = new float[batch * 28 * 28];
                try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(image), new long[] {batch, 1, 28, 28});
                        OrtSession.Result result = session.run(Map.of("image", x))) {
                    for (var e : result) {
                        long[] actual = ((TensorInfo) e.getValue().getInfo()).getShape();
                        assertThat(shapes.shape(e.getKey())).as("%s at batch %d", e.getKey(), batch).containsExactly(actual);
                    }
                }
                assertThat(shapes.constant("shape2").longs()).containsExactly(batch, -1);
            }
        }
    }

    /** After heads and neurons are removed, every value's inferred shape still equals ONNX Runtime's. */
    @Test
    void prunedEncoderShapesMatchOnnxRuntime() throws Exception {
        OnnxModel pruned = UniformPruning.prune(OnnxModel.load(dev.pollard.testing.Fixtures.path("bert2")), 0.5, 8);
        long[] tokens = new long[3 * 32];
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OnnxMl.GraphProto.Builder g = pruned.proto().getGraph().toBuilder().clearOutput();
        Set<String> values = new HashSet<>();
        pruned.nodes().forEach(n -> values.addAll(n.getOutputList()));
        values.forEach(v -> g.addOutput(OnnxMl.ValueInfoProto.newBuilder().setName(v)));
        ShapeInference shapes = ShapeInference.infer(pruned, 3);
        try (OrtSession session = env.createSession(pruned.proto().toBuilder().setGraph(g).build().toByteArray(),
                new OrtSession.SessionOptions());
                OnnxTensor x = OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap(tokens), new long[] {3, 32});
                OrtSession.Result result = session.run(Map.of("tokens", x))) {
            int checked = 0;
            for (var e : result) {
                long[] actual = ((TensorInfo) e.getValue().getInfo()).getShape();
                assertThat(shapes.shape(e.getKey())).as(e.getKey()).containsExactly(actual);
                checked++;
            }
            assertThat(checked).isGreaterThan(150);
        }
        assertThat(shapes.shape("/Reshape_output_0")).containsExactly(3, 32, 2, 64);
    }

    @Test
    void costsCountConvolutionWorkByHand() {
        var costs = NodeCost.of(OnnxModel.of(OnnxBuilder.smallCnn(), "small-cnn"), 2);
        NodeCost conv1 = costs.stream().filter(c -> c.node().equals("conv1")).findFirst().orElseThrow();
        // 2 images x 16 channels x 28 x 28 outputs, each 1 x 3 x 3 multiply-adds, plus the bias
        long outputs = 2L * 16 * 28 * 28;
        assertThat(conv1.flops()).isEqualTo(2 * outputs * 9 + outputs);
        assertThat(conv1.parameters()).isEqualTo(16 * 9 + 16);
        assertThat(conv1.bytes()).isEqualTo(4 * (2L * 28 * 28 + 16 * 9 + 16 + outputs));
        assertThat(conv1.weightBytes()).isEqualTo(4 * (16 * 9 + 16));
        assertThat(conv1.activationBytes()).isEqualTo(4 * (2L * 28 * 28 + outputs));
        NodeCost depthwise = costs.stream().filter(c -> c.node().equals("depthwise")).findFirst().orElseThrow();
        assertThat(depthwise.flops()).isEqualTo(2 * (2L * 16 * 14 * 14) * 9);
        assertThat(costs.stream().filter(c -> Set.of("shape", "batch", "batch1d", "newshape", "flatten").contains(c.node())))
                .allSatisfy(c -> assertThat(c.flops() + c.bytes()).isZero());
    }

    @Test
    void unsupportedOperatorsAndBrokenFilesGiveOneLineErrors() throws Exception {
        OnnxMl.ModelProto proto = OnnxBuilder.smallCnn();
        OnnxMl.GraphProto.Builder g = proto.getGraph().toBuilder();
        g.setNode(2, g.getNode(2).toBuilder().setOpType("Celu"));
        Path odd = dir.resolve("odd.onnx");
        Files.write(odd, proto.toBuilder().setGraph(g).build().toByteArray());
        assertThatThrownBy(() -> ShapeInference.infer(OnnxModel.load(odd), 1)).isInstanceOf(ModelException.class)
                .hasMessage(odd + ": unsupported operator 'Celu' at node 'relu1'");

        byte[] bytes = proto.toByteArray();
        Path truncated = Files.write(dir.resolve("truncated.onnx"), Arrays.copyOf(bytes, bytes.length / 2));
        assertThatThrownBy(() -> OnnxModel.load(truncated)).isInstanceOf(ModelException.class)
                .hasMessageStartingWith(truncated + ": not a valid ONNX model (truncated or corrupt")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        assertThatThrownBy(() -> OnnxModel.load(dir.resolve("absent.onnx"))).hasMessage(dir.resolve("absent.onnx") + ": no such file");
    }
}
