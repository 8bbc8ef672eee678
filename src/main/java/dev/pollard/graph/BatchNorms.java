package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.onnx.proto.OnnxMl;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * BatchNormalization put back behind the convolutions an exporter folded it into, for a fine-tuning, and folded into
 * them again afterwards. PyTorch's exporter folds every BatchNorm of a model in eval mode into the convolution before
 * it; pruning then shifts the statistics of what each convolution sees, and a network without its normalisations
 * re-learns them slowly: a BatchNorm in training mode re-centres and re-scales each channel on every batch at once.
 * An unfolded BatchNorm starts as the identity on the model's data: scale the standard deviation and shift the mean of
 * its convolution's output, with those as its running statistics.
 */
public final class BatchNorms {
    private static final float EPSILON = 1e-5f;
    private static final String SUFFIX = "/unfolded-batchnorm";

    private BatchNorms() {
    }

    /** A model with a BatchNorm behind some of its convolutions; {@link #fold} gives the model without them back. */
    public record Unfolded(OnnxModel model, List<String> convolutions) {
    }

    /**
     * The outputs of the convolutions that have no BatchNorm behind them and whose weights (and bias, if any) are
     * initializers: the ones {@link #unfold} puts a BatchNorm behind.
     */
    public static List<String> foldedOutputs(OnnxModel model) {
        Set<String> normalised = new HashSet<>();
        for (OnnxMl.NodeProto n : model.nodes()) {
            if (n.getOpType().equals("BatchNormalization")) {
                normalised.add(n.getInput(0));
            }
        }
        List<String> outputs = new ArrayList<>();
        for (OnnxMl.NodeProto n : model.nodes()) {
            if (n.getOpType().equals("Conv") && !normalised.contains(n.getOutput(0))
                    && model.initializers().containsKey(n.getInput(1))
                    && (n.getInputCount() < 3 || n.getInput(2).isEmpty() || model.initializers().containsKey(n.getInput(2)))
                    && !model.outputs().contains(n.getOutput(0))) {
                outputs.add(n.getOutput(0));
            }
        }
        return outputs;
    }

    /**
     * A BatchNorm behind each of the model's {@link #foldedOutputs}, its statistics those of the convolution's output
     * for a sample of the model's data (one input, {@code values} in {@code shape}).
     */
    public static Unfolded unfold(OnnxModel model, String input, float[] values, long[] shape) {
        return unfold(model, statistics(model, foldedOutputs(model), input, values, shape));
    }

    /** Per-channel mean and (biased) variance of each of these values of the model, for one input. */
    static Map<String, float[][]> statistics(OnnxModel model, List<String> names, String input, float[] values, long[] shape) {
        Map<String, float[][]> statistics = new HashMap<>();
        if (names.isEmpty()) {
            return statistics;
        }
        OnnxMl.GraphProto.Builder graph = model.proto().getGraph().toBuilder();
        names.forEach(v -> graph.addOutput(OnnxMl.ValueInfoProto.newBuilder().setName(v)));
        OnnxModel measured = OnnxModel.of(model.proto().toBuilder().setGraph(graph).build(), model.source());
        try (GraphExecutor executor = new GraphExecutor(measured); NDManager scope = NDManager.newBaseManager("PyTorch")) {
            NDList outputs = executor.forward(scope, Map.of(input, scope.create(values, new Shape(shape))));
            int first = outputs.size() - names.size();
            for (int i = 0; i < names.size(); i++) {
                NDArray x = outputs.get(first + i);
                NDArray perChannel = x.swapAxes(0, 1).reshape(x.getShape().get(1), -1);
                NDArray mean = perChannel.mean(new int[] {1}, true);
                NDArray variance = perChannel.sub(mean).square().mean(new int[] {1});
                statistics.put(names.get(i), new float[][] {mean.toFloatArray(), variance.toFloatArray()});
            }
        }
        return statistics;
    }

