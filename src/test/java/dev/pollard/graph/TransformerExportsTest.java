package dev.pollard.graph;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.pollard.testing.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Transformers as PyTorch's exporter writes them (fixtures/make_fixtures.py): nn.TransformerEncoder (packed QKV, Mod
 * and Gather shape arithmetic, heads folded into the batch axis), a BERT-style encoder with an attention-mask input and arange position ids, and the
 * pretrained all-MiniLM-L6-v2. Each runs on DJL as in ONNX Runtime, and prunes into a smaller model ONNX Runtime runs.
 */
class TransformerExportsTest {
    static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();
    static final int BATCH = 3;

    @TempDir
    Path dir;

    @Test
    void pytorchTransformerEncoderRunsOnDjlAsInOnnxRuntimeAndLosesHeadsAndNeurons() throws Exception {
        OnnxModel model = OnnxModel.load(Fixtures.path("torch_transformer"));
        assertDjlMatchesOnnxRuntime(model);
        List<PruningGroup> groups = DependencyGraph.groups(model);
        assertThat(groups).extracting(g -> g.kind() + "/" + g.width()).containsExactly(
                "attention-heads/4", "linear-neurons/256", "attention-heads/4", "linear-neurons/256");
        PruningGroup heads = groups.get(0);
        assertThat(heads.unitSize()).isEqualTo(16);
        // the packed in_proj weight and bias hold every head three times (Q, K, V); the output projection reads them
        assertThat(heads.members()).filteredOn(m -> m.role() == PruningGroup.Role.PRODUCER)
                .extracting(PruningGroup.Member::blocks).containsExactly(3, 3);
        assertThat(heads.members()).filteredOn(m -> m.role() == PruningGroup.Role.CONSUMER).hasSize(1);

        OnnxModel pruned = UniformPruning.prune(model, 0.5, 8);
        assertThat(DependencyGraph.groups(pruned)).extracting(g -> g.kind() + "/" + g.width()).containsExactly(
                "attention-heads/2", "linear-neurons/128", "attention-heads/2", "linear-neurons/128");
        assertThat(pruned.initializers().get("encoder.layers.0.self_attn.in_proj_bias").dims()).containsExactly(96);
        assertSmallerAndRunsWithTheSameOutputShape(model, pruned);
        assertDjlMatchesOnnxRuntime(pruned);
    }

    /**
     * Heads the output projections ignore can go from the packed projections without changing the logits: each head
     * leaves Q, K and V alike, and the shapes MultiheadAttention computes from the input follow.
     */
    @Test
    void removingUnreadHeadsOfPackedProjectionsKeepsTheOutputs() throws Exception {
        OnnxModel original = OnnxModel.load(Fixtures.path("torch_transformer"));
        int[] removed = {1, 2};
        for (PruningGroup g : DependencyGraph.groups(original)) {
            if (g.kind().equals("attention-heads")) {
                original = UnreadUnits.zeroConsumers(original, g, removed);
            }
        }
        OnnxModel pruned = original;
        for (String id : DependencyGraph.groups(original).stream().filter(g -> g.kind().equals("attention-heads"))
                .map(PruningGroup::id).toList()) {
            PruningGroup g = DependencyGraph.groups(pruned).stream().filter(x -> x.id().equals(id)).findFirst().orElseThrow();
            pruned = Surgery.remove(pruned, g, removed);
        }
        Map<String, long[]> inputs = inputs(original, BATCH);
        assertClose(runOnnxRuntime(pruned, inputs), runOnnxRuntime(original, inputs), 1e-4);
    }

    @Test
    void encoderWithAttentionMaskAndArangePositionsRunsOnDjlAsInOnnxRuntimeAndLosesHeads() throws Exception {
        OnnxModel model = OnnxModel.load(Fixtures.path("masked_encoder"));
        assertThat(model.inputs()).extracting(OnnxModel.Input::name).containsExactly("input_ids", "attention_mask");
        assertThat(model.nodes()).extracting(n -> n.getOpType()).contains("Range", "Expand");
        assertDjlMatchesOnnxRuntime(model);
        // the additive mask is the same for every head, so the heads stay prunable
        assertThat(DependencyGraph.groups(model)).extracting(g -> g.kind() + "/" + g.width()).containsExactly(
                "attention-heads/4", "linear-neurons/256", "attention-heads/4", "linear-neurons/256");

        OnnxModel pruned = UniformPruning.prune(model, 0.5, 8);
        assertThat(DependencyGraph.groups(pruned)).extracting(g -> g.kind() + "/" + g.width()).containsExactly(
                "attention-heads/2", "linear-neurons/128", "attention-heads/2", "linear-neurons/128");
        assertSmallerAndRunsWithTheSameOutputShape(model, pruned);
        assertDjlMatchesOnnxRuntime(pruned);
    }

