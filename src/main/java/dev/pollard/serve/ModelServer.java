package dev.pollard.serve;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pollard.energy.EnergyCounter;
import dev.pollard.serve.OnnxModel.BadRequest;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A model server for one ONNX model over ONNX Runtime, speaking the Open Inference Protocol (KServe v2) REST API:
 * {@code /v2}, {@code /v2/health/live|ready}, {@code /v2/models/NAME[/versions/1][/ready]}, {@code POST
 * /v2/models/NAME[/versions/1]/infer}, and Prometheus metrics at {@code /metrics}. Independent of Quarkus' HTTP stack,
 * so the same jar serves in any pod. It listens from {@link #start()}, live but not ready, and is ready once
 * {@link #load} has loaded and verified the model.
 *
 * <p>One Vert.x event loop reads every request without ever waiting on a client, and answers health, metadata and
 * metrics itself; inferences run on a pool of their own. So a slow client or a long inference never holds up a health
 * check. An infer request is admitted when its headers arrive, or refused with 503 when the inference threads and the
 * queue are full: admission bounds the queue and the memory of bodies. Its body must arrive within the request timeout
 * (408) and fit the size cap (413); its inference must end within the inference timeout (504), which stops the run.
 */
public final class ModelServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The jar's version, as {@code pollard --version} prints it. */
    private static final String SERVER_VERSION = java.util.Objects.requireNonNullElse(
            ModelServer.class.getPackage().getImplementationVersion(), "development build");

    private final String name;
    private final ServerSettings settings;
    private volatile OnnxModel model; // null until loaded and verified
    private final Metrics metrics;
    /** Infer requests admitted: receiving their body, waiting for an inference thread or running. */
    private final Semaphore admissions;
    /** Deadlines of inferences waiting or running, to stop them on close. */
    private final Set<Deadline> inferences = ConcurrentHashMap.newKeySet();
    // fixed threads; its queue is bounded by the admissions, which are taken before anything is queued
    private final ExecutorService inferencePool;
    private final Vertx vertx;
    private final HttpServer http;

    /**
     * @param labels labels of every metric series that tell this server from others (see {@link Metrics})
     * @param energy the accelerator's meter, or null
     */
    public ModelServer(String name, ServerSettings settings, Map<String, String> labels, EnergyCounter energy) {
        this.name = name;
        this.settings = settings;
        this.admissions = new Semaphore(settings.admissions());
        this.metrics = new Metrics(name, labels, energy, () -> settings.admissions() - admissions.availablePermits());
        AtomicInteger threads = new AtomicInteger();
        this.inferencePool = Executors.newFixedThreadPool(settings.inferenceThreads(), task -> {
            Thread t = new Thread(task, "inference-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        // one event loop is enough: it never blocks, on clients or on inferences
        this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1).setInternalBlockingPoolSize(1));
        // a connection silent for longer than a request may legitimately take (body, then inference) is dropped
        long idleMillis = settings.requestTimeout().toMillis() + settings.inferenceTimeout().toMillis();
        this.http = vertx.createHttpServer(new HttpServerOptions().setHost(settings.host()).setPort(settings.port())
                .setHttp2ClearTextEnabled(false)
                .setIdleTimeoutUnit(TimeUnit.MILLISECONDS).setIdleTimeout((int) Math.min(Integer.MAX_VALUE, idleMillis)))
                .requestHandler(this::handle);
    }

    public ModelServer start() throws IOException, InterruptedException {
        try {
            await(http.listen());
        } catch (ExecutionException e) {
            throw new IOException("cannot listen on " + settings.host() + ":" + settings.port() + ": " + e.getCause().getMessage(),
                    e.getCause());
        }
        return this;
    }

    public int port() {
        return http.actualPort();
    }

    /**
     * Loads the model and verifies it (see {@link OnnxModel#load}); from then on the server is ready.
     *
     * @param expectedSha256 the sha256 the file must have, or null to serve whatever it is
     */
    public synchronized void load(Path file, String expectedSha256) throws OnnxModel.Refused {
        if (model != null) {
            throw new IllegalStateException("model '" + name + "' is loaded already; a server serves one model");
        }
        OnnxModel loaded = OnnxModel.load(file, name, expectedSha256, settings.intraOpThreads());
        metrics.modelLoaded(loaded.sha256());
        model = loaded;
    }

    private void handle(HttpServerRequest request) {
        String path = request.path();
        Route.Match match = Route.match(path);
        Route route = match.route();
        if (route == Route.OTHER) {
            send(request, route, error(404, "no such endpoint: " + path), false);
        } else if (match.model() != null && !match.model().equals(name)) {
            send(request, Route.OTHER, error(404, "no model '" + match.model() + "': this server serves '" + name + "'"), false);
        } else if (match.version() != null && !match.version().equals(OnnxModel.VERSION)) {
            send(request, Route.OTHER, error(404, "model '" + name + "' has no version '" + match.version() + "' (versions: "
                    + OnnxModel.VERSION + ")"), false);
        } else if (!request.method().name().equals(route.method)) {
            send(request, route, error(405, request.method().name() + " " + path + ": use " + route.method), false);
        } else if (route.infers()) {
            OnnxModel loaded = model;
            if (loaded == null) {
                send(request, route, notLoaded(), false);
            } else {
                admit(request, route, loaded);
            }
        } else {
            send(request, route, answer(route), false);
        }
    }

    /** The answer to any request but infer: each is quick and never waits, so the event loop gives it. */
    private Reply answer(Route route) {
        OnnxModel loaded = model;
        // not ready: 4xx, which the protocol gives for false, and which fails a Kubernetes readiness probe
        int readyCode = loaded != null ? 200 : 400;
        return switch (route) {
            case SERVER_LIVE -> json(200, JSON.createObjectNode().put("live", true));
            case SERVER_READY -> json(readyCode, JSON.createObjectNode().put("ready", loaded != null));
            case MODEL_READY, VERSION_READY -> json(readyCode, JSON.createObjectNode().put("name", name).put("ready", loaded != null));
            case SERVER_METADATA -> {
                ObjectNode server = JSON.createObjectNode().put("name", "pollard").put("version", SERVER_VERSION);
                server.putArray("extensions"); // none
                yield json(200, server);
            }
            case MODEL_METADATA, VERSION_METADATA -> loaded != null ? json(200, loaded.metadata()) : notLoaded();
            case METRICS -> new Reply(200, "text/plain; version=0.0.4; charset=utf-8", metrics.render());
            default -> throw new IllegalArgumentException(route + " is answered elsewhere");
        };
    }

    private Reply notLoaded() {
        return error(503, "model '" + name + "' is not loaded yet; /v2/health/ready answers 200 once it is");
    }

    /** Admits an infer request, or refuses it at once when its announced body is too large or no admission is left. */
    private void admit(HttpServerRequest request, Route route, OnnxModel loaded) {
        long announced;
        try {
            String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
            announced = length == null ? -1 : Long.parseLong(length);
        } catch (NumberFormatException e) {
            send(request, route, error(400, "Content-Length: not a number"), true);
            return;
        }
        if (announced > settings.maxBodyBytes()) {
            send(request, route, error(413, "the request body has " + announced + " bytes, more than the "
                    + settings.maxBodyBytes() + " this server accepts (--max-body-bytes)"), true);
            return;
        }
        if (!admissions.tryAcquire()) {
            send(request, route, error(503, "the server is saturated: " + settings.admissions() + " inference requests are "
                    + "running or waiting (--inference-threads " + settings.inferenceThreads() + " plus --inference-queue "
                    + settings.inferenceQueue() + "); retry later"), false);
            return;
        }
        new InferenceCall(request, route, loaded, announced).receive();
    }

    /**
     * One admitted infer request, from its headers to its answer. Everything but {@link #run} happens on the event
     * loop, so its state needs no locks; the admission is released exactly once, when nothing of it runs any more.
     */
    private final class InferenceCall {
        private final HttpServerRequest request;
        private final Route route;
        private final OnnxModel model;
        private final long announced;
        private final Context eventLoop = Vertx.currentContext();
        private final Buffer body = Buffer.buffer();
        private final Deadline deadline = new Deadline();
        private final AtomicBoolean admitted = new AtomicBoolean(true);
        private boolean receiving = true;
        private boolean answered;
        private long timer;

        InferenceCall(HttpServerRequest request, Route route, OnnxModel model, long announced) {
            this.request = request;
            this.route = route;
            this.model = model;
            this.announced = announced;
        }

        void receive() {
            request.handler(this::append).endHandler(v -> received()).exceptionHandler(e -> abandoned());
            request.response().closeHandler(v -> abandoned());
            timer = vertx.setTimer(settings.requestTimeout().toMillis(), id -> receivingTimedOut());
            if ("100-continue".equalsIgnoreCase(request.getHeader(HttpHeaders.EXPECT))) {
                request.response().writeContinue();
            }
        }

        private void append(Buffer chunk) {
            if (!receiving) {
                return;
            }
            if ((long) body.length() + chunk.length() > settings.maxBodyBytes()) {
                stopReceiving();
                answer(error(413, "the request body has more than the " + settings.maxBodyBytes()
                        + " bytes this server accepts (--max-body-bytes)"), true);
                return;
            }
            body.appendBuffer(chunk);
        }

        private void receivingTimedOut() {
            if (!receiving) {
                return;
            }
            stopReceiving();
            answer(error(408, "the request body did not arrive within " + seconds(settings.requestTimeout().toMillis())
                    + " (--request-timeout-seconds): " + body.length() + (announced >= 0 ? " of " + announced : "")
                    + " bytes received"), true);
        }

        /** Ends the receiving of a body that will not be inferred: its admission goes back. */
        private void stopReceiving() {
            receiving = false;
            vertx.cancelTimer(timer);
            release();
        }

        private void received() {
            if (!receiving) {
                return;
            }
            receiving = false;
            vertx.cancelTimer(timer);
            byte[] bytes = body.getBytes();
            inferences.add(deadline);
            timer = vertx.setTimer(settings.inferenceTimeout().toMillis(), id -> inferenceTimedOut());
            inferencePool.execute(() -> run(bytes));
        }

        /** On an inference thread: parses and runs, unless the deadline passed while it waited. */
        private void run(byte[] bytes) {
            Reply reply = null;
            try (OrtSession.RunOptions options = new OrtSession.RunOptions()) {
                if (deadline.begin(options)) {
                    try {
                        OnnxModel.Inferred inferred = model.infer(parse(bytes), options);
                        metrics.inference(inferred.samples(), inferred.seconds());
                        reply = json(200, inferred.response());
                    } finally {
                        deadline.end();
                    }
                }
            } catch (BadRequest e) {
                reply = error(400, e.getMessage());
            } catch (OrtException | RuntimeException e) {
                // a run stopped by its deadline has had its answer already
                reply = deadline.expired() ? null : error(500, "inference failed: " + e.getMessage());
            } finally {
                inferences.remove(deadline);
                release();
            }
            if (reply != null) {
                Reply answer = reply;
                eventLoop.runOnContext(v -> answer(answer, false));
            }
        }

        private void inferenceTimedOut() {
            deadline.expire();
            answer(error(504, "the inference did not finish within " + seconds(settings.inferenceTimeout().toMillis())
                    + " (--inference-timeout-seconds) and was stopped"), false);
        }

        /** The client went away: a body is no longer awaited, an inference no longer needed. */
        private void abandoned() {
            if (receiving) {
                stopReceiving();
            } else {
                deadline.expire();
            }
            answered = true;
        }

        private void answer(Reply reply, boolean closeConnection) {
            if (!answered) {
                answered = true;
                vertx.cancelTimer(timer);
                send(request, route, reply, closeConnection);
            }
        }

        private void release() {
            if (admitted.compareAndSet(true, false)) {
                admissions.release();
            }
        }
    }

    /** An admitted inference's time limit: a run that has not begun is skipped, one under way is stopped. */
    private static final class Deadline {
        private OrtSession.RunOptions running;
        private boolean expired;
        private boolean ended;

        synchronized boolean begin(OrtSession.RunOptions options) {
            running = expired ? null : options;
            return !expired;
        }

        synchronized void end() {
            running = null;
            ended = true;
        }

        synchronized boolean expired() {
            return expired;
        }

        synchronized void expire() {
            if (ended) {
                return;
            }
            expired = true;
            if (running != null) {
                try {
                    running.setTerminate(true); // ONNX Runtime checks it between operators and stops the run
                } catch (OrtException e) {
                    throw new IllegalStateException("ONNX Runtime refused to stop a run: " + e.getMessage(), e);
                }
            }
        }
    }

    private static JsonNode parse(byte[] body) {
        try {
            JsonNode request = JSON.readTree(body);
            if (request.isMissingNode()) {
                throw new BadRequest("request body is empty: an inference request, a JSON object, is expected");
            }
            return request;
        } catch (JsonProcessingException e) {
            throw new BadRequest("request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new BadRequest("request body could not be read: " + e.getMessage());
        }
    }

    private void send(HttpServerRequest request, Route route, Reply reply, boolean closeConnection) {
        metrics.request(route.template, reply.code);
        HttpServerResponse response = request.response();
        if (response.ended() || response.closed()) {
            return;
        }
        response.setStatusCode(reply.code).putHeader(HttpHeaders.CONTENT_TYPE, reply.contentType);
        if (reply.code == 503) {
            response.putHeader("Retry-After", "1");
        } else if (reply.code == 405) {
            response.putHeader("Allow", route.method);
        }
        if (closeConnection) {
            // the rest of the body is not read: the connection cannot carry another request
            response.putHeader(HttpHeaders.CONNECTION, "close");
        }
        response.end(reply.body).onComplete(sent -> {
            if (closeConnection) {
                request.connection().close();
            }
        });
    }

    private static String seconds(long millis) {
        return millis % 1000 == 0 ? millis / 1000 + " s" : millis / 1000.0 + " s";
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
    public void close() {
        boolean runsStopped = false;
        try {
            await(http.close());
            inferences.forEach(Deadline::expire);
            inferencePool.shutdown();
            runsStopped = inferencePool.awaitTermination(settings.inferenceTimeout().toMillis(), TimeUnit.MILLISECONDS);
            await(vertx.close());
        } catch (ExecutionException e) {
            throw new IllegalStateException("the HTTP server did not stop: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (runsStopped && model != null) {
                model.close(); // a run that ignored its stop still uses the session: the process's exit frees it
            }
        }
    }

    /** Waits for a Vert.x operation that completes in milliseconds unless something is badly wrong. */
    private static <T> T await(Future<T> future) throws ExecutionException, InterruptedException {
        try {
            return future.toCompletionStage().toCompletableFuture().get(1, TimeUnit.MINUTES);
        } catch (TimeoutException e) {
            throw new ExecutionException(new IOException("no answer from Vert.x within a minute"));
        }
    }

    private record Reply(int code, String contentType, String body) {
    }
}
