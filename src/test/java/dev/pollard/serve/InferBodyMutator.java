package dev.pollard.serve;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamWriteConstraints;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pollard.data.Mutator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Seeded mutations of valid infer requests for {@link dev.pollard.testing.TinyOnnx} (input {@code input}, FP32
 * [-1, 4]; output {@code probabilities}): in their JSON structure (values of the wrong type, fields missing or extra,
 * shapes huge, negative, of the wrong rank or not matching the data, nesting deep and ragged, numbers huge), in their
 * text (NaN and Infinity literals, numbers past every range, unicode and invalid UTF-8, deep nesting around the parser's
 * limit, truncation, duplicate keys) and in their bytes ({@link Mutator}). Now and then a large valid batch, so that
 * inference itself is fuzzed too.
 */
final class InferBodyMutator {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Writes trees deeper than the server's parser accepts, to see it refuse them. */
    private static final ObjectMapper WRITER = JsonMapper.builder(JsonFactory.builder()
            .streamWriteConstraints(StreamWriteConstraints.builder().maxNestingDepth(Integer.MAX_VALUE).build()).build()).build();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    static final List<String> SEEDS = List.of(
            "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}",
            "{\"id\":\"r-7\",\"parameters\":{\"priority\":1},\"inputs\":[{\"name\":\"input\",\"shape\":[1,4],\"datatype\":\"FP32\","
                    + "\"data\":[0.5,-1.25,3e2,-4E-3]}],\"outputs\":[{\"name\":\"probabilities\"}]}",
            "{\"inputs\":[{\"name\":\"input\",\"shape\":[3,4],\"datatype\":\"FP32\",\"data\":[[1,2,3,4],[5,6,7,8],[-1,-2,-3,-4]]}]}",
            "{\"id\":42,\"inputs\":[{\"name\":\"input\",\"shape\":[2,4],\"datatype\":\"FP32\",\"parameters\":{\"binary_data_size\":0},"
                    + "\"data\":[0,0,0,0,1.5,2.5,-0.0,1e-7]}],\"parameters\":{}}",
            "{\"inputs\":[{\"datatype\":\"FP32\",\"data\":[[[0.1,0.2],[0.3,0.4]]],\"shape\":[1,4],\"name\":\"input\"}],"
                    + "\"outputs\":[{\"name\":\"probabilities\",\"parameters\":{\"classification\":3}}]}",
            "{\"id\":\"\u00e9t\u00e9-\ud83d\ude00\",\"inputs\":[{\"name\":\"input\",\"shape\":[5,4],\"datatype\":\"FP32\","
                    + "\"data\":[1,0,0,0,0,1,0,0,0,0,1,0,0,0,0,1,0.25,0.25,0.25,0.25]}]}");
    private static final List<byte[]> SEED_BYTES = SEEDS.stream().map(s -> s.getBytes(StandardCharsets.UTF_8)).toList();
    private static final long[] DIMS = {0, -1, -4, 1, 3, 4, 5, 1000, 65536, 1L << 31, (1L << 32) + 4, 1L << 62, Long.MAX_VALUE,
        Long.MIN_VALUE};
    private static final String[] NUMBER_TOKENS = {"NaN", "-NaN", "Infinity", "-Infinity", "+Infinity", "inf", "+1", "01", "1.", ".5",
        "1e", "-", "0x10", "1e99999", "-1e99999", "1e-99999", "4.9e-324", "1.7976931348623157e309", "-0", "123456789012345678901234567890",
        "9".repeat(999), "9".repeat(1001), "1" + "0".repeat(400) + ".5", "true", "null", "\"1\""};
    private static final String[] STRINGS = {"", "input", "INPUT", "input ", "probabilities", "FP32", "fp32", "INT64", "FP16", "BYTES",
        "BOOL", "\u0000", "\u00e9", "\ud83d\ude00", "\u2028", "\ufeff", "\ud800", "\udc00x", "a".repeat(70_000), "../../etc/passwd",
        "%00", "\\u0000", "<script>", "{\"inputs\":[]}"};
    private static final String[] NAMES = {"inputs", "outputs", "id", "parameters", "name", "shape", "datatype", "data", "", "\u0000",
        "\u00f1", "__proto__", "constructor", "binary_data", "raw_input_contents", "x".repeat(5000)};
    /** Nesting depths around the parser's limit (1000) and far beyond it. */
    private static final int[] DEPTHS = {10, 500, 996, 997, 998, 999, 1000, 1001, 5000, 200_000};

