package dev.pollard.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.pollard.api.RunSummary;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.math.MathContext;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Serves the run's progress at {@code GET /progress} for the operator to poll: the worker needs no API credentials to
 * report how far it is.
 */
public final class ProgressServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpServer server;
    private final AtomicReference<RunSummary.Progress> current = new AtomicReference<>(new RunSummary.Progress());

    private ProgressServer(HttpServer server) {
        this.server = server;
    }

    /** @param address host:port to listen on */
    public static ProgressServer start(String address) throws IOException {
        int colon = address.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("--progress-address: '" + address + "' is not host:port");
        }
        HttpServer server = HttpServer.create(
                new InetSocketAddress(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1))), 8);
        ProgressServer progress = new ProgressServer(server);
        server.createContext("/progress", progress::respond);
        server.start();
        return progress;
    }

    /** One GET /progress: the latest progress as JSON. */
    private void respond(HttpExchange exchange) throws IOException {
        byte[] body = JSON.writeValueAsString(current.get()).getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    public void update(String phase, Integer iteration, Double joulesPerInference, Double accuracy) {
        RunSummary.Progress p = new RunSummary.Progress();
        p.phase = phase;
        p.iteration = iteration;
        // progress is for people watching `kubectl get pj`: four significant digits; the report keeps full precision
        p.joulesPerInference = significant(joulesPerInference);
        p.accuracy = significant(accuracy);
        current.set(p);
    }

    private static Double significant(Double value) {
        // not a conditional expression: mixing Double and double there unboxes a null
        if (value == null || !Double.isFinite(value)) {
            return null; // NaN or Infinity is no progress to show (and no JSON number)
        }
        if (value == 0) {
            return value;
        }
        return new BigDecimal(value).round(new MathContext(4)).doubleValue();
    }

    /** The port it listens on, which the system chose when the address asked for port 0. */
    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