    /** The mask works, on DJL as in ONNX Runtime: words it hides change nothing, a word it shows does. */
    @Test
    void maskedTokensDoNotChangeTheEncodersOutput() throws Exception {
        OnnxModel model = OnnxModel.load(Fixtures.path("masked_encoder"));
        Map<String, long[]> inputs = inputs(model, 2); // the second sequence ends in 5 masked tokens
        float[] before = runOnnxRuntime(model, inputs);
        long[] ids = inputs.get("input_ids").clone();
        long[] mask = inputs.get("attention_mask");
        assertThat(mask).contains(0L);
        for (int i = 0; i < ids.length; i++) {
            if (mask[i] == 0) {
                ids[i] = (ids[i] + 11) % 1000; // other words where the mask hides them
            }
        }
        Map<String, long[]> hidden = new HashMap<>(inputs);
        hidden.put("input_ids", ids);
        assertClose(runOnnxRuntime(model, hidden), before, 1e-5);
        try (NDManager scope = NDManager.newBaseManager("PyTorch"); GraphExecutor executor = new GraphExecutor(model)) {
            assertClose(executor.forward(scope, arrays(scope, model, hidden, 2)).get(0).toFloatArray(), before, 1e-4);
        }
        long[] shown = inputs.get("input_ids").clone();
        shown[0] = (shown[0] + 11) % 1000;
        Map<String, long[]> changed = new HashMap<>(inputs);
        changed.put("input_ids", shown);
        float[] after = runOnnxRuntime(model, changed);
        assertThat(Math.abs(after[0] - before[0]) + Math.abs(after[1] - before[1]) + Math.abs(after[2] - before[2]))
                .isGreaterThan(1e-4f);
    }

    @Test
    void miniLmReadsAsSixLayersOfTwelveHeadsAndSixFeedForwardGroups() throws Exception {
        Path file = Fixtures.path("all_minilm_l6_v2");
        OnnxModel model = OnnxModel.load(file);
        List<PruningGroup> groups = DependencyGraph.groups(model);
        assertThat(groups).filteredOn(g -> g.kind().equals("attention-heads")).hasSize(6)
                .allSatisfy(g -> {
                    assertThat(g.width()).isEqualTo(12);
                    assertThat(g.unitSize()).isEqualTo(32);
                });
        assertThat(groups).filteredOn(g -> g.kind().equals("linear-neurons")).hasSize(6)
                .allSatisfy(g -> assertThat(g.width()).isEqualTo(1536));
        assertThat(groups).hasSize(12);
        assertThat(groups).extracting(PruningGroup::id).allSatisfy(id -> assertThat(id).startsWith("/bert/encoder/layer."));

        String printed = inspect(file);
        assertThat(printed).contains("12 prunable groups, " + (6 * 12 + 6 * 1536) + " units");
        assertThat(printed.lines().filter(l -> l.contains("attention-heads"))).hasSize(6);
        assertDjlMatchesOnnxRuntime(model);
    }

    @Test
    void miniLmShrinksIntoAModelOnnxRuntimeRuns() throws Exception {
        OnnxModel model = OnnxModel.load(Fixtures.path("all_minilm_l6_v2"));
        OnnxModel pruned = UniformPruning.prune(model, 0.5, 8);
        assertThat(DependencyGraph.groups(pruned)).extracting(g -> g.kind() + "/" + g.width()).containsOnly(
                "attention-heads/6", "linear-neurons/768");
        assertSmallerAndRunsWithTheSameOutputShape(model, pruned);
    }

