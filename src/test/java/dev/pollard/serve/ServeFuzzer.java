package dev.pollard.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pollard.testing.TinyOnnx;
import dev.pollard.testing.Waits;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Fuzzes a real {@link ModelServer}, serving {@link TinyOnnx} with the defaults of {@code pollard serve}, in this JVM:
 * infer request bodies ({@link InferBodyMutator}) and request lines, paths and methods of every route
 * ({@link RequestLineMutator}), from a fixed seed, one request at a time over its own connection. Each request ends in
 * an answer, counted by status class, or otherwise: no answer (the connection closed, or nothing within
 * {@link Waits#REACTION}), a 5xx the server does not document (it documents 503 when saturated, 504 on inference
 * timeout), an answer of ours whose body is not the documented JSON, an error the server logged or a thread it lost,
 * or an OutOfMemoryError. After the run the server must still be live and ready, infer, hold no admission, and its
 * /metrics must be well-formed and bounded by its routes and status codes, whatever paths were requested. Meant for a
 * JVM of its own with a small heap (-Xmx256m): ServeFuzzTest runs a short form in the test suite, bench/serve-fuzz.sh
 * the long one.
 *
 * <p>Usage: {@code ServeFuzzer INPUTS_PER_KIND SEED [DIR_FOR_FAILING_INPUTS]}; exits 1 when any input did not end in a
 * documented answer, or the server is not well after the run.
 */
public final class ServeFuzzer {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int EXAMPLES = 3;
    /**
     * Failures after which a kind stops: a request without an answer waits for the server's idle timeout, so a crash that
     * many inputs reach would otherwise hold the run for hours; the row then shows fewer inputs than asked for.
     */
    private static final int MAX_FAILURES = 20;
    /** Status codes the server's own handler answers with: /metrics labels can take no other. */
    static final Set<Integer> SERVER_CODES = Set.of(200, 400, 404, 405, 408, 413, 503, 504);
    /** A sample line of the Prometheus text format, as MetricsExpositionTest checks it. */
    private static final Pattern SAMPLE = Pattern.compile(
            "[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\\n]|\\\\[\\\\\"n])*\",?)*})? \\S+");
    private static final Pattern COMMENT = Pattern.compile("# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* "
            + "(counter|gauge|histogram|summary|untyped))");
    private static final Pattern REQUEST_SERIES = Pattern.compile("pollard_http_requests_total\\{.*,route=\"([^\"]*)\",code=\"(\\d+)\"} .*");

    private static long maxHeapUsed;
    /** Errors the server logged, and exceptions that ended one of its threads. */
    private static final List<Throwable> SERVER_FAILURES = Collections.synchronizedList(new ArrayList<>());

    private ServeFuzzer() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: ServeFuzzer INPUTS_PER_KIND SEED [DIR_FOR_FAILING_INPUTS]");
            System.exit(2);
        }
        int inputs = Integer.parseInt(args[0]);
        long seed = Long.parseLong(args[1]);
        Path failDir = args.length > 2 ? Path.of(args[2]) : null;
        watchServerFailures();
        String xmx = ManagementFactory.getRuntimeMXBean().getInputArguments().stream().filter(a -> a.startsWith("-Xmx"))
                .reduce((a, b) -> b).orElse("no -Xmx");
        System.out.printf("ServeFuzzer: seed %d, %d inputs per kind, heap %s, Runtime.maxMemory() %d MiB%n", seed, inputs, xmx,
                Runtime.getRuntime().maxMemory() >> 20);
        Path work = Files.createTempDirectory("pollard-serve-fuzz");
        Path model = TinyOnnx.write(work.resolve("tiny.onnx"));
        boolean clean = true;
        try (ModelServer server = Serving.loaded(model, "tiny", ServerSettings.loopback(), null)) {
            int port = server.port();
            System.out.printf("%-5s %7s %7s %7s %7s %5s %5s %5s %9s %8s %6s %5s %8s%n", "kind", "inputs", "2xx", "4xx", "501-ver",
                    "503", "504", "5xx", "no-answer", "bad-body", "logged", "OOMs", "seconds");
            InferBodyMutator bodies = new InferBodyMutator(new Random(seed * 31));
            Tally body = run("body", inputs, port, failDir, i -> {
                byte[] b = bodies.mutate();
                String path = i % 4 == 3 ? "/v2/models/tiny/versions/1/infer" : "/v2/models/tiny/infer";
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                out.writeBytes(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nContent-Type: application/json\r\n"
                        + "Content-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                out.writeBytes(b);
                return new RequestLineMutator.Request(out.toByteArray(), "POST", path);
            });
            RequestLineMutator lines = new RequestLineMutator(new Random(seed * 31 + 1), port);
            Tally path = run("path", inputs, port, failDir, i -> lines.mutate());
            clean = body.clean() && path.clean();
            clean &= after(port, path);
        }
        // errors logged after the answer to the input that caused them, or while the server stopped
        System.out.println("errors the server logged in all: " + SERVER_FAILURES.size());
        clean &= SERVER_FAILURES.isEmpty();
        System.out.printf("heap: at most %d MiB used when sampled after each request, of %d MiB%n", maxHeapUsed >> 20,
                Runtime.getRuntime().maxMemory() >> 20);
        deleteTree(work);
        System.out.println(clean ? "clean" : "NOT CLEAN");
        System.exit(clean ? 0 : 1);
    }

    /** What one kind of request got. */
    private static final class Tally {
        final String kind;
        int ok;
        int clientErrors;
        int unsupportedVersion;
        int saturated;
        int timedOut;
        int serverErrors;
        int noAnswer;
        int badBodies;
        int logged;
        int ooms;
        double seconds;
        final Map<Integer, Integer> codes = new TreeMap<>();
        final Map<String, Integer> reasons = new TreeMap<>();
        final Set<String> distinctPaths = new HashSet<>();
        final List<Integer> metricsBytes = new ArrayList<>();

        Tally(String kind) {
            this.kind = kind;
        }

        int failures() {
            return serverErrors + noAnswer + badBodies + logged + ooms;
        }

        boolean clean() {
            return failures() == 0;
        }
    }

    private interface Source {
        RequestLineMutator.Request next(int index) throws IOException;
    }

    private static Tally run(String kind, int inputs, int port, Path failDir, Source source) throws IOException {
        Tally tally = new Tally(kind);
        long start = System.nanoTime();
        int run = 0;
        for (int i = 0; i < inputs && tally.failures() < MAX_FAILURES; i++, run++) {
            RequestLineMutator.Request request = source.next(i);
            tally.distinctPaths.add(request.path());
            int loggedBefore = SERVER_FAILURES.size();
            Answer answer = exchange(port, request);
            maxHeapUsed = Math.max(maxHeapUsed, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
            String failure = null;
            if (answer.status < 0) {
                tally.noAnswer++;
                failure = "no answer: " + answer.problem;
            } else {
                tally.codes.merge(answer.status, 1, Integer::sum);
                if (answer.status < 300) {
                    tally.ok++;
                } else if (answer.status < 500) {
                    tally.clientErrors++;
                } else if (answer.status == 501 && !request.speaksHttp1()) {
                    tally.unsupportedVersion++;
                } else if (answer.status == 503) {
                    tally.saturated++;
                } else if (answer.status == 504) {
                    tally.timedOut++;
                } else {
                    tally.serverErrors++;
                    failure = "status " + answer.status + ": " + answer.body;
                }
                if (answer.status >= 400 && answer.status < 500) {
                    if (tally.reasons.merge(reason(answer), 1, Integer::sum) == 1 && Boolean.getBoolean("pollard.fuzz.verbose")) {
                        System.out.println("  first " + reason(answer) + ": " + answer.body);
                    }
                }
                String bad = failure == null ? badBody(request, answer) : null;
                if (bad != null) {
                    tally.badBodies++;
                    failure = bad;
                }
            }
            List<Throwable> logged = newFailures(loggedBefore);
            if (!logged.isEmpty()) {
                Throwable first = logged.get(0);
                if (logged.stream().anyMatch(ServeFuzzer::isOom)) {
                    tally.ooms++;
                } else {
                    tally.logged++;
                }
                failure = (failure == null ? "" : failure + "; ") + "the server logged " + first;
            }
            if (failure != null) {
                report(kind, i, request, failure, logged, tally.failures(), failDir);
            }
            if ((i + 1) % Math.max(1, inputs / 10) == 0 && kind.equals("path")) {
                tally.metricsBytes.add(scrape(port).length());
            }
        }
        tally.seconds = (System.nanoTime() - start) / 1e9;
        if (run < inputs) {
            System.out.printf("%s: stopped after %d failures, at input %d of %d%n", kind, tally.failures(), run, inputs);
        }
        System.out.printf("%-5s %7d %7d %7d %7d %5d %5d %5d %9d %8d %6d %5d %8.1f%n", kind, run, tally.ok, tally.clientErrors,
                tally.unsupportedVersion, tally.saturated, tally.timedOut, tally.serverErrors, tally.noAnswer, tally.badBodies, tally.logged, tally.ooms,
                tally.seconds);
        System.out.println("  " + kind + " status codes " + tally.codes);
        System.out.println("  " + kind + " 4xx by what they name " + tally.reasons);
        return tally;
    }

    /** What a 4xx answer names, without the details: the field or limit in an error of ours, else the status. */
    private static String reason(Answer answer) {
        try {
            String error = JSON.readTree(answer.body).path("error").asText("");
            Matcher field = Pattern.compile("^(request body[a-zA-Z ]*|[a-zA-Z\\[\\]_.]+(?=:)|no such endpoint|no model|model '[^']*' has no "
                    + "version|[A-Z]+ \\S* ?.*: use [A-Z]+|the request body has)").matcher(error);
            if (field.find()) {
                String name = field.group(1).replaceAll("^[A-Z]+ .*: use ", "use ");
                return name.replaceAll("\\[input]", "[]");
            }
        } catch (IOException | RuntimeException e) {
            // not an error of ours: Vert.x refused the request line
        }
        return String.valueOf(answer.status);
    }

    /**
     * What is wrong with an answer the server's handler gave (one whose Content-Type is JSON): every such answer is a JSON
     * object, an error is {"error": "..."} and nothing else; null when nothing is.
     */
    static String badBody(RequestLineMutator.Request request, Answer answer) {
        if (request.method().equals("HEAD") || !answer.contentType.startsWith("application/json")) {
            return null;
        }
        JsonNode body;
        try {
            body = JSON.readTree(answer.body);
        } catch (IOException e) {
            return "status " + answer.status + " with a body that is not JSON: " + answer.body;
        }
        if (body == null || !body.isObject()) {
            return "status " + answer.status + " with a body that is not a JSON object: " + answer.body;
        }
        boolean error = answer.status >= 300 && !(answer.status == 400 && body.has("ready"));
        if (error && (body.size() != 1 || !body.path("error").isTextual())) {
            return "status " + answer.status + " without the documented {\"error\": ...}: " + answer.body;
        }
        return null;
    }

    /** The server after the run: live, ready, inferring, no admission held, /metrics well-formed and bounded. */
    private static boolean after(int port, Tally path) throws IOException {
        boolean clean = true;
        Map<String, Integer> probes = new TreeMap<>();
        probes.put("live", get(port, "/v2/health/live").status);
        probes.put("ready", get(port, "/v2/health/ready").status);
        probes.put("model ready", get(port, "/v2/models/tiny/ready").status);
        String infer = InferBodyMutator.SEEDS.get(0);
        probes.put("infer", exchange(port, new RequestLineMutator.Request(("POST /v2/models/tiny/infer HTTP/1.1\r\nHost: x\r\n"
                + "Content-Length: " + infer.length() + "\r\n\r\n" + infer).getBytes(StandardCharsets.ISO_8859_1), "POST",
                "/v2/models/tiny/infer")).status);
        System.out.println("after the run: " + probes);
        clean &= probes.values().stream().allMatch(s -> s == 200);

        String metrics = scrape(port);
        List<String> malformed = metrics.lines().filter(l -> !(l.startsWith("#") ? COMMENT : SAMPLE).matcher(l).matches()).toList();
        Set<String> routes = new TreeSet<>();
        Set<Integer> codes = new TreeSet<>();
        int series = 0;
        long inFlight = -1;
        for (String line : metrics.lines().toList()) {
            Matcher m = REQUEST_SERIES.matcher(line);
            if (m.matches()) {
                series++;
                routes.add(m.group(1));
                codes.add(Integer.parseInt(m.group(2)));
            } else if (line.startsWith("pollard_inference_requests_in_flight{")) {
                inFlight = Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        Set<String> templates = new TreeSet<>();
        for (Route r : Route.values()) {
            templates.add(r.template);
        }
        // bounded by design: one series per route template and status code, never per path
        int bound = templates.size() * SERVER_CODES.size();
        boolean wellFormed = malformed.isEmpty() && templates.containsAll(routes) && SERVER_CODES.containsAll(codes);
        System.out.printf("metrics: %s, %d lines, %d bytes, %d request series (bound %d: %d routes x %d codes), routes %s, "
                + "codes %s; in flight %d; %d distinct paths requested; bytes at each tenth of the path run %s%n",
                wellFormed ? "well-formed" : "MALFORMED", metrics.lines().count(), metrics.length(), series, bound, templates.size(),
                SERVER_CODES.size(), routes, codes, inFlight, path.distinctPaths.size(), path.metricsBytes);
        malformed.stream().limit(EXAMPLES).forEach(l -> System.out.println("  malformed line: " + l));
        return clean && wellFormed && series <= bound && inFlight == 0;
    }

    private static String scrape(int port) throws IOException {
        Answer metrics = get(port, "/metrics");
        if (metrics.status != 200) {
            throw new IOException("/metrics answered " + metrics.status + " " + metrics.problem);
        }
        return metrics.body;
    }

    private static Answer get(int port, String path) {
        return exchange(port, new RequestLineMutator.Request(("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1), "GET", path));
    }

    /**
     * An answer: a status, or -1 with the problem when none came; the Content-Type and the body.
     */
    record Answer(int status, String contentType, String body, String problem) {
    }

    /**
     * Sends one request over a connection of its own and reads the first answer to it. It reads while it sends, as a
     * client should (RFC 9112, 9.5): the server may answer a body it refuses (413) before the body has been sent, and
     * stop reading it.
     */
    static Answer exchange(int port, RequestLineMutator.Request request) {
        AtomicReference<IOException> writeFailure = new AtomicReference<>();
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), (int) Waits.REACTION.toMillis());
            socket.setSoTimeout((int) Waits.REACTION.toMillis());
            Thread writer = new Thread(() -> {
                try {
                    socket.getOutputStream().write(request.bytes());
                    socket.getOutputStream().flush();
                } catch (IOException e) {
                    writeFailure.set(e); // the server stopped reading: its answer tells why, or its absence is the failure
                }
            }, "fuzz-request-writer");
            writer.setDaemon(true);
            writer.start();
            InputStream in = socket.getInputStream();
            while (true) {
                String status = line(in);
                if (status == null) {
                    return new Answer(-1, "", "", "the connection closed without an answer" + wroteOrNot(writeFailure));
                }
                // the version Vert.x answers with is the request's, whatever it was
                String[] parts = status.split(" ", 3);
                if (parts.length < 2 || !parts[1].matches("\\d{3}")) {
                    return new Answer(-1, "", "", "not a status line: " + status);
                }
                int code = Integer.parseInt(parts[1]);
                Map<String, String> headers = new TreeMap<>();
                for (String header = line(in); header != null && !header.isEmpty(); header = line(in)) {
                    int colon = header.indexOf(':');
                    if (colon > 0) {
                        headers.put(header.substring(0, colon).trim().toLowerCase(Locale.ROOT), header.substring(colon + 1).trim());
                    }
                }
                if (code / 100 == 1) {
                    continue; // 100 Continue: the answer follows
                }
                String contentType = headers.getOrDefault("content-type", "");
                byte[] body;
                if (request.method().equals("HEAD") || code == 204 || code == 304) {
                    body = new byte[0];
                } else if (headers.containsKey("content-length")) {
                    body = in.readNBytes(Integer.parseInt(headers.get("content-length")));
                } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
                    body = chunked(in);
                } else {
                    body = in.readAllBytes();
                }
                return new Answer(code, contentType, new String(body, StandardCharsets.UTF_8), null);
            }
        } catch (SocketTimeoutException e) {
            return new Answer(-1, "", "", "no answer within " + Waits.REACTION + wroteOrNot(writeFailure));
        } catch (IOException e) {
            return new Answer(-1, "", "", e + wroteOrNot(writeFailure));
        }
    }

    private static String wroteOrNot(AtomicReference<IOException> writeFailure) {
        IOException e = writeFailure.get();
        return e == null ? "" : " (sending the request failed: " + e + ")";
    }

    private static byte[] chunked(InputStream in) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (String size = line(in); size != null; size = line(in)) {
            int n = Integer.parseInt(size.split(";")[0].trim(), 16);
            if (n == 0) {
                line(in);
                break;
            }
            body.writeBytes(in.readNBytes(n));
            line(in);
        }
        return body.toByteArray();
    }

    /** A line without its CRLF, or null at the end of the stream before any byte of it. */
    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b == -1) {
                return line.size() == 0 ? null : line.toString(StandardCharsets.ISO_8859_1);
            }
            if (b != '\r') {
                line.write(b);
            }
        }
        return line.toString(StandardCharsets.ISO_8859_1);
    }

    /**
     * Errors the server logs (Vert.x and Netty through java.util.logging, at SEVERE, or with an Error attached) and
     * exceptions that end a thread, such as an inference thread.
     */
    private static void watchServerFailures() {
        System.setProperty("vertx.logger-delegate-factory-class-name", "io.vertx.core.logging.JULLogDelegateFactory");
        io.netty.util.internal.logging.InternalLoggerFactory.setDefaultFactory(io.netty.util.internal.logging.JdkLoggerFactory.INSTANCE);
        Logger.getLogger("").addHandler(new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (record.getLevel().intValue() >= Level.SEVERE.intValue() || record.getThrown() instanceof Error) {
                    Throwable thrown = record.getThrown();
                    SERVER_FAILURES.add(thrown != null ? thrown : new IllegalStateException(record.getLoggerName() + ": "
                            + record.getMessage()));
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        });
        Thread.setDefaultUncaughtExceptionHandler((thread, e) -> SERVER_FAILURES.add(e));
    }

    private static List<Throwable> newFailures(int before) {
        synchronized (SERVER_FAILURES) {
            return new ArrayList<>(SERVER_FAILURES.subList(before, SERVER_FAILURES.size()));
        }
    }

    private static boolean isOom(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof OutOfMemoryError) {
                return true;
            }
        }
        return false;
    }


    private static void report(String kind, int index, RequestLineMutator.Request request, String failure, List<Throwable> logged,
            int count, Path failDir) throws IOException {
        if (count <= EXAMPLES) {
            String shown = new String(request.bytes(), StandardCharsets.ISO_8859_1);
            System.out.println(kind + " input " + index + ": " + failure);
            System.out.println("    request " + JSON.writeValueAsString(shown.length() > 300 ? shown.substring(0, 300) + "..." : shown));
            for (Throwable t : logged) {
                StackTraceElement[] stack = t.getStackTrace();
                for (int f = 0; f < Math.min(4, stack.length); f++) {
                    System.out.println("    at " + stack[f]);
                }
            }
        }
        if (failDir != null) {
            Files.createDirectories(failDir);
            Files.write(failDir.resolve(kind + "-" + index + ".http"), request.bytes());
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
