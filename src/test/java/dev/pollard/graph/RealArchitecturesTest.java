package dev.pollard.graph;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.pollard.testing.Fixtures;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Groups, surgery and export on PyTorch's own exports of torchvision's resnet18 and mobilenet_v2. */
class RealArchitecturesTest {
    static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    @Test
    void resnet18HasItsTwelveGroupsAndPrunesToAHalfThatRuns() throws Exception {
        OnnxModel model = OnnxModel.load(Fixtures.path("resnet18"));
        List<PruningGroup> groups = DependencyGraph.groups(model);
        // 8 inside the basic blocks, one per stage for the residual stream
        assertThat(groups).hasSize(12);
        assertThat(groups).extracting(PruningGroup::width).containsOnly(64, 128, 256, 512);

        OnnxModel pruned = UniformPruning.prune(model, 0.5, 8);
        assertThat(DependencyGraph.groups(pruned)).extracting(PruningGroup::width).containsOnly(32, 64, 128, 256);
        assertThat((double) UniformPruning.flops(pruned, 1)).isLessThan(0.5 * UniformPruning.flops(model, 1));
        assertThat(pruned.proto().toByteArray().length).isLessThan(model.proto().toByteArray().length / 2);
        float[][] logits = run(pruned, 2, 224);
        assertThat(logits).hasNumberOfRows(2);
        assertThat(logits[0]).hasSize(1000);
        assertThat(ShapeInference.infer(pruned, 2).shape(pruned.outputs().get(0))).containsExactly(2, 1000);
    }

    /** Channels that no consumer reads can go without changing resnet18's outputs, through all the residual adds. */
    @Test
    void removingUnreadChannelsOfAResidualStageKeepsResnet18sOutputs() throws Exception {
        OnnxModel model = OnnxModel.load(Fixtures.path("resnet18"));
        PruningGroup stage = DependencyGraph.groups(model).stream()
                .filter(g -> g.members().stream().filter(m -> m.role() == PruningGroup.Role.PRODUCER).count() > 2)
                .findFirst().orElseThrow();
        int[] removed = {0, 7, 13, 21, 30, 41, 52, 63};
        OnnxModel original = UnreadUnits.zeroConsumers(model, stage, removed);
        OnnxModel pruned = Surgery.remove(original, stage, removed);
        float[][] before = run(original, 1, 224);
        float[][] after = run(pruned, 1, 224);
        double scale = 0;
        for (float v : before[0]) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int c = 0; c < 1000; c++) {
            assertThat((double) Math.abs(after[0][c] - before[0][c])).isLessThanOrEqualTo(1e-4 * Math.max(1, scale));
        }
    }

    @Test
    void mobilenetV2DepthwiseBlocksPruneAndRun() throws Exception {
        OnnxModel model = OnnxModel.load(Fixtures.path("mobilenet_v2"));
        assertThat(DependencyGraph.groups(model)).hasSizeGreaterThan(17);
        OnnxModel pruned = UniformPruning.prune(model, 0.5, 8);
        assertThat((double) UniformPruning.flops(pruned, 1)).isLessThan(0.5 * UniformPruning.flops(model, 1));
        float[][] logits = run(pruned, 1, 224);
        assertThat(logits[0]).hasSize(1000);
    }

    @Test
    void bertStyleEncoderLosesFeedForwardNeuronsAndStillRuns() throws Exception {
        OnnxModel model = OnnxModel.load(Fixtures.path("bert2"));
        List<PruningGroup> groups = DependencyGraph.groups(model);
        assertThat(groups).hasSize(2).allSatisfy(g -> {
            assertThat(g.kind()).isEqualTo("linear-neurons");
            assertThat(g.width()).isEqualTo(1024);
            // the two linear layers around the activation, and the first one's bias
            assertThat(g.members()).extracting(PruningGroup.Member::role)
                    .containsExactlyInAnyOrder(PruningGroup.Role.PRODUCER, PruningGroup.Role.PRODUCER, PruningGroup.Role.CONSUMER);
        });
        OnnxModel pruned = UniformPruning.prune(model, 0.5, 8);
        assertThat(DependencyGraph.groups(pruned)).extracting(PruningGroup::width).containsOnly(512);
        long[] tokens = new long[2 * 32];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = (i * 37) % 1000;
        }
        try (OrtSession session = ENV.createSession(pruned.proto().toByteArray(), new OrtSession.SessionOptions());
                OnnxTensor x = OnnxTensor.createTensor(ENV, java.nio.LongBuffer.wrap(tokens), new long[] {2, 32});
                OrtSession.Result result = session.run(Map.of("tokens", x))) {
            assertThat(((TensorInfo) result.get(0).getInfo()).getShape()).containsExactly(2, 2);
        }
    }

    static float[][] run(OnnxModel model, int batch, int size) throws Exception {
        float[] image = new float[batch * 3 * size * size];
        Random random = new Random(3);
        for (int i = 0; i < image.length; i++) {
            image[i] = random.nextFloat();
        }
        try (OrtSession session = ENV.createSession(model.proto().toByteArray(), new OrtSession.SessionOptions());
                OnnxTensor x = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(image), new long[] {batch, 3, size, size});
                OrtSession.Result result = session.run(Map.of(model.inputs().get(0).name(), x))) {
            assertThat(((TensorInfo) result.get(0).getInfo()).getShape()).containsExactly(batch, 1000);
            return (float[][]) result.get(0).getValue();
        }
    }
}
