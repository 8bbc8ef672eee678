package dev.pollard.serve;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One ONNX model in an ONNX Runtime session: the metadata and infer answers of the Open Inference Protocol. */
final class OnnxModel implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String name;
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final Map<String, TensorInfo> inputs = new LinkedHashMap<>();
    private final Map<String, TensorInfo> outputs = new LinkedHashMap<>();

    OnnxModel(Path file, String name, int intraOpThreads) throws OrtException {
        this.name = name;
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        if (intraOpThreads > 0) {
            options.setIntraOpNumThreads(intraOpThreads);
        }
        this.session = env.createSession(file.toString(), options);
        for (Map.Entry<String, NodeInfo> e : session.getInputInfo().entrySet()) {
            inputs.put(e.getKey(), (TensorInfo) e.getValue().getInfo());
        }
        for (Map.Entry<String, NodeInfo> e : session.getOutputInfo().entrySet()) {
            outputs.put(e.getKey(), (TensorInfo) e.getValue().getInfo());
        }
    }

    /** What one infer request computed: the response, and for metrics the samples and the time the run took. */
    record Inferred(ObjectNode response, int samples, double seconds) {
    }

    ObjectNode metadata() {
        ObjectNode m = JSON.createObjectNode().put("name", name).put("platform", "onnxruntime_onnx");
        m.putArray("versions").add("1");
        ArrayNode in = m.putArray("inputs");
        inputs.forEach((n, info) -> in.add(tensorMetadata(n, info)));
        ArrayNode out = m.putArray("outputs");
        outputs.forEach((n, info) -> out.add(tensorMetadata(n, info)));
        return m;
    }

    private static ObjectNode tensorMetadata(String name, TensorInfo info) {
        ObjectNode t = JSON.createObjectNode().put("name", name).put("datatype", datatype(info.type));
        ArrayNode shape = t.putArray("shape");
        for (long d : info.getShape()) {
            shape.add(d);
        }
        return t;
    }

    /**
     * Runs one infer request.
     *
     * @param options the run's options, through which its deadline can stop it
     * @throws BadRequest when the request does not fit the model; the message names the field that is wrong
     */
    Inferred infer(JsonNode request, OrtSession.RunOptions options) throws OrtException {
        if (request == null || !request.path("inputs").isArray()) {
            throw new BadRequest("inputs: required, an array of tensors");
        }
        Map<String, OnnxTensor> feed = new HashMap<>();
        try {
            int batch = 1;
            for (JsonNode input : request.get("inputs")) {
                String inputName = input.path("name").asText(null);
                TensorInfo info = inputs.get(inputName);
                if (info == null) {
                    throw new BadRequest("inputs[].name: '" + inputName + "' is not an input of " + name + " (inputs: "
                            + inputs.keySet() + ")");
                }
                long[] shape = shape(input, inputName, info);
                batch = shape.length > 0 ? (int) shape[0] : 1; // a scalar input is one sample
                feed.put(inputName, tensor(input, inputName, info, shape));
            }
            for (String required : inputs.keySet()) {
                if (!feed.containsKey(required)) {
                    throw new BadRequest("inputs: missing tensor '" + required + "'");
                }
            }
            long start = System.nanoTime();
            try (OrtSession.Result result = session.run(feed, options)) {
                double seconds = (System.nanoTime() - start) / 1e9;
                ObjectNode response = JSON.createObjectNode().put("model_name", name).put("model_version", "1");
                if (request.has("id")) {
                    response.set("id", request.get("id"));
                }
                ArrayNode out = response.putArray("outputs");
                for (Map.Entry<String, OnnxValue> e : result) {
                    out.add(outputTensor(e.getKey(), (OnnxTensor) e.getValue()));
                }
                return new Inferred(response, batch, seconds);
            }
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
    }

    private static long[] shape(JsonNode input, String inputName, TensorInfo info) {
        JsonNode shapeNode = input.path("shape");
        if (!shapeNode.isArray()) {
            throw new BadRequest("inputs[" + inputName + "].shape: required, an array of dimensions");
        }
        long[] expected = info.getShape();
        if (shapeNode.size() != expected.length) {
            throw new BadRequest("inputs[" + inputName + "].shape: rank " + shapeNode.size() + ", the model expects rank "
                    + expected.length + " " + Arrays.toString(expected));
        }
        long[] shape = new long[expected.length];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong();
            if (shape[i] <= 0 || (expected[i] > 0 && expected[i] != shape[i])) {
                throw new BadRequest("inputs[" + inputName + "].shape: dimension " + i + " is " + shape[i]
                        + ", the model expects " + Arrays.toString(expected) + " (-1 = any)");
            }
        }
        return shape;
    }

    private OnnxTensor tensor(JsonNode input, String inputName, TensorInfo info, long[] shape) throws OrtException {
        String datatype = input.path("datatype").asText("");
        if (!datatype.equals(datatype(info.type))) {
            throw new BadRequest("inputs[" + inputName + "].datatype: '" + datatype + "', the model expects "
                    + datatype(info.type));
        }
        List<JsonNode> values = new ArrayList<>();
        flatten(input.path("data"), values);
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        if (values.size() != count) {
            throw new BadRequest("inputs[" + inputName + "].data: " + values.size() + " values for shape "
                    + Arrays.toString(shape) + " (" + count + " expected)");
        }
        if (info.type == OnnxJavaType.FLOAT) {
            FloatBuffer buffer = FloatBuffer.allocate((int) count);
            values.forEach(v -> buffer.put((float) v.asDouble()));
            return OnnxTensor.createTensor(env, buffer.flip(), shape);
        }
        LongBuffer buffer = LongBuffer.allocate((int) count);
        values.forEach(v -> buffer.put(v.asLong()));
        return OnnxTensor.createTensor(env, buffer.flip(), shape);
    }

    private static void flatten(JsonNode node, List<JsonNode> into) {
        if (node.isArray()) {
            node.forEach(n -> flatten(n, into));
        } else if (node.isNumber()) {
            into.add(node);
        } else {
            throw new BadRequest("inputs[].data: expected numbers, found " + node.getNodeType());
        }
    }

    private static ObjectNode outputTensor(String name, OnnxTensor tensor) {
        TensorInfo info = tensor.getInfo();
        ObjectNode t = JSON.createObjectNode().put("name", name).put("datatype", datatype(info.type));
        ArrayNode shape = t.putArray("shape");
        for (long d : info.getShape()) {
            shape.add(d);
        }
        ArrayNode data = t.putArray("data");
        if (info.type == OnnxJavaType.FLOAT) {
            FloatBuffer b = tensor.getFloatBuffer();
            while (b.hasRemaining()) {
                data.add(b.get());
            }
        } else if (info.type == OnnxJavaType.INT64) {
            LongBuffer b = tensor.getLongBuffer();
            while (b.hasRemaining()) {
                data.add(b.get());
            }
        }
        return t;
    }

    private static String datatype(OnnxJavaType type) {
        return switch (type) {
            case FLOAT -> "FP32";
            case INT64 -> "INT64";
            default -> type.name();
        };
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }

    /** A client error: the message names the field that is wrong. */
    static final class BadRequest extends RuntimeException {
        BadRequest(String message) {
            super(message);
        }
    }
}
