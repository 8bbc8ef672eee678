package dev.pollard.graph;

import ai.onnx.proto.OnnxMl;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The batch a model is served at and, for a token model exported with a symbolic sequence axis, the sequence length.
 * Every energy figure, fingerprint and latency of a run is taken at this shape (per sample of the batch): at batch 1
 * weight traffic dominates and pruning looks far better than it is at the batches GPU serving runs (docs/energy.md).
 *
 * @param batchSize samples per inference call, at least 1
 * @param sequenceLength the length every symbolic input dimension besides the batch takes, or null for a model whose
 *        inputs are fixed besides the batch
 */
public record ServingShape(int batchSize, Integer sequenceLength) {
    /** Dynamic batching on a GPU server (Triton, TorchServe, KServe) is commonly capped at 32 requests per batch. */
    public static final int DEFAULT_BATCH = 32;
    public static final int MAX_BATCH = 4096;
    public static final int MAX_SEQUENCE_LENGTH = 1 << 20;

    public ServingShape {
        if (batchSize < 1 || batchSize > MAX_BATCH) {
            throw new IllegalArgumentException("serving batch size " + batchSize + " is outside 1.." + MAX_BATCH);
        }
        if (sequenceLength != null && (sequenceLength < 1 || sequenceLength > MAX_SEQUENCE_LENGTH)) {
            throw new IllegalArgumentException("sequence length " + sequenceLength + " is outside 1.." + MAX_SEQUENCE_LENGTH);
        }
    }

    /** "batch 32" or "batch 32, sequence 128", as reports print it. */
    public String describe() {
        return "batch " + batchSize + (sequenceLength == null ? "" : ", sequence " + sequenceLength);
    }

    /**
     * The model to analyse: every symbolic input dimension besides the batch fixed to the sequence length, so that
     * shapes, costs and measurements have sizes. The artifact keeps the original inputs ({@link #restoreInputs}).
     *
     * @throws ModelException naming the input when the model needs a sequence length and has none, or is given one
     *         that it has no symbolic dimension for
     */
    public OnnxModel pin(OnnxModel model) {
        OnnxMl.GraphProto.Builder graph = model.proto().getGraph().toBuilder();
        boolean symbolic = false;
        for (OnnxMl.ValueInfoProto.Builder input : graph.getInputBuilderList()) {
            if (model.initializers().containsKey(input.getName()) || !input.getType().hasTensorType()) {
                continue;
            }
            List<OnnxMl.TensorShapeProto.Dimension.Builder> dims = input.getTypeBuilder().getTensorTypeBuilder()
                    .getShapeBuilder().getDimBuilderList();
            for (int i = 1; i < dims.size(); i++) {
                if (!dims.get(i).hasDimValue()) {
                    if (sequenceLength == null) {
                        throw new ModelException(model.source() + ": input " + input.getName() + " has a symbolic dimension "
                                + i + " besides the batch: give the sequence length it is served at (--sequence-length, "
                                + "spec.serving.sequenceLength) or export it with a fixed size");
                    }
                    dims.get(i).clearDimParam().setDimValue(sequenceLength);
                    symbolic = true;
                }
            }
        }
        if (sequenceLength != null && !symbolic) {
            throw new ModelException(model.source() + ": a sequence length of " + sequenceLength + " was given, but no "
                    + "input has a symbolic dimension besides the batch: the model is served at the sizes it was exported "
                    + "with; leave the sequence length unset");
        }
        return symbolic ? OnnxModel.of(model.proto().toBuilder().setGraph(graph).build(), model.source()) : model;
    }

    /** The pruned model with the graph inputs of the model it came from, symbolic dimensions included. */
    public static OnnxModel restoreInputs(OnnxModel pruned, OnnxModel original) {
        Map<String, OnnxMl.ValueInfoProto> before = new HashMap<>();
        original.proto().getGraph().getInputList().forEach(v -> before.put(v.getName(), v));
        OnnxMl.GraphProto.Builder graph = pruned.proto().getGraph().toBuilder();
        for (int i = 0; i < graph.getInputCount(); i++) {
            String name = graph.getInput(i).getName();
            if (!pruned.initializers().containsKey(name) && before.containsKey(name)) {
                graph.setInput(i, before.get(name));
            }
        }
        return OnnxModel.of(pruned.proto().toBuilder().setGraph(graph).build(), pruned.source());
    }
}