    /**
     * A BatchNorm behind each convolution whose output is a key of {@code statistics} (per-channel mean and variance of
     * that output on the model's data), which keeps the output's name: what consumed it now reads the BatchNorm's.
     */
    static Unfolded unfold(OnnxModel model, Map<String, float[][]> statistics) {
        OnnxMl.GraphProto.Builder graph = model.proto().getGraph().toBuilder().clearNode();
        List<String> convolutions = new ArrayList<>();
        for (OnnxMl.NodeProto n : model.nodes()) {
            float[][] stats = n.getOpType().equals("Conv") ? statistics.get(n.getOutput(0)) : null;
            if (stats == null) {
                graph.addNode(n);
                continue;
            }
            String out = n.getOutput(0);
            String in = out + SUFFIX + "/input";
            float[] mean = stats[0];
            float[] variance = stats[1];
            float[] deviation = new float[mean.length];
            for (int c = 0; c < mean.length; c++) {
                deviation[c] = (float) Math.sqrt(variance[c] + EPSILON);
            }
            long[] dims = {mean.length};
            graph.addNode(n.toBuilder().setOutput(0, in));
            graph.addInitializer(Surgery.proto(out + SUFFIX + "/scale", Tensor.ofFloats(dims, deviation)));
            graph.addInitializer(Surgery.proto(out + SUFFIX + "/shift", Tensor.ofFloats(dims, mean.clone())));
            graph.addInitializer(Surgery.proto(out + SUFFIX + "/mean", Tensor.ofFloats(dims, mean.clone())));
            graph.addInitializer(Surgery.proto(out + SUFFIX + "/variance", Tensor.ofFloats(dims, variance.clone())));
            graph.addNode(OnnxMl.NodeProto.newBuilder().setOpType("BatchNormalization").setName(out + SUFFIX)
                    .addInput(in).addInput(out + SUFFIX + "/scale").addInput(out + SUFFIX + "/shift")
                    .addInput(out + SUFFIX + "/mean").addInput(out + SUFFIX + "/variance").addOutput(out)
                    .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("epsilon").setF(EPSILON)
                            .setType(OnnxMl.AttributeProto.AttributeType.FLOAT)));
            convolutions.add(out);
        }
        return new Unfolded(OnnxModel.of(model.proto().toBuilder().setGraph(graph).build(), model.source()), convolutions);
    }

    /**
     * The model without the BatchNorms {@link #unfold} put in, each folded into its convolution with its learned scale
     * and shift and its running statistics: w' = w s, b' = (b - mean) s + shift, s = scale / sqrt(variance + eps).
     */
    public static OnnxModel fold(Unfolded unfolded) {
        OnnxModel model = unfolded.model();
        Set<String> folded = new HashSet<>(unfolded.convolutions());
        Map<String, Tensor> init = model.initializers();
        OnnxMl.GraphProto.Builder graph = model.proto().getGraph().toBuilder().clearNode();
        Set<String> dropped = new HashSet<>();
        for (OnnxMl.NodeProto n : model.nodes()) {
            String out = n.getOpType().equals("Conv") && n.getOutput(0).endsWith(SUFFIX + "/input")
                    ? n.getOutput(0).substring(0, n.getOutput(0).length() - (SUFFIX + "/input").length()) : null;
            if (n.getOpType().equals("BatchNormalization") && folded.contains(n.getOutput(0))
                    && n.getName().equals(n.getOutput(0) + SUFFIX)) {
                continue;
            }
            if (out == null || !folded.contains(out)) {
                graph.addNode(n);
                continue;
            }
            float[] scale = init.get(out + SUFFIX + "/scale").floats();
            float[] shift = init.get(out + SUFFIX + "/shift").floats();
            float[] mean = init.get(out + SUFFIX + "/mean").floats();
            float[] variance = init.get(out + SUFFIX + "/variance").floats();
            Tensor w = init.get(n.getInput(1));
            int channels = scale.length;
            int per = (int) (w.size() / channels);
            float[] weights = w.floats().clone();
            boolean hasBias = n.getInputCount() > 2 && !n.getInput(2).isEmpty();
            float[] bias = hasBias ? init.get(n.getInput(2)).floats() : new float[channels];
            float[] newBias = new float[channels];
            for (int c = 0; c < channels; c++) {
                float s = (float) (scale[c] / Math.sqrt(variance[c] + EPSILON));
                for (int k = c * per; k < (c + 1) * per; k++) {
                    weights[k] *= s;
                }
                newBias[c] = (bias[c] - mean[c]) * s + shift[c];
            }
            String biasName = hasBias ? n.getInput(2) : out + "/bias";
            replaceInitializer(graph, n.getInput(1), Surgery.proto(n.getInput(1), Tensor.ofFloats(w.dims(), weights)));
            OnnxMl.NodeProto.Builder conv = n.toBuilder().setOutput(0, out);
            if (hasBias) {
                replaceInitializer(graph, biasName, Surgery.proto(biasName, Tensor.ofFloats(new long[] {channels}, newBias)));
            } else {
                graph.addInitializer(Surgery.proto(biasName, Tensor.ofFloats(new long[] {channels}, newBias)));
                while (conv.getInputCount() < 3) {
                    conv.addInput("");
                }
                conv.setInput(2, biasName);
            }
            graph.addNode(conv);
            for (String part : List.of("/scale", "/shift", "/mean", "/variance")) {
                dropped.add(out + SUFFIX + part);
            }
        }
        List<OnnxMl.TensorProto> kept = graph.getInitializerList().stream().filter(t -> !dropped.contains(t.getName())).toList();
        graph.clearInitializer().addAllInitializer(kept);
        return OnnxModel.of(model.proto().toBuilder().setGraph(graph).build(), model.source());
    }

    private static void replaceInitializer(OnnxMl.GraphProto.Builder graph, String name, OnnxMl.TensorProto value) {
        for (int i = 0; i < graph.getInitializerCount(); i++) {
            if (graph.getInitializer(i).getName().equals(name)) {
                graph.setInitializer(i, value);
                return;
            }
        }
        throw new ModelException("no initializer named " + name);
    }
}
