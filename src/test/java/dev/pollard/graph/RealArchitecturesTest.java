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
    void bertStyleEncoderLosesHeadsAndFeedForwardNeuronsAndStillRuns() throws Exception {
        OnnxModel model = OnnxModel.load(Fixtures.path("bert2"));
        List<PruningGroup> groups = DependencyGraph.groups(model);
        assertThat(groups).extracting(g -> g.kind() + "/" + g.width()).containsExactly(
                "attention-heads/4", "linear-neurons/1024", "attention-heads/4", "linear-neurons/1024");
        for (PruningGroup g : groups) {
            if (g.kind().equals("linear-neurons")) {
                // the two linear layers around the activation, and the first one's bias
                assertThat(g.members()).extracting(PruningGroup.Member::role).containsExactlyInAnyOrder(
                        PruningGroup.Role.PRODUCER, PruningGroup.Role.PRODUCER, PruningGroup.Role.CONSUMER);
            } else {
                // Q, K, V weights and biases, the output projection, three head counts and the merged width
                assertThat(g.unitSize()).isEqualTo(64);
                assertThat(g.members()).extracting(PruningGroup.Member::role).filteredOn(r -> r == PruningGroup.Role.SHAPE)
                        .hasSize(4);
                assertThat(g.members()).extracting(PruningGroup.Member::role).filteredOn(r -> r == PruningGroup.Role.PRODUCER)
                        .hasSize(6);
            }
        }
        OnnxModel pruned = UniformPruning.prune(model, 0.5, 8);
        assertThat(DependencyGraph.groups(pruned)).extracting(g -> g.kind() + "/" + g.width()).containsExactly(
                "attention-heads/2", "linear-neurons/512", "attention-heads/2", "linear-neurons/512");
        assertThat((double) UniformPruning.parameters(pruned)).isLessThan(0.75 * UniformPruning.parameters(model));
        float[][] logits = runTokens(pruned, 2);
        assertThat(logits).hasNumberOfRows(2);
        assertThat(logits[0]).hasSize(2);
    }

    /** Heads the output projections ignore can go from both layers without changing the encoder's logits. */
    @Test
    void removingUnreadHeadsKeepsTheEncodersOutputs() throws Exception {
        OnnxModel original = OnnxModel.load(Fixtures.path("bert2"));
        OnnxModel pruned;
        int[] removed = {0, 2};
        for (PruningGroup g : DependencyGraph.groups(original)) {
            if (g.kind().equals("attention-heads")) {
                original = UnreadUnits.zeroConsumers(original, g, removed);
            }
        }
        pruned = original;
        for (String id : DependencyGraph.groups(original).stream().filter(g -> g.kind().equals("attention-heads"))
                .map(PruningGroup::id).toList()) {
            PruningGroup g = DependencyGraph.groups(pruned).stream().filter(x -> x.id().equals(id)).findFirst().orElseThrow();
            pruned = Surgery.remove(pruned, g, removed);
        }
        // every shape ONNX Runtime would compute at batch 3 agrees with the rewritten constants
        ShapeInference shapes = ShapeInference.infer(pruned, 3);
        assertThat(shapes.shape("/Reshape_output_0")).containsExactly(3, 32, 2, 64);
        assertThat(shapes.shape("/Reshape_3_output_0")).containsExactly(3, 32, 128);
        float[][] before = runTokens(original, 3);
        float[][] after = runTokens(pruned, 3);
        for (int b = 0; b < 3; b++) {
            for (int c = 0; c < 2; c++) {
                assertThat(after[b][c]).isCloseTo(before[b][c], org.assertj.core.api.Assertions.within(1e-4f));
            }
        }
    }

    static float[][] runTokens(OnnxModel model, int batch) throws Exception {
        long[] tokens = new long[batch * 32];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = (i * 37) % 1000;
        }
        try (OrtSession session = ENV.createSession(model.proto().toByteArray(), new OrtSession.SessionOptions());
                OnnxTensor x = OnnxTensor.createTensor(ENV, java.nio.LongBuffer.wrap(tokens), new long[] {batch, 32});
                OrtSession.Result result = session.run(Map.of("tokens", x))) {
            assertThat(((TensorInfo) result.get(0).getInfo()).getShape()).containsExactly(batch, 2);
            return (float[][]) result.get(0).getValue();
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
