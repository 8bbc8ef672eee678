package dev.pollard.graph;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/** An ONNX model in memory: its nodes, its constant tensors (initializers) and its graph inputs and outputs. */
public final class OnnxModel {
    /** A graph input: name, element type (ONNX TensorProto.DataType number) and dims, -1 where symbolic. */
    public record Input(String name, int elementType, long[] dims) {
    }

    private final OnnxMl.ModelProto proto;
    private final String source;
    private final Map<String, Tensor> initializers;
    private final List<Input> inputs;

    private OnnxModel(OnnxMl.ModelProto original, String source) {
        this.proto = untieConstants(original);
        this.source = source;
        Map<String, Tensor> init = new LinkedHashMap<>();
        for (OnnxMl.TensorProto t : proto.getGraph().getInitializerList()) {
            init.put(t.getName(), tensor(t, source + ": initializer " + t.getName()));
        }
        this.initializers = Collections.unmodifiableMap(init);
        List<Input> in = new ArrayList<>();
        for (OnnxMl.ValueInfoProto v : proto.getGraph().getInputList()) {
            if (!init.containsKey(v.getName())) { // older exporters list initializers as inputs too
                in.add(new Input(v.getName(), v.getType().getTensorType().getElemType(), dims(v)));
            }
        }
        this.inputs = List.copyOf(in);
    }

    /**
     * PyTorch stores identical constants once and hands them out through Identity nodes (zero biases of folded
     * BatchNorms, for instance). Pruning slices each layer's weights differently, so every such output becomes an
     * initializer of its own, and the Identity node goes.
     */
    static OnnxMl.ModelProto untieConstants(OnnxMl.ModelProto model) {
        OnnxMl.GraphProto graph = model.getGraph();
        Map<String, OnnxMl.TensorProto> init = new LinkedHashMap<>();
        graph.getInitializerList().forEach(t -> init.put(t.getName(), t));
        boolean any = graph.getNodeList().stream()
                .anyMatch(n -> n.getOpType().equals("Identity") && init.containsKey(n.getInput(0)));
        if (!any) {
            return model;
        }
        OnnxMl.GraphProto.Builder b = graph.toBuilder().clearNode();
        for (OnnxMl.NodeProto n : graph.getNodeList()) {
            if (n.getOpType().equals("Identity") && init.containsKey(n.getInput(0))) {
                b.addInitializer(init.get(n.getInput(0)).toBuilder().setName(n.getOutput(0)));
            } else {
                b.addNode(n);
            }
        }
        return model.toBuilder().setGraph(b).build();
    }

    public static OnnxModel load(Path file) {
        return parse(read(file), file.toString());
    }

    /** The bytes of a model file; a missing or unreadable file is a ModelException naming it. */
    public static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ModelException(file + ": no such file");
        } catch (IOException e) {
            throw new ModelException(file + ": unreadable: " + e.getMessage(), e);
        }
    }

    /** A model from the bytes of an ONNX file; {@code source} names it in messages. */
    public static OnnxModel parse(byte[] bytes, String source) {
        OnnxMl.ModelProto proto;
        try {
            proto = OnnxMl.ModelProto.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new ModelException(source + ": not a valid ONNX model (truncated or corrupt: " + e.getMessage() + ")", e);
        }
        if (!proto.hasGraph() || proto.getGraph().getNodeCount() == 0) {
            throw new ModelException(source + ": not a valid ONNX model (no graph nodes)");
        }
        return new OnnxModel(proto, source);
    }

    public static OnnxModel of(OnnxMl.ModelProto proto, String source) {
        return new OnnxModel(proto, source);
    }

    public OnnxMl.ModelProto proto() {
        return proto;
    }

    /** Writes the model as one ONNX file, atomically (temporary file, then move); returns its sha256 in hex. */
    public String save(Path file) throws IOException {
        return dev.pollard.data.Artifacts.write(file, proto.toByteArray());
    }

    /** Where the model came from (a file name), for messages. */
    public String source() {
        return source;
    }

    /** A node's name, or its operator and outputs when it has none: how Pollard names nodes everywhere. */
    public static String label(OnnxMl.NodeProto node) {
        return Attributes.label(node);
    }

    public List<OnnxMl.NodeProto> nodes() {
        return proto.getGraph().getNodeList();
    }

    public Map<String, Tensor> initializers() {
        return initializers;
    }

    public List<Input> inputs() {
        return inputs;
    }

    public List<String> outputs() {
        return proto.getGraph().getOutputList().stream().map(OnnxMl.ValueInfoProto::getName).toList();
    }

    /** The default-domain opset the model was exported with. */
    public long opset() {
        return proto.getOpsetImportList().stream().filter(o -> o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx"))
                .mapToLong(OnnxMl.OperatorSetIdProto::getVersion).findFirst().orElse(0);
    }

    /** Names of every value some node consumes. */
    Set<String> consumedNames() {
        return nodes().stream().flatMap(n -> n.getInputList().stream()).collect(Collectors.toSet());
    }

    private static long[] dims(OnnxMl.ValueInfoProto v) {
        List<OnnxMl.TensorShapeProto.Dimension> dims = v.getType().getTensorType().getShape().getDimList();
        long[] out = new long[dims.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = dims.get(i).hasDimValue() ? dims.get(i).getDimValue() : -1;
        }
        return out;
    }

    /** A TensorProto's values (typed fields or little-endian raw_data). */
    static Tensor tensor(OnnxMl.TensorProto t, String what) {
        long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        int n = (int) Shapes.elements(dims);
        if (t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL) {
            throw new ModelException(what + ": external tensor data is not supported; save the model as one file");
        }
        ByteBuffer raw = t.getRawData().isEmpty() ? null : t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        switch (t.getDataType()) {
            case 1 -> { // FLOAT
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = raw != null ? raw.getFloat(i * 4) : t.getFloatData(i);
                }
                return Tensor.ofFloats(dims, v);
            }
            case 11 -> { // DOUBLE
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = (float) (raw != null ? raw.getDouble(i * 8) : t.getDoubleData(i));
                }
                return Tensor.ofFloats(dims, v);
            }
            case 7 -> { // INT64
                long[] v = new long[n];
                for (int i = 0; i < n; i++) {
                    v[i] = raw != null ? raw.getLong(i * 8) : t.getInt64Data(i);
                }
                return Tensor.ofLongs(dims, v);
            }
            case 6, 9 -> { // INT32, BOOL (int32_data or one byte each)
                long[] v = new long[n];
                for (int i = 0; i < n; i++) {
                    v[i] = raw != null ? (t.getDataType() == 9 ? raw.get(i) : raw.getInt(i * 4)) : t.getInt32Data(i);
                }
                return Tensor.ofLongs(dims, v);
            }
            default -> throw new ModelException(what + ": tensor data type " + t.getDataType() + " is not supported "
                    + "(float32, float64, int64, int32 and bool are)");
        }
    }
}
