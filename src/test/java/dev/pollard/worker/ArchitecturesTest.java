package dev.pollard.worker;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.pollard.graph.DependencyGraph;
import dev.pollard.graph.GraphExecutor;
import dev.pollard.graph.OnnxModel;
import dev.pollard.graph.PruningGroup;
import dev.pollard.graph.UniformPruning;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The networks `pollard train` builds: what they are, and that DJL and ONNX Runtime compute them alike. */
class ArchitecturesTest {
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    @Test
    void resnetIsAResNet20WhoseResidualStreamsArePrunedWithTheirShortcuts() throws Exception {
        OnnxModel model = OnnxModel.of(Architectures.build("resnet", 1), "resnet");
        assertThat(model.proto().getGraph().getNodeList()).filteredOn(n -> n.getOpType().equals("Conv")).hasSize(21);
        assertThat(model.proto().getGraph().getNodeList()).filteredOn(n -> n.getOpType().equals("Add")).hasSize(9);
        List<PruningGroup> groups = DependencyGraph.groups(model);
        // inside each block the first conv's channels; across each stage the residual stream (stem or projection,
        // every block's second conv, the next stage's projection and first conv, or the classifier)
        assertThat(groups).filteredOn(g -> g.kind().equals("conv-channels")).hasSize(12);
        assertThat(groups).anySatisfy(g -> assertThat(memberTensors(g)).contains("stem.weight", "layer1.0.conv2.weight",
                "layer1.2.conv2.weight", "layer2.0.shortcut.weight", "layer2.0.conv1.weight"));
        assertThat(groups).anySatisfy(g -> assertThat(memberTensors(g)).contains("layer3.0.shortcut.weight",
                "layer3.2.conv2.weight", "fc.weight"));
        assertDjlMatchesOnnxRuntime(model);
        assertDjlMatchesOnnxRuntime(UniformPruning.prune(model, 0.5, 8));
    }

    @Test
    void vitHasFourHeadsPerBlockAndAnFfnAndPrunesBoth() throws Exception {
        OnnxModel model = OnnxModel.of(Architectures.build("vit", 1), "vit");
        List<PruningGroup> groups = DependencyGraph.groups(model);
        assertThat(groups).filteredOn(g -> g.kind().equals("attention-heads")).hasSize(4)
                .allSatisfy(g -> assertThat(g.width() + " heads of " + g.unitSize()).isEqualTo("4 heads of 16"));
        assertThat(groups).filteredOn(g -> g.kind().equals("linear-neurons") && g.width() == 128).hasSize(4);
        assertDjlMatchesOnnxRuntime(model);
        OnnxModel pruned = UniformPruning.prune(model, 0.5, 8);
        assertThat(DependencyGraph.groups(pruned)).filteredOn(g -> g.kind().equals("attention-heads"))
                .allSatisfy(g -> assertThat(g.width()).isEqualTo(2));
        assertDjlMatchesOnnxRuntime(pruned);
    }

    private static List<String> memberTensors(PruningGroup group) {
        return group.members().stream().map(PruningGroup.Member::tensor).toList();
    }

    /** Both runtimes give the same logits (within 1e-4) for a batch of random images. */
    private static void assertDjlMatchesOnnxRuntime(OnnxModel model) throws Exception {
        int batch = 3;
        float[] images = new float[batch * 28 * 28];
        Random random = new Random(7);
        for (int i = 0; i < images.length; i++) {
            images[i] = random.nextFloat();
        }
        float[] expected;
        try (OrtSession session = ENV.createSession(model.proto().toByteArray(), new OrtSession.SessionOptions());
                OnnxTensor x = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(images), new long[] {batch, 1, 28, 28});
                OrtSession.Result result = session.run(Map.of("image", x))) {
            FloatBuffer logits = ((OnnxTensor) result.get(0)).getFloatBuffer();
            expected = new float[logits.remaining()];
            logits.get(expected);
        }
        try (NDManager scope = NDManager.newBaseManager("PyTorch"); GraphExecutor executor = new GraphExecutor(model)) {
            float[] actual = executor.forward(scope, Map.of("image", scope.create(images, new Shape(batch, 1, 28, 28))))
                    .get(0).toFloatArray();
            assertThat(actual).hasSize(batch * 10);
            for (int i = 0; i < actual.length; i++) {
                assertThat(Math.abs(actual[i] - expected[i])).as("logit %d: DJL %f, ONNX Runtime %f", i, actual[i], expected[i])
                        .isLessThanOrEqualTo(1e-4f);
            }
        }
    }
}
