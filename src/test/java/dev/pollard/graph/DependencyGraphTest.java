package dev.pollard.graph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.pollard.testing.OnnxBuilder;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DependencyGraphTest {
    static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    @Test
    void residualAndDepthwiseCouplingMakeOneGroupAndTheClassifierIsKept() {
        OnnxModel model = OnnxModel.of(OnnxBuilder.smallCnn(), "small-cnn");
        List<PruningGroup> groups = DependencyGraph.groups(model);
        assertThat(groups).singleElement().satisfies(g -> {
            assertThat(g.width()).isEqualTo(16);
            assertThat(g.kind()).isEqualTo("conv-channels");
            assertThat(g.members()).extracting(m -> m.tensor() + "@" + m.axis()).containsExactlyInAnyOrder(
                    "c1.w@0", "c1.b@0", "bn1.s@0", "bn1.b@0", "bn1.m@0", "bn1.v@0", "c2.w@1", "c2.w@0", "c2.b@0",
                    "dw.w@0", "fc.w@1");
        });
    }

    /**
     * Units whose every consumer ignores them (consumer weights zero) can be removed without changing the model's
     * outputs: the pruned model must give the same logits in ONNX Runtime, and its file must be smaller.
     */
    @Test
    void removingUnitsNobodyReadsKeepsTheOutputsExactly() throws Exception {
        OnnxModel model = OnnxModel.of(OnnxBuilder.smallCnn(), "small-cnn");
        PruningGroup group = DependencyGraph.groups(model).get(0);
        int[] removed = {1, 4, 5, 9, 15};
        OnnxModel original = UnreadUnits.zeroConsumers(model, group, removed);
        OnnxModel pruned = Surgery.remove(original, group, removed);

        assertThat(DependencyGraph.groups(pruned)).singleElement().satisfies(g -> assertThat(g.width()).isEqualTo(11));
        assertThat(pruned.proto().toByteArray().length).isLessThan(original.proto().toByteArray().length);
        assertThat(NodeCost.of(pruned, 1).stream().mapToLong(NodeCost::flops).sum())
                .isLessThan(NodeCost.of(original, 1).stream().mapToLong(NodeCost::flops).sum());
        float[] image = new float[3 * 28 * 28];
        Random random = new Random(7);
        for (int i = 0; i < image.length; i++) {
            image[i] = random.nextFloat();
        }
        float[][] before = run(original, image, 3);
        float[][] after = run(pruned, image, 3);
        for (int b = 0; b < 3; b++) {
            for (int c = 0; c < 10; c++) {
                assertThat(after[b][c]).isCloseTo(before[b][c], within(1e-4f));
            }
        }
    }

    @Test
    void l2ImportanceRanksUnitsByTheirWeights() {
        OnnxModel model = OnnxModel.of(OnnxBuilder.smallCnn(), "small-cnn");
        PruningGroup group = DependencyGraph.groups(model).get(0);
        Map<String, float[]> weights = new HashMap<>();
        for (PruningGroup.Member m : group.members()) {
            weights.put(m.tensor(), new float[(int) model.initializers().get(m.tensor()).size()]);
        }
        double[] zero = Surgery.l2(Surgery.withWeights(model, weights), group);
        assertThat(zero).containsOnly(0.0);
        double[] l2 = Surgery.l2(model, group);
        assertThat(l2).hasSize(16);
        assertThat(java.util.Arrays.stream(l2).min().orElseThrow()).isPositive();
    }

    @Test
    void concatenatedBranchesAreGroupsAtTheirOffsetsInBatchNormAndTheConsumer() {
        OnnxModel model = OnnxModel.of(OnnxBuilder.concatCnn(), "concat-cnn");
        List<PruningGroup> groups = DependencyGraph.groups(model);
        assertThat(groups).extracting(PruningGroup::id).containsExactly("a", "b");
        assertThat(groups.get(0).members()).extracting(m -> m.tensor() + "@" + m.axis() + "+" + m.offset())
                .containsExactlyInAnyOrder("a.w@0+0", "a.b@0+0", "bn.s@0+0", "bn.b@0+0", "bn.m@0+0", "bn.v@0+0", "c.w@1+0");
        // after the 8 channels of a and the image's 3
        assertThat(groups.get(1).members()).extracting(m -> m.tensor() + "@" + m.axis() + "+" + m.offset())
                .containsExactlyInAnyOrder("b.w@0+0", "b.b@0+0", "bn.s@0+11", "bn.b@0+11", "bn.m@0+11", "bn.v@0+11", "c.w@1+11");
    }

    @Test
    void removingUnreadChannelsOfConcatenatedBranchesKeepsTheOutputsExactly() throws Exception {
        OnnxModel original = OnnxModel.of(OnnxBuilder.concatCnn(), "concat-cnn");
        int[][] removed = {{1, 5}, {0, 3, 7}};
        for (int i = 0; i < 2; i++) {
            original = UnreadUnits.zeroConsumers(original, DependencyGraph.groups(original).get(i), removed[i]);
        }
        OnnxModel pruned = original;
        for (int i = 0; i < 2; i++) {
            // offsets change as the first branch narrows: groups are found again
            pruned = Surgery.remove(pruned, DependencyGraph.groups(pruned).get(i), removed[i]);
        }
        assertThat(DependencyGraph.groups(pruned)).extracting(PruningGroup::width).containsExactly(6, 5);
        assertThat(DependencyGraph.groups(pruned).get(1).members()).extracting(PruningGroup.Member::offset).contains(9);
        assertThat(pruned.initializers().get("c.w").dims()).containsExactly(4, 14, 3, 3);
        assertThat(pruned.initializers().get("bn.v").dims()).containsExactly(14);
        float[] image = new float[2 * 3 * 8 * 8];
        Random random = new Random(11);
        for (int i = 0; i < image.length; i++) {
            image[i] = (float) random.nextGaussian();
        }
        float[] before = runFlat(original, image, new long[] {2, 3, 8, 8});
        float[] after = runFlat(pruned, image, new long[] {2, 3, 8, 8});
        assertThat(after).hasSameSizeAs(before);
        for (int i = 0; i < before.length; i++) {
            assertThat(after[i]).isCloseTo(before[i], within(1e-4f));
        }
    }

    static float[] runFlat(OnnxModel model, float[] input, long[] dims) throws Exception {
        try (OrtSession session = ENV.createSession(model.proto().toByteArray(), new OrtSession.SessionOptions());
                OnnxTensor x = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(input), dims);
                OrtSession.Result result = session.run(Map.of(model.inputs().get(0).name(), x))) {
            OnnxTensor y = (OnnxTensor) result.get(0);
            float[] out = new float[(int) y.getInfo().getNumElements()];
            y.getFloatBuffer().get(out);
            return out;
        }
    }

    @Test
    void aPrunedModelSavedToAFileLoadsBackAndRunsTheSame(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        OnnxModel model = OnnxModel.of(OnnxBuilder.smallCnn(), "small-cnn");
        OnnxModel pruned = Surgery.remove(model, DependencyGraph.groups(model).get(0), new int[] {2, 3});
        java.nio.file.Path file = dir.resolve("pruned.onnx");
        String sha = pruned.save(file);
        assertThat(sha).isEqualTo(java.util.HexFormat.of().formatHex(
                java.security.MessageDigest.getInstance("SHA-256").digest(java.nio.file.Files.readAllBytes(file))));
        assertThat(java.nio.file.Files.list(dir)).containsExactly(file); // no temporary file left behind
        OnnxModel loaded = OnnxModel.load(file);
        assertThat(loaded.initializers().get("c2.w").dims()).containsExactly(14, 14, 3, 3); // residual: in and out
        float[] image = new float[28 * 28];
        java.util.Arrays.fill(image, 0.5f);
        try (OrtSession session = ENV.createSession(file.toString(), new OrtSession.SessionOptions());
                OnnxTensor x = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(image), new long[] {1, 1, 28, 28});
                OrtSession.Result result = session.run(Map.of("image", x))) {
            assertThat(((float[][]) result.get(0).getValue())[0]).containsExactly(run(pruned, image, 1)[0]);
        }
    }

    static float[][] run(OnnxModel model, float[] image, int batch) throws Exception {
        try (OrtSession session = ENV.createSession(model.proto().toByteArray(), new OrtSession.SessionOptions());
                OnnxTensor x = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(image), new long[] {batch, 1, 28, 28});
                OrtSession.Result result = session.run(Map.of("image", x))) {
            return (float[][]) result.get(0).getValue();
        }
    }
}
