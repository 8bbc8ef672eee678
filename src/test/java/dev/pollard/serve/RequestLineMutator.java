package dev.pollard.serve;

import dev.pollard.data.Mutator;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Seeded mutations of requests to every route of the protocol for the model {@code tiny}, version 1: their path
 * (percent-encoding, dot segments, empty and overlong segments, control characters, bytes outside ASCII, queries and
 * fragments, other models and versions, the byte mutations of {@link Mutator}), their method (every verb, lower case,
 * unknown and overlong ones) and now and then the request-target's form and the protocol version. Each request is
 * complete: it ends its headers and carries exactly the body its Content-Length announces, so the server has all it
 * needs to answer.
 */
final class RequestLineMutator {
    static final List<String> ROUTES = List.of("/v2", "/v2/", "/v2/health/live", "/v2/health/ready", "/v2/models/tiny",
            "/v2/models/tiny/ready", "/v2/models/tiny/infer", "/v2/models/tiny/versions/1", "/v2/models/tiny/versions/1/ready",
            "/v2/models/tiny/versions/1/infer", "/metrics");
    private static final List<byte[]> ROUTE_BYTES = ROUTES.stream().map(r -> r.getBytes(StandardCharsets.ISO_8859_1)).toList();
    private static final String[] METHODS = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "CONNECT", "get",
        "Post", "PRI", "FOO", "M-SEARCH", "G\u0000T", "GET\t", "X".repeat(100), "X".repeat(5000), "\u00c9T\u00c9"};
    private static final String[] SEGMENTS = {"", ".", "..", "...", "%2e", "%2E%2e", "%2f", "%2F", "%5c", "%00", "%", "%2", "%zz",
        "%C0%AF", "%u002e", "tiny", "TINY", "tiny%00", "tiny%2f..", "t%69ny", "other", "1", "01", "0", "2", "-1", "%31",
        "1%20", "99999999999999999999", "versions", "ready", "infer", "explain", "metadata", "\u00e9", "\u2028",
        "\u0000", "\u0001", "\u007f", "\t", " ", "\\", ";", ";a=b", "?", "?a=b&c", "#frag", "*", "~", "@", ":", "//"};
    private static final String[] VERSIONS = {"HTTP/1.0", "HTTP/1.2", "HTTP/2.0", "HTTP/0.9", "http/1.1", "HTTP/1.1 x", "HTTP/11",
        "HTTP/1.1\u0000", "HTTPS/1.1", ""};
    private static final String VALID_BODY = InferBodyMutator.SEEDS.get(0);

    private final Random random;
    private final Mutator bytes;
    private final int port;

    RequestLineMutator(Random random, int port) {
        this.random = random;
        this.bytes = new Mutator(random);
        this.port = port;
    }

    /**
     * One request: its bytes; its method, path and protocol version as sent (a HEAD answer has no body to read, and an
     * HTTP version other than 1.0 and 1.1 gets 501 from Vert.x).
     */
    record Request(byte[] bytes, String method, String path, String version) {
        Request(byte[] bytes, String method, String path) {
            this(bytes, method, path, "HTTP/1.1");
        }

        boolean speaksHttp1() {
            return version.equals("HTTP/1.1") || version.equals("HTTP/1.0");
        }
    }

    Request mutate() {
        int route = random.nextInt(ROUTES.size());
        String path = random.nextInt(10) == 0 ? new String(bytes.mutate(ROUTE_BYTES.get(route), ROUTE_BYTES),
                StandardCharsets.ISO_8859_1) : ROUTES.get(route);
        for (int round = random.nextInt(4); round > 0; round--) {
            path = mutatePath(path);
        }
        boolean infers = path.endsWith("/infer");
        String method = switch (random.nextInt(10)) {
            case 0, 1, 2, 3, 4 -> infers ? "POST" : "GET";
            case 5 -> infers ? "GET" : "POST";
            default -> METHODS[random.nextInt(METHODS.length)];
        };
        String target = switch (random.nextInt(40)) {
            case 0 -> "http://127.0.0.1:" + port + path;
            case 1 -> "*";
            case 2 -> "127.0.0.1:" + port;
            case 3 -> path.replaceFirst("^/", "");
            default -> path;
        };
        String version = random.nextInt(20) == 0 ? VERSIONS[random.nextInt(VERSIONS.length)] : "HTTP/1.1";
        String body = "";
        if (method.equals("POST") || random.nextInt(10) == 0) {
            body = random.nextInt(4) == 0 ? "{" : VALID_BODY;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes((method + " " + target + (version.isEmpty() ? "" : " " + version) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(("Host: 127.0.0.1:" + port + "\r\nContent-Length: " + body.length() + "\r\n\r\n" + body)
                .getBytes(StandardCharsets.ISO_8859_1));
        return new Request(out.toByteArray(), method, path, version);
    }

    private String mutatePath(String path) {
        List<Integer> slashes = new ArrayList<>();
        for (int i = 0; i < path.length(); i++) {
            if (path.charAt(i) == '/') {
                slashes.add(i);
            }
        }
        int at = slashes.isEmpty() || random.nextInt(4) == 0 ? random.nextInt(path.length() + 1)
                : slashes.get(random.nextInt(slashes.size()));
        return switch (random.nextInt(12)) {
            // a segment inserted or put in place of the next one
            case 0, 1 -> path.substring(0, at) + "/" + SEGMENTS[random.nextInt(SEGMENTS.length)] + path.substring(at);
            case 2 -> {
                int end = path.indexOf('/', at + 1);
                yield path.substring(0, Math.min(at + 1, path.length())) + SEGMENTS[random.nextInt(SEGMENTS.length)]
                        + (end < 0 ? "" : path.substring(end));
            }
            // a character percent-encoded, as it should be or in lower case
            case 3 -> {
                if (path.isEmpty() || at >= path.length()) {
                    yield path + "%";
                }
                String hex = String.format("%%%02X", (int) path.charAt(at) & 0xff);
                yield path.substring(0, at) + (random.nextBoolean() ? hex : hex.toLowerCase(Locale.ROOT)) + path.substring(at + 1);
            }
            // dot segments that climb back to the route, or past the root
            case 4 -> random.nextBoolean() ? "/v2/models/../.." + path : path.replace("/v2/", "/v2/./x/../");
            // an overlong segment, under and over the 4096 bytes of a request line the server reads
            case 5 -> {
                int[] lengths = {255, 256, 1024, 4000, 4096, 8192, 70_000};
                yield path.substring(0, at) + "/" + "a".repeat(lengths[random.nextInt(lengths.length)]) + path.substring(at);
            }
            // a control character, raw
            case 6 -> path.substring(0, at) + (char) random.nextInt(0x20) + path.substring(at);
            // a byte outside ASCII, raw (sent as ISO-8859-1), or a UTF-8 sequence
            case 7 -> path.substring(0, at) + (random.nextBoolean() ? String.valueOf((char) (0x80 + random.nextInt(0x80)))
                    : new String("\u00e9\u2028".getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1)) + path.substring(at);
            case 8 -> path.replace("/", random.nextBoolean() ? "//" : "\\");
            case 9 -> path.toUpperCase(Locale.ROOT);
            case 10 -> path + (random.nextBoolean() ? "/" : "?" + SEGMENTS[random.nextInt(SEGMENTS.length)]);
            default -> path.replace("tiny", SEGMENTS[random.nextInt(SEGMENTS.length)])
                    .replace("/1", "/" + SEGMENTS[random.nextInt(SEGMENTS.length)]);
        };
    }
}
