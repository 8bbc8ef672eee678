package dev.pollard.graph;

import static dev.pollard.testing.OnnxBuilder.in;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.pollard.testing.OnnxBuilder;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** A token model exported with a symbolic sequence axis is analysed at the length it is served at, and stays dynamic. */
class ServingShapeTest {
    /** tokens [batch, sequence, 16] → FFN 16 → 32 → 16 → mean over the sequence. */
    static OnnxModel sequenceModel() {
        OnnxBuilder b = new OnnxBuilder().input("tokens", -1, -2, 16).output("y");
        b.weights("up", false, 16, 32).weights("down", false, 32, 16);
        b.node("MatMul", "ffn/up", in("tokens", "up"), in("h"));
        b.node("Relu", "ffn/relu", in("h"), in("a"));
        b.node("MatMul", "ffn/down", in("a", "down"), in("d"));
        b.node("ReduceMean", "pool", in("d"), in("y"), "axes", new long[] {1}, "keepdims", 0L);
        return OnnxModel.of(b.build(), "sequence-model");
    }

    @Test
    void aSymbolicSequenceNeedsTheServedLengthAndCostsScaleWithIt() {
        OnnxModel model = sequenceModel();
        assertThatThrownBy(() -> new ServingShape(4, null).pin(model)).isInstanceOf(ModelException.class)
                .hasMessageContaining("input tokens has a symbolic dimension 1").hasMessageContaining("sequence length");
        long at10 = flops(new ServingShape(4, 10).pin(model), 4);
        long at20 = flops(new ServingShape(4, 20).pin(model), 4);
        assertThat(at10).isPositive();
        assertThat(at20).isEqualTo(2 * at10);
    }

    @Test
    void aModelWithFixedSizesIsServedAsExportedAndRefusesASequenceLength() {
        OnnxModel cnn = OnnxModel.of(OnnxBuilder.smallCnn(), "small-cnn");
        assertThat(new ServingShape(32, null).pin(cnn)).isSameAs(cnn);
        assertThatThrownBy(() -> new ServingShape(32, 128).pin(cnn)).isInstanceOf(ModelException.class)
                .hasMessageContaining("small-cnn").hasMessageContaining("leave the sequence length unset");
    }

    @Test
    void batchAndLengthAreBounded() {
        assertThatThrownBy(() -> new ServingShape(0, null)).hasMessageContaining("serving batch size 0");
        assertThatThrownBy(() -> new ServingShape(1, 0)).hasMessageContaining("sequence length 0");
        assertThat(new ServingShape(32, 128).describe()).isEqualTo("batch 32, sequence 128");
    }

    /** Pruned at the served length, the artifact keeps its symbolic axes and ONNX Runtime runs it at any length. */
    @Test
    void thePrunedArtifactKeepsTheSymbolicAxes() throws Exception {
        OnnxModel source = sequenceModel();
        OnnxModel pinned = new ServingShape(2, 12).pin(source);
        PruningGroup ffn = DependencyGraph.groups(pinned).stream().filter(g -> g.width() == 32).findFirst().orElseThrow();
        OnnxModel pruned = ServingShape.restoreInputs(Surgery.remove(pinned, ffn, IntStream.range(0, 8).toArray()), source);
        assertThat(pruned.inputs().get(0).dims()).containsExactly(-1, -1, 16);
        assertThat(pruned.initializers().get("up").dims()).containsExactly(16, 24);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(pruned.proto().toByteArray(), OrtSessions.options())) {
            for (int length : new int[] {5, 40}) {
                try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.allocate(2 * length * 16), new long[] {2, length, 16});
                        OrtSession.Result r = session.run(Map.of("tokens", x))) {
                    assertThat(((TensorInfo) r.get(0).getInfo()).getShape()).containsExactly(2, 16);
                }
            }
        }
    }

    private static long flops(OnnxModel model, int batch) {
        return NodeCost.of(model, batch).stream().mapToLong(NodeCost::flops).sum();
    }
}
