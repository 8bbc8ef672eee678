package dev.pollard.graph;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.onnx.proto.OnnxMl;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs an ONNX graph on DJL's PyTorch engine, node by node (each by its {@link OpRule}), so that gradients flow to its float weights and the model
 * can be fine-tuned. Shape subgraphs run on int64 arrays like everything else, so any batch size works. In training,
 * BatchNormalization behaves as in PyTorch's train mode: it normalises with the batch's statistics and moves its
 * running statistics toward them, which {@link #weights()} then returns with the trained weights.
 */
public final class GraphExecutor implements AutoCloseable {
    private final OnnxModel model;
    private final NDManager manager;
    private final Map<String, NDArray> constants = new LinkedHashMap<>();
    private final Map<String, NDArray> trainable = new LinkedHashMap<>();
    private final Map<String, NDArray> statistics = new LinkedHashMap<>();
    private final List<OpRule> rules; // one per node, in graph order

    public GraphExecutor(OnnxModel model) {
        ShapeInference.infer(model, 1); // unsupported operators are reported before anything runs
        this.model = model;
        this.rules = model.nodes().stream().map(n -> OpRules.of(n, model.source())).toList();
        this.manager = NDManager.newBaseManager("PyTorch");
        Set<String> runningStatistics = new HashSet<>();
        for (OnnxMl.NodeProto n : model.nodes()) {
            if (n.getOpType().equals("BatchNormalization")) {
                runningStatistics.add(n.getInput(3));
                runningStatistics.add(n.getInput(4));
            }
        }
        model.initializers().forEach((name, t) -> {
            NDArray a = t.isFloat() ? manager.create(t.floats(), new Shape(t.dims()))
                    : manager.create(t.longs(), new Shape(t.dims()));
            a.setName(name);
            constants.put(name, a);
            // weights train; BatchNorm statistics follow the batches instead; small tensors of one value (scales,
            // epsilons) stay as they are
            if (runningStatistics.contains(name)) {
                statistics.put(name, a);
            } else if (t.isFloat() && t.size() > 1) {
                trainable.put(name, a);
            }
        });
    }

    /** The weights fine-tuning updates, by initializer name. */
    public Map<String, NDArray> trainable() {
        return trainable;
    }

    /** The BatchNorm running statistics, which a forward pass in training mode moves towards its batch's. */
    public Map<String, NDArray> runningStatistics() {
        return statistics;
    }

    /** Current values of the trainable weights and the BatchNorm running statistics, to write back into the model. */
    public Map<String, float[]> weights() {
        Map<String, float[]> out = new LinkedHashMap<>();
        trainable.forEach((name, a) -> out.put(name, a.toFloatArray()));
        statistics.forEach((name, a) -> out.put(name, a.toFloatArray()));
        return out;
    }

    /** The graph's outputs for these inputs, as in inference, attached to {@code scope} (close it to free them). */
    public NDList forward(NDManager scope, Map<String, NDArray> inputs) {
        return forward(scope, inputs, false);
    }

    /** The graph's outputs; {@code training} makes BatchNormalization use, and learn from, the batch's statistics. */
    public NDList forward(NDManager scope, Map<String, NDArray> inputs, boolean training) {
        Map<String, NDArray> values = new HashMap<>(constants);
        values.putAll(inputs);
        OpRule.Execution execution = new OpRule.Execution(scope, training);
        for (int i = 0; i < rules.size(); i++) {
            OnnxMl.NodeProto n = model.nodes().get(i);
            List<NDArray> in = new ArrayList<>();
            for (String name : n.getInputList()) {
                in.add(name.isEmpty() ? null : values.get(name));
            }
            List<NDArray> out = rules.get(i).executeAll(n, in, execution);
            for (int k = 0; k < out.size() && k < n.getOutputCount(); k++) {
                values.put(n.getOutput(k), out.get(k));
            }
        }
        NDList outputs = new NDList();
        for (String name : model.outputs()) {
            outputs.add(values.get(name));
        }
        return outputs;
    }

    /** b in the type of a, so int64 constants can meet float activations the way ONNX exporters intend. */
    static NDArray same(NDArray a, NDArray b) {
        return a.getDataType() == DataType.INT64 && b.getDataType() != DataType.INT64 ? a.toType(b.getDataType(), false) : a;
    }

    /** Mean over several axes (the PyTorch engine reduces one axis at a time). */
    static NDArray mean(NDArray x, int[] axes, boolean keep) {
        int[] sorted = java.util.Arrays.stream(axes).sorted().toArray();
        NDArray y = x;
        for (int i = sorted.length - 1; i >= 0; i--) {
            y = y.mean(new int[] {sorted[i]}, keep);
        }
        return y;
    }

    static Shape ones(long[] values, int length) {
        if (values != null) {
            return new Shape(values);
        }
        long[] v = new long[length];
        java.util.Arrays.fill(v, 1);
        return new Shape(v);
    }

    static DataType type(int onnxType) {
        return switch (onnxType) {
            case 1 -> DataType.FLOAT32;
            case 11 -> DataType.FLOAT64;
            case 6 -> DataType.INT32;
            case 9 -> DataType.BOOLEAN;
            default -> DataType.INT64;
        };
    }

    @Override
    public void close() {
        manager.close();
    }
}
