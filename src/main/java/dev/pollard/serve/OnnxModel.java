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
import dev.pollard.data.Digests;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One ONNX model in an ONNX Runtime session, loaded and verified: the metadata and infer answers of the Open Inference
 * Protocol. Its one version is {@link #VERSION}.
 */
final class OnnxModel implements AutoCloseable {
    static final String VERSION = "1";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String name;
    private final String sha256;
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final Map<String, TensorInfo> inputs = new LinkedHashMap<>();
    private final Map<String, TensorInfo> outputs = new LinkedHashMap<>();

    private OnnxModel(String name, String sha256, OrtSession session) {
        this.name = name;
        this.sha256 = sha256;
        this.session = session;
    }

    /**
     * Loads a model file once it has been verified: its sha256 is the one expected (when one is), ONNX Runtime loads it,
     * and each of its inputs and outputs is a tensor of a datatype this server carries in JSON.
     *
     * @throws Refused naming what is wrong with the file
     */
    static OnnxModel load(Path file, String name, String expectedSha256, int intraOpThreads) throws Refused {
        String sha256;
        try {
            sha256 = Digests.sha256(file);
        } catch (IOException e) {
            throw new Refused("cannot read it: " + e.getMessage());
        }
        if (expectedSha256 != null && !sha256.equalsIgnoreCase(expectedSha256)) {
            throw new Refused("sha256 is " + sha256 + ", expected " + expectedSha256 + " (refusing to serve a different model)");
        }
        OrtSession session;
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            if (intraOpThreads > 0) {
                options.setIntraOpNumThreads(intraOpThreads);
            }
            session = OrtEnvironment.getEnvironment().createSession(file.toString(), options);
        } catch (OrtException e) {
            throw new Refused("ONNX Runtime cannot load it: " + e.getMessage());
        }
        OnnxModel model = new OnnxModel(name, sha256, session);
        try {
            model.describe("input", session.getInputInfo(), model.inputs);
            model.describe("output", session.getOutputInfo(), model.outputs);
            return model;
        } catch (OrtException | Refused e) {
            model.close();
            throw e instanceof Refused refused ? refused : new Refused("ONNX Runtime cannot describe it: " + e.getMessage());
        }
    }

    private void describe(String kind, Map<String, NodeInfo> nodes, Map<String, TensorInfo> into) throws Refused {
        for (Map.Entry<String, NodeInfo> e : nodes.entrySet()) {
            if (!(e.getValue().getInfo() instanceof TensorInfo info)) {
                throw new Refused(kind + " '" + e.getKey() + "' is not a tensor (" + e.getValue().getInfo()
                        + "); pollard serve carries tensors only");
            }
            if (info.type != OnnxJavaType.FLOAT && info.type != OnnxJavaType.INT64) {
                throw new Refused(kind + " '" + e.getKey() + "' is a " + info.type + " tensor; pollard serve carries FP32 "
                        + "and INT64 tensors");
            }
            into.put(e.getKey(), info);
        }
    }

    String sha256() {
        return sha256;
    }

    /** What one infer request computed: the response, and for metrics the samples and the time the run took. */
    record Inferred(ObjectNode response, int samples, double seconds) {
    }

    ObjectNode metadata() {
        ObjectNode m = JSON.createObjectNode().put("name", name);
        m.putArray("versions").add(VERSION);
        m.put("platform", "onnx_onnxv1"); // the protocol's name for an ONNX model run by ONNX Runtime
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
        if (!request.isObject()) {
            throw new BadRequest("request body: a JSON object is expected, found " + request.getNodeType());
        }
        if (!request.path("inputs").isArray()) {
            throw new BadRequest("inputs: required, an array of tensors");
        }
        Set<String> requested = requestedOutputs(request);
        Map<String, OnnxTensor> feed = new HashMap<>();
        try {
            int samples = -1;
            for (JsonNode input : request.get("inputs")) {
                String inputName = input.path("name").asText(null);
                TensorInfo info = inputs.get(inputName);
                if (info == null) {
                    throw new BadRequest("inputs[].name: '" + inputName + "' is not an input of " + name + " (inputs: "
                            + inputs.keySet() + ")");
                }
                if (feed.containsKey(inputName)) {
                    throw new BadRequest("inputs: tensor '" + inputName + "' given twice");
                }
                long[] shape = shape(input, inputName, info);
                if (samples < 0) {
                    samples = shape.length > 0 ? (int) shape[0] : 1; // a scalar input is one sample
                }
                feed.put(inputName, tensor(input, inputName, info, shape));
            }
            for (String required : inputs.keySet()) {
                if (!feed.containsKey(required)) {
                    throw new BadRequest("inputs: missing tensor '" + required + "'");
                }
            }
            long start = System.nanoTime();
            try (OrtSession.Result result = session.run(feed, requested, options)) {
                double seconds = (System.nanoTime() - start) / 1e9;
                ObjectNode response = JSON.createObjectNode().put("model_name", name).put("model_version", VERSION);
                if (request.has("id")) {
                    response.set("id", request.get("id"));
                }
                ArrayNode out = response.putArray("outputs");
                for (Map.Entry<String, OnnxValue> e : result) {
                    out.add(outputTensor(e.getKey(), (OnnxTensor) e.getValue()));
                }
                return new Inferred(response, samples, seconds);
            }
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
    }

    /** The outputs a request names, or all of them when it names none (the protocol's default). */
    private Set<String> requestedOutputs(JsonNode request) {
        if (!request.has("outputs")) {
            return outputs.keySet();
        }
        if (!request.get("outputs").isArray()) {
            throw new BadRequest("outputs: an array of {\"name\": ...}, found " + request.get("outputs").getNodeType());
        }
        Set<String> requested = new LinkedHashSet<>();
        for (JsonNode output : request.get("outputs")) {
            String outputName = output.path("name").asText(null);
            if (!outputs.containsKey(outputName)) {
                throw new BadRequest("outputs[].name: '" + outputName + "' is not an output of " + name + " (outputs: "
                        + outputs.keySet() + ")");
            }
            requested.add(outputName);
        }
        return requested.isEmpty() ? outputs.keySet() : requested;
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
            JsonNode dimension = shapeNode.get(i);
            if (!dimension.canConvertToExactIntegral() || !dimension.canConvertToLong() || dimension.asLong() <= 0) {
                throw new BadRequest("inputs[" + inputName + "].shape: dimension " + i + " is " + dimension
                        + ", not a positive integer");
            }
            shape[i] = dimension.asLong();
            if (expected[i] > 0 && expected[i] != shape[i]) {
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
        try {
            flatten(input.path("data"), values);
        } catch (BadRequest e) {
            throw new BadRequest("inputs[" + inputName + "]." + e.getMessage());
        }
        long count = 1;
        for (long d : shape) {
            if (count > Long.MAX_VALUE / d) {
                throw new BadRequest("inputs[" + inputName + "].shape: " + Arrays.toString(shape) + " has more elements than "
                        + "a tensor can hold");
            }
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
            throw new BadRequest("data: expected numbers, found " + node.getNodeType());
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
        } else { // load() admits FP32 and INT64 outputs only
            LongBuffer b = tensor.getLongBuffer();
            while (b.hasRemaining()) {
                data.add(b.get());
            }
        }
        return t;
    }

    private static String datatype(OnnxJavaType type) {
        return type == OnnxJavaType.FLOAT ? "FP32" : "INT64"; // the only two load() admits
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime could not release the session: " + e.getMessage(), e);
        }
    }

    /** A model file the server will not serve; the message says why. */
    static final class Refused extends Exception {
        Refused(String message) {
            super(message);
        }
    }

    /** A client error: the message names the field that is wrong. */
    static final class BadRequest extends RuntimeException {
        BadRequest(String message) {
            super(message);
        }
    }
}
