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
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.pollard.energy.EnergyCounter;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A model server for one ONNX model over ONNX Runtime, speaking the Open Inference Protocol (KServe v2) REST API:
 * {@code /v2}, {@code /v2/health/live|ready}, {@code /v2/models/NAME[/ready]}, {@code POST /v2/models/NAME/infer}, and
 * Prometheus metrics at {@code /metrics}. Independent of Quarkus' HTTP stack, so the same jar serves in any pod.
 */
public final class ModelServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ROUTES = Set.of("/v2", "/v2/health/live", "/v2/health/ready", "/metrics",
            "/v2/models/{model}", "/v2/models/{model}/ready", "/v2/models/{model}/infer");

    private final String name;
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final Map<String, TensorInfo> inputs = new LinkedHashMap<>();
    private final Map<String, TensorInfo> outputs = new LinkedHashMap<>();
    private final Metrics metrics;
    private final HttpServer http;
    private final ExecutorService pool;

    public ModelServer(Path model, String name, String host, int port, int threads, EnergyCounter energy)
            throws IOException, OrtException {
        this.name = name;
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        if (threads > 0) {
            options.setIntraOpNumThreads(threads);
        }
        this.session = env.createSession(model.toString(), options);
        for (Map.Entry<String, NodeInfo> e : session.getInputInfo().entrySet()) {
            inputs.put(e.getKey(), (TensorInfo) e.getValue().getInfo());
        }
        for (Map.Entry<String, NodeInfo> e : session.getOutputInfo().entrySet()) {
            outputs.put(e.getKey(), (TensorInfo) e.getValue().getInfo());
        }
        this.metrics = new Metrics(name, energy);
        this.http = HttpServer.create(new InetSocketAddress(host, port), 64);
        this.pool = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()));
        http.setExecutor(pool);
        http.createContext("/", this::handle);
    }

    public ModelServer start() {
        http.start();
        return this;
    }

    public int port() {
        return http.getAddress().getPort();
    }

    private void handle(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        String method = exchange.getRequestMethod();
        String models = "/v2/models/" + name;
        Reply reply;
        try {
            if (path.equals("/v2/health/live") || path.equals("/v2/health/ready") || path.equals(models + "/ready")) {
                reply = new Reply(200, "application/json", "{}");
            } else if (path.equals("/v2")) {
                reply = json(200, JSON.createObjectNode().put("name", "pollard").put("version", "v2"));
            } else if (path.equals(models) && method.equals("GET")) {
                reply = json(200, metadata());
            } else if (path.equals(models + "/infer") && method.equals("POST")) {
                reply = infer(exchange.getRequestBody().readAllBytes());
            } else if (path.equals("/metrics")) {
                reply = new Reply(200, "text/plain; version=0.0.4", metrics.render());
            } else if (path.startsWith("/v2/models/")) {
                reply = error(404, "unknown model or endpoint: " + path + " (this server serves '" + name + "')");
            } else {
                reply = error(404, "no such endpoint: " + path);
            }
        } catch (BadRequest e) {
            reply = error(400, e.getMessage());
        } catch (OrtException | RuntimeException e) {
            reply = error(500, "inference failed: " + e.getMessage());
        }
        metrics.request(route(path), reply.code);
        byte[] body = reply.body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", reply.contentType);
        exchange.sendResponseHeaders(reply.code, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    /** The endpoint a path asks for, from a fixed set: a label value clients cannot choose or multiply. */
    private String route(String path) {
        String models = "/v2/models/" + name;
        String template = path.startsWith(models) ? "/v2/models/{model}" + path.substring(models.length()) : path;
        return ROUTES.contains(template) ? template : Metrics.OTHER_ROUTE;
    }

    private ObjectNode metadata() {
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

    private Reply infer(byte[] body) throws OrtException {
        JsonNode request;
        try {
            request = JSON.readTree(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new BadRequest("request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new BadRequest("request body could not be read: " + e.getMessage());
        }
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
                batch = (int) shape[0];
                feed.put(inputName, tensor(input, inputName, info, shape));
            }
            for (String required : inputs.keySet()) {
                if (!feed.containsKey(required)) {
                    throw new BadRequest("inputs: missing tensor '" + required + "'");
                }
            }
            long start = System.nanoTime();
            try (OrtSession.Result result = session.run(feed)) {
                metrics.inference(batch, (System.nanoTime() - start) / 1e9);
                ObjectNode response = JSON.createObjectNode().put("model_name", name).put("model_version", "1");
                if (request.has("id")) {
                    response.set("id", request.get("id"));
                }
                ArrayNode out = response.putArray("outputs");
                for (Map.Entry<String, OnnxValue> e : result) {
                    out.add(outputTensor(e.getKey(), (OnnxTensor) e.getValue()));
                }
                return json(200, response);
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
                    + expected.length + " " + java.util.Arrays.toString(expected));
        }
        long[] shape = new long[expected.length];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong();
            if (shape[i] <= 0 || (expected[i] > 0 && expected[i] != shape[i])) {
                throw new BadRequest("inputs[" + inputName + "].shape: dimension " + i + " is " + shape[i]
                        + ", the model expects " + java.util.Arrays.toString(expected) + " (-1 = any)");
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
                    + java.util.Arrays.toString(shape) + " (" + count + " expected)");
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

    private static Reply json(int code, JsonNode body) {
        try {
            return new Reply(code, "application/json", JSON.writeValueAsString(body));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Reply error(int code, String message) {
        return json(code, JSON.createObjectNode().put("error", message));
    }

    @Override
    public void close() throws OrtException {
        http.stop(1);
        pool.shutdownNow();
        session.close();
    }

    private record Reply(int code, String contentType, String body) {
    }

    /** A client error: the message names the field that is wrong. */
    static final class BadRequest extends RuntimeException {
        BadRequest(String message) {
            super(message);
        }
    }
}