    private String inspect(Path file) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream previous = System.out;
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            assertThat(new CommandLine(new InspectCommand()).execute(file.toString())).isZero();
        } finally {
            System.setOut(previous);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** Fewer parameters, FLOPs and bytes, and ONNX Runtime gives outputs of the shape the original has. */
    static void assertSmallerAndRunsWithTheSameOutputShape(OnnxModel model, OnnxModel pruned) throws Exception {
        assertThat(UniformPruning.parameters(pruned)).isLessThan(UniformPruning.parameters(model));
        assertThat(UniformPruning.flops(pruned, 1)).isLessThan(UniformPruning.flops(model, 1));
        assertThat(pruned.proto().toByteArray().length).isLessThan(model.proto().toByteArray().length);
        Map<String, long[]> inputs = inputs(model, BATCH);
        long[] before = outputShape(model, inputs);
        assertThat(before[0]).isEqualTo(BATCH);
        assertThat(outputShape(pruned, inputs)).containsExactly(before);
    }

    /** GraphExecutor's outputs equal ONNX Runtime's within 1e-4, on every input the model has. */
    static void assertDjlMatchesOnnxRuntime(OnnxModel model) throws Exception {
        Map<String, long[]> inputs = inputs(model, BATCH);
        float[] expected = runOnnxRuntime(model, inputs);
        try (NDManager scope = NDManager.newBaseManager("PyTorch"); GraphExecutor executor = new GraphExecutor(model)) {
            float[] actual = executor.forward(scope, arrays(scope, model, inputs, BATCH)).get(0).toFloatArray();
            assertClose(actual, expected, 1e-4);
        }
    }

    static void assertClose(float[] actual, float[] expected, double tolerance) {
        assertThat(actual).hasSize(expected.length);
        double worst = 0;
        for (int i = 0; i < actual.length; i++) {
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
        }
        assertThat(worst).as("max abs difference to ONNX Runtime").isLessThanOrEqualTo(tolerance);
    }

    /**
     * Token ids for every int64 input, except an attention mask: ones, with the last tokens of every other sequence
     * masked out as padding would be.
     */
    static Map<String, long[]> inputs(OnnxModel model, int batch) {
        Random random = new Random(9);
        Map<String, long[]> inputs = new LinkedHashMap<>();
        for (OnnxModel.Input in : model.inputs()) {
            assertThat(in.elementType()).as(in.name()).isEqualTo(7);
            int length = (int) in.dims()[1];
            long[] v = new long[batch * length];
            for (int b = 0; b < batch; b++) {
                for (int t = 0; t < length; t++) {
                    v[b * length + t] = in.name().equals("attention_mask") ? (b % 2 == 1 && t >= length - 5 ? 0 : 1)
                            : random.nextInt(1000);
                }
            }
            inputs.put(in.name(), v);
        }
        return inputs;
    }

    private static Map<String, NDArray> arrays(NDManager scope, OnnxModel model, Map<String, long[]> inputs, int batch) {
        Map<String, NDArray> arrays = new HashMap<>();
        for (OnnxModel.Input in : model.inputs()) {
            arrays.put(in.name(), scope.create(inputs.get(in.name()), new Shape(batch, in.dims()[1])));
        }
        return arrays;
    }

    static float[] runOnnxRuntime(OnnxModel model, Map<String, long[]> inputs) throws Exception {
        return (float[]) runOrt(model, inputs, true);
    }

    private static long[] outputShape(OnnxModel model, Map<String, long[]> inputs) throws Exception {
        return (long[]) runOrt(model, inputs, false);
    }

    /** The first output's values (as one flat array) or its shape. */
    private static Object runOrt(OnnxModel model, Map<String, long[]> inputs, boolean values) throws Exception {
        Map<String, OnnxTensor> tensors = new HashMap<>();
        try (OrtSession session = ENV.createSession(model.proto().toByteArray(), new OrtSession.SessionOptions())) {
            for (OnnxModel.Input in : model.inputs()) {
                long length = in.dims()[1];
                long[] v = inputs.get(in.name());
                tensors.put(in.name(), OnnxTensor.createTensor(ENV, LongBuffer.wrap(v), new long[] {v.length / length, length}));
            }
            try (OrtSession.Result result = session.run(tensors)) {
                OnnxTensor out = (OnnxTensor) result.get(0);
                if (!values) {
                    return ((TensorInfo) out.getInfo()).getShape();
                }
                FloatBuffer b = out.getFloatBuffer();
                float[] v = new float[b.remaining()];
                b.get(v);
                return v;
            }
        } finally {
            tensors.values().forEach(OnnxTensor::close);
        }
    }
}