    private final Random random;
    private final Mutator bytes;

    InferBodyMutator(Random random) {
        this.random = random;
        this.bytes = new Mutator(random);
    }

    /** One mutated request body. */
    byte[] mutate() {
        int seed = random.nextInt(SEEDS.size());
        int how = random.nextInt(20);
        if (how < 8) {
            return serialize(structure(tree(seed)));
        }
        if (how < 12) {
            return text(serialize(structure(tree(seed))));
        }
        if (how < 15) {
            return text(SEED_BYTES.get(seed));
        }
        if (how < 18) {
            return bytes.mutate(SEED_BYTES.get(seed), SEED_BYTES);
        }
        return special();
    }

    private ObjectNode tree(int seed) {
        try {
            return (ObjectNode) JSON.readTree(SEEDS.get(seed));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One to three mutations of the request's structure. */
    private JsonNode structure(ObjectNode request) {
        JsonNode root = request;
        for (int round = 1 + random.nextInt(3); round > 0; round--) {
            ObjectNode tensor = firstTensor(root);
            switch (random.nextInt(12)) {
                case 0, 1 -> root = replaceSomewhere(root, oddValue());
                case 2 -> removeSomewhere(root);
                case 3 -> addField(root);
                case 4, 5 -> {
                    if (tensor != null) {
                        shape(tensor);
                    }
                }
                case 6, 7 -> {
                    if (tensor != null) {
                        data(tensor);
                    }
                }
                case 8 -> {
                    if (tensor != null) {
                        tensor.put(random.nextBoolean() ? "name" : "datatype", STRINGS[random.nextInt(STRINGS.length)]);
                    }
                }
                case 9 -> {
                    // the same tensor twice, or many times; an input that is not an object
                    if (root.path("inputs") instanceof ArrayNode inputs && tensor != null) {
                        int copies = random.nextBoolean() ? 1 : random.nextInt(2000);
                        for (int i = 0; i < copies; i++) {
                            inputs.add(random.nextInt(4) == 0 ? oddValue() : tensor.deepCopy());
                        }
                    }
                }
                case 10 -> {
                    if (root instanceof ObjectNode object) {
                        object.set(random.nextBoolean() ? "id" : "outputs", oddValue());
                    }
                }
                default -> root = wrap(root);
            }
        }
        return root;
    }

    private static ObjectNode firstTensor(JsonNode root) {
        return root.path("inputs").path(0) instanceof ObjectNode tensor ? tensor : null;
    }

    private void shape(ObjectNode tensor) {
        ArrayNode shape = NODES.arrayNode();
        int rank = random.nextInt(5) == 0 ? random.nextInt(6) : 2;
        for (int i = 0; i < rank; i++) {
            switch (random.nextInt(5)) {
                case 0 -> shape.add(DIMS[random.nextInt(DIMS.length)]);
                case 1 -> shape.add(random.nextBoolean() ? new BigInteger("1" + "0".repeat(random.nextInt(40))) : BigInteger.TWO.pow(64));
                case 2 -> shape.add(random.nextBoolean() ? 4.0 : random.nextDouble() * 1e19);
                case 3 -> shape.add(oddValue());
                default -> shape.add(i == 1 ? 4 : 1 + random.nextInt(8));
            }
        }
        tensor.set("shape", shape);
    }

    private void data(ObjectNode tensor) {
        JsonNode data = tensor.path("data");
        switch (random.nextInt(6)) {
            case 0 -> {
                // one value too many or too few: the length no longer matches the shape
                if (data instanceof ArrayNode array && !array.isEmpty()) {
                    if (random.nextBoolean()) {
                        array.remove(array.size() - 1);
                    } else {
                        array.add(random.nextInt(10));
                    }
                }
            }
            case 1 -> {
                // a ragged nesting of the right count
                ArrayNode ragged = NODES.arrayNode();
                List<JsonNode> flat = new ArrayList<>();
                flatten(data, flat);
                ArrayNode current = ragged;
                for (JsonNode v : flat) {
                    if (random.nextInt(3) == 0) {
                        current = current.addArray();
                    }
                    current.add(v);
                }
                tensor.set("data", ragged);
            }
            case 2 -> {
                // extreme values in place of some: infinities, the largest and smallest doubles, integers past long
                if (data instanceof ArrayNode array && !array.isEmpty()) {
                    for (int i = random.nextInt(4); i >= 0; i--) {
                        array.set(random.nextInt(array.size()), switch (random.nextInt(6)) {
                            case 0 -> NODES.numberNode(Double.MAX_VALUE);
                            case 1 -> NODES.numberNode(-Double.MIN_VALUE);
                            case 2 -> NODES.numberNode(new BigInteger("9".repeat(1 + random.nextInt(300))));
                            case 3 -> NODES.numberNode(new BigDecimal("1e" + (random.nextInt(800) - 400)));
                            case 4 -> NODES.numberNode(Long.MIN_VALUE);
                            default -> NODES.numberNode(3.4028236e38);
                        });
                    }
                }
            }
            case 3 -> tensor.set("data", random.nextBoolean() ? NODES.arrayNode() : NODES.arrayNode().add(NODES.arrayNode()));
            case 4 -> {
                // a huge shape with matching, small or no data
                ArrayNode shape = tensor.putArray("shape").add(DIMS[random.nextInt(DIMS.length)]).add(4);
                if (random.nextBoolean()) {
                    shape.removeAll().add(1 << 20).add(1 << 20);
                }
            }
            default -> tensor.set("data", deep(random.nextInt(1200), NODES.numberNode(1)));
        }
    }

    private static void flatten(JsonNode node, List<JsonNode> into) {
        if (node.isArray()) {
            node.forEach(n -> flatten(n, into));
        } else {
            into.add(node);
        }
    }

    private JsonNode oddValue() {
        return switch (random.nextInt(16)) {
            case 0 -> NODES.nullNode();
            case 1 -> NODES.booleanNode(random.nextBoolean());
            case 2, 3 -> NODES.textNode(STRINGS[random.nextInt(STRINGS.length)]);
            case 4 -> NODES.numberNode(DIMS[random.nextInt(DIMS.length)]);
            case 5 -> NODES.numberNode(new BigInteger("-1" + "0".repeat(random.nextInt(60))));
            case 6 -> NODES.numberNode(random.nextBoolean() ? -0.0 : 1e308);
            case 7 -> NODES.numberNode(new BigDecimal("1.5e" + random.nextInt(1000)));
            case 8 -> NODES.arrayNode();
            case 9 -> NODES.objectNode();
            case 10 -> NODES.arrayNode().add(NODES.objectNode().put("name", "input")).add("input").add(1);
            case 11 -> deep(1 + random.nextInt(1100), NODES.textNode("x"));
            case 12 -> NODES.objectNode().set("name", NODES.objectNode().put("name", "input"));
            case 13 -> NODES.numberNode(1.5f);
            case 14 -> NODES.arrayNode().add(NODES.numberNode(1)).add(NODES.numberNode(4));
            default -> NODES.objectNode().put("name", "probabilities").put("datatype", "FP32");
        };
    }

    /** A value inside depth arrays. */
    private static JsonNode deep(int depth, JsonNode value) {
        JsonNode node = value;
        for (int i = 0; i < depth; i++) {
            node = NODES.arrayNode().add(node);
        }
        return node;
    }

    private JsonNode wrap(JsonNode root) {
        return switch (random.nextInt(3)) {
            case 0 -> NODES.arrayNode().add(root);
            case 1 -> NODES.objectNode().set("inputs", root);
            default -> NODES.objectNode().set("inputs", NODES.arrayNode().add(root));
        };
    }

    /** Every container in the tree with where its children are, to pick one at random. */
    private static List<JsonNode> containers(JsonNode root) {
        List<JsonNode> out = new ArrayList<>();
        walk(root, node -> {
            if (node.isContainerNode() && !node.isEmpty()) {
                out.add(node);
            }
        });
        return out;
    }

    private static void walk(JsonNode node, Consumer<JsonNode> visit) {
        // iterative: a mutated tree may be deep
        List<JsonNode> stack = new ArrayList<>(List.of(node));
        while (!stack.isEmpty()) {
            JsonNode n = stack.remove(stack.size() - 1);
            visit.accept(n);
            n.forEach(stack::add);
        }
    }

    private JsonNode replaceSomewhere(JsonNode root, JsonNode value) {
        List<JsonNode> containers = containers(root);
        if (containers.isEmpty() || random.nextInt(20) == 0) {
            return value; // the whole body
        }
        JsonNode parent = containers.get(random.nextInt(containers.size()));
        if (parent instanceof ObjectNode object) {
            List<String> names = new ArrayList<>();
            object.fieldNames().forEachRemaining(names::add);
            object.set(names.get(random.nextInt(names.size())), value);
        } else {
            ((ArrayNode) parent).set(random.nextInt(parent.size()), value);
        }
        return root;
    }

    private void removeSomewhere(JsonNode root) {
        List<JsonNode> containers = containers(root);
        if (containers.isEmpty()) {
            return;
        }
        JsonNode parent = containers.get(random.nextInt(containers.size()));
        if (parent instanceof ObjectNode object) {
            List<String> names = new ArrayList<>();
            object.fieldNames().forEachRemaining(names::add);
            object.remove(names.get(random.nextInt(names.size())));
        } else {
            ((ArrayNode) parent).remove(random.nextInt(parent.size()));
        }
    }

    private void addField(JsonNode root) {
        List<JsonNode> objects = new ArrayList<>();
        walk(root, node -> {
            if (node.isObject()) {
                objects.add(node);
            }
        });
        if (!objects.isEmpty()) {
            ((ObjectNode) objects.get(random.nextInt(objects.size()))).set(NAMES[random.nextInt(NAMES.length)], oddValue());
        }
    }

    /** Mutations of the text: what a tree cannot hold (literals JSON lacks, bad UTF-8, duplicate keys) or cuts it. */
    private byte[] text(byte[] body) {
        String s = new String(body, StandardCharsets.UTF_8);
        for (int round = 1 + random.nextInt(2); round > 0; round--) {
            switch (random.nextInt(9)) {
                case 0, 1 -> s = replaceNumber(s, NUMBER_TOKENS[random.nextInt(NUMBER_TOKENS.length)]);
                case 2 -> s = insert(s, STRINGS[random.nextInt(STRINGS.length)]);
                case 3 -> {
                    // a string escape that decodes to a lone surrogate, a NUL, or nothing valid
                    String[] escapes = {"\\ud800", "\\udfff", "\\u0000", "\\uZZZZ", "\\u12", "\\x41", "\\", "\\'", "\\/"};
                    s = insertInString(s, escapes[random.nextInt(escapes.length)]);
                }
                case 4 -> s = s.replaceFirst("\\{", "{\"inputs\":" + (random.nextBoolean() ? "[]," : "{},"));
                case 5 -> {
                    int depth = DEPTHS[random.nextInt(DEPTHS.length)];
                    String open = random.nextBoolean() ? "[" : "{\"a\":";
                    String close = open.equals("[") ? "]" : "}";
                    String nested = open.repeat(depth) + "1" + close.repeat(depth);
                    s = random.nextBoolean() ? s.replaceFirst("\"data\":", "\"data\":" + nested + ",\"x\":")
                            : s.replaceFirst("\\{", "{\"id\":" + nested + ",");
                }
                case 6 -> s = s.substring(0, random.nextInt(s.length() + 1));
                case 7 -> {
                    String[] around = {" ", "\ufeff", "/* */", "// c\n", "'", "]", "}", "{}", ",", "\u0000", "\t\r\n", "nul"};
                    String a = around[random.nextInt(around.length)];
                    s = random.nextBoolean() ? a + s : s + a;
                }
                default -> {
                    return invalidUtf8(s.getBytes(StandardCharsets.UTF_8));
                }
            }
        }
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private String replaceNumber(String s, String token) {
        int from = random.nextInt(s.length() + 1);
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if ((Character.isDigit(c) || c == '-') && i > 0 && (s.charAt(i - 1) == '[' || s.charAt(i - 1) == ','
                    || s.charAt(i - 1) == ':')) {
                int end = i + 1;
                while (end < s.length() && "0123456789.eE+-".indexOf(s.charAt(end)) >= 0) {
                    end++;
                }
                return s.substring(0, i) + token + s.substring(end);
            }
        }
        return s;
    }

    private String insert(String s, String what) {
        int at = random.nextInt(s.length() + 1);
        return s.substring(0, at) + what + s.substring(at);
    }

    private String insertInString(String s, String escape) {
        int quote = s.indexOf('"', random.nextInt(s.length()));
        return quote < 0 ? s : s.substring(0, quote + 1) + escape + s.substring(quote + 1);
    }

    /** Bytes no UTF-8 decoder accepts: a lone continuation byte, an overlong '/', a surrogate, 0xFF, a cut sequence. */
    private byte[] invalidUtf8(byte[] body) {
        byte[][] bad = {{(byte) 0x80}, {(byte) 0xc0, (byte) 0xaf}, {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, {(byte) 0xff},
            {(byte) 0xe2, (byte) 0x82}, {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80}};
        byte[] b = bad[random.nextInt(bad.length)];
        // inside a string, where a decoder must look at it
        int at = Math.max(0, indexOf(body, (byte) '"', random.nextInt(body.length + 1)) + 1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(body, 0, at);
        out.writeBytes(b);
        out.write(body, at, body.length - at);
        return out.toByteArray();
    }

    private static int indexOf(byte[] b, byte value, int from) {
        for (int i = from; i < b.length; i++) {
            if (b[i] == value) {
                return i;
            }
        }
        return -1;
    }

    /** Requests built to size: a large valid batch, many tensors, long strings. */
    private byte[] special() {
        switch (random.nextInt(4)) {
            case 0, 1 -> {
                int rows = 1 + random.nextInt(random.nextBoolean() ? 20_000 : 100);
                StringBuilder s = new StringBuilder("{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[" + rows
                        + ",4],\"data\":[");
                boolean nested = random.nextBoolean();
                for (int r = 0; r < rows; r++) {
                    s.append(r == 0 ? "" : ",").append(nested ? "[" : "");
                    for (int c = 0; c < 4; c++) {
                        s.append(c == 0 ? "" : ",").append(random.nextInt(2000) - 1000).append('.').append(random.nextInt(100));
                    }
                    s.append(nested ? "]" : "");
                }
                return s.append("]}]}").toString().getBytes(StandardCharsets.UTF_8);
            }
            case 2 -> {
                // a name, an id and a datatype of tens of kilobytes
                String big = "\u00e9".repeat(10_000 + random.nextInt(30_000));
                return ("{\"id\":\"" + big + "\",\"inputs\":[{\"name\":\"" + (random.nextBoolean() ? "input" : big)
                        + "\",\"shape\":[1,4],\"datatype\":\"" + (random.nextBoolean() ? "FP32" : big) + "\",\"data\":[1,2,3,4]}]}")
                        .getBytes(StandardCharsets.UTF_8);
            }
            default -> {
                // thousands of outputs asked for, or of parameters
                StringBuilder s = new StringBuilder("{\"inputs\":[{\"name\":\"input\",\"shape\":[1,4],\"datatype\":\"FP32\","
                        + "\"data\":[1,2,3,4]}],\"" + (random.nextBoolean() ? "outputs\":[" : "parameters\":[") );
                for (int i = 5000 + random.nextInt(5000); i > 0; i--) {
                    s.append("{\"name\":\"probabilities\"},");
                }
                return s.append("{\"name\":\"probabilities\"}]}").toString().getBytes(StandardCharsets.UTF_8);
            }
        }
    }

    private static byte[] serialize(JsonNode node) {
        try {
            return WRITER.writeValueAsBytes(node);
        } catch (IOException e) {
            // a lone surrogate, which UTF-8 cannot carry: written as an escape, for the server's parser to judge
            try {
                return WRITER.writer().with(JsonWriteFeature.ESCAPE_NON_ASCII).writeValueAsBytes(node);
            } catch (IOException again) {
                throw new UncheckedIOException(again);
            }
        }
    }
}
