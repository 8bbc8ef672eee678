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
import java.util.Arrays;
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

    /** Protobuf messages end at 2 GiB, and so does a Java array. */
    private static final long MAX_FILE_BYTES = Integer.MAX_VALUE - 8;

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
        boolean any = graph.getNodeList().stream().anyMatch(n -> isConstantAlias(n, init));
        if (!any) {
            return model;
        }
        OnnxMl.GraphProto.Builder b = graph.toBuilder().clearNode();
        for (OnnxMl.NodeProto n : graph.getNodeList()) {
            if (isConstantAlias(n, init)) {
                b.addInitializer(init.get(n.getInput(0)).toBuilder().setName(n.getOutput(0)));
            } else {
                b.addNode(n);
            }
        }
        return model.toBuilder().setGraph(b).build();
    }

    /** An Identity that hands out an initializer; one with no input or output is malformed, and left for shape inference to refuse. */
    private static boolean isConstantAlias(OnnxMl.NodeProto n, Map<String, OnnxMl.TensorProto> init) {
        return n.getOpType().equals("Identity") && n.getInputCount() == 1 && n.getOutputCount() == 1 && init.containsKey(n.getInput(0));
    }

    public static OnnxModel load(Path file) {
        return parse(read(file), file.toString());
    }

    /** The bytes of a model file; a missing or unreadable file is a ModelException naming it. */
    public static byte[] read(Path file) {
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new ModelException(file + ": " + size + " bytes; an ONNX file holds at most 2 GiB (larger models keep their weights as "
                        + "external data, which Pollard does not read)");
            }
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

    /**
     * A TensorProto's values (typed fields or little-endian raw_data). The dims are checked against the values the
     * tensor really holds before anything is allocated for them.
     */
    static Tensor tensor(OnnxMl.TensorProto t, String what) {
        long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        if (t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL) {
            throw new ModelException(what + ": external tensor data is not supported; save the model as one file");
        }
        int type = t.getDataType();
        int width = switch (type) {
            case 1, 6 -> 4; // FLOAT, INT32
            case 7, 11 -> 8; // INT64, DOUBLE
            case 9 -> 1; // BOOL
            default -> throw new ModelException(what + ": tensor data type " + type + " is not supported "
                    + "(float32, float64, int64, int32 and bool are)");
        };
        int n = Shapes.checkedElements(dims, what);
        ByteBuffer raw = t.getRawData().isEmpty() ? null : t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        if (raw != null && raw.remaining() != (long) n * width) {
            throw new ModelException(what + ": dims " + Arrays.toString(dims) + " of data type " + type + " need " + (long) n * width
                    + " bytes of raw_data, the tensor holds " + raw.remaining());
        }
        int typed = switch (type) {
            case 1 -> t.getFloatDataCount();
            case 11 -> t.getDoubleDataCount();
            case 7 -> t.getInt64DataCount();
            default -> t.getInt32DataCount(); // INT32 and BOOL
        };
        if (raw == null && typed != n) {
            throw new ModelException(what + ": dims " + Arrays.toString(dims) + " declare " + n + " values, the tensor holds " + typed);
        }
        switch (type) {
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
            default -> { // INT32, BOOL (int32_data or one byte each)
                long[] v = new long[n];
                for (int i = 0; i < n; i++) {
                    v[i] = raw != null ? (type == 9 ? raw.get(i) : raw.getInt(i * 4)) : t.getInt32Data(i);
                }
                return Tensor.ofLongs(dims, v);
            }
        }
    }
}
