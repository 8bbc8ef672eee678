package dev.pollard.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fetching over https from a server in this process, which only the test-only loopback allowance lets RemoteFiles reach. */
class RemoteFilesTest {
    /** The environment of every fetch here: the test's server is on 127.0.0.1. */
    private static final Map<String, String> LOOPBACK = Map.of(RemoteFiles.ALLOW_LOOPBACK_VARIABLE, "true");
    private static final byte[] MODEL = "not really onnx, but bytes all the same".getBytes(StandardCharsets.UTF_8);
    private HttpServer server;
    private final AtomicReference<String> seenAuthorization = new AtomicReference<>();

    @TempDir
    Path dir;

    @BeforeEach
    void start() throws Exception {
        server = TestTls.server();
        server.createContext("/private/model.onnx", exchange -> {
            String auth = exchange.getRequestHeaders().getFirst("Authorization");
            seenAuthorization.set(auth);
            boolean allowed = "Bearer s3cret".equals(auth);
            exchange.sendResponseHeaders(allowed ? 200 : 401, allowed ? MODEL.length : -1);
            try (OutputStream out = exchange.getResponseBody()) {
                if (allowed) {
                    out.write(MODEL);
                }
            }
        });
        server.createContext("/moved/model.onnx", exchange -> {
            exchange.getResponseHeaders().add("Location", "/private/model.onnx");
            exchange.sendResponseHeaders(302, -1);
            exchange.close();
        });
        server.createContext("/broken", exchange -> {
            exchange.sendResponseHeaders(503, -1);
            exchange.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private String url(String path) {
        return "https://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    private Path fetch(String path, String role, Map<String, String> env) throws Exception {
        Map<String, String> withLoopback = new java.util.HashMap<>(env);
        withLoopback.putAll(LOOPBACK);
        return RemoteFiles.localCopy(url(path), role, dir, withLoopback, TestTls.context());
    }

    @Test
    void aLocalPathIsUsedAsItIs() throws Exception {
        assertThat(RemoteFiles.localCopy("/pollard/model/a.onnx", "model", dir, Map.of())).isEqualTo(Path.of("/pollard/model/a.onnx"));
        assertThat(dir).isEmptyDirectory();
    }

    @Test
    void downloadsWithTheAuthorizationFromTheRolesVariable() throws Exception {
        Path file = fetch("/private/model.onnx", "model",
                Map.of("POLLARD_MODEL_AUTHORIZATION", "Bearer s3cret\n", "POLLARD_DATASET_AUTHORIZATION", "Bearer other"));
        assertThat(file).isEqualTo(dir.resolve("model").resolve("model.onnx")).hasBinaryContent(MODEL);
        assertThat(seenAuthorization.get()).isEqualTo("Bearer s3cret");
        try (var files = Files.list(file.getParent())) {
            assertThat(files).as("no temporary file left beside it").containsExactly(file);
        }
    }

    @Test
    void aRefusalIsPermanentAndSaysNoCredentialsWereSent() {
        assertThatThrownBy(() -> fetch("/private/model.onnx", "model", Map.of()))
                .isInstanceOfSatisfying(RemoteFiles.FetchException.class, e -> assertThat(e.permanent).isTrue())
                .hasMessage("HTTP 401 (no credentials were sent: reference a Secret with key Authorization in model.secretRef)");
        assertThat(seenAuthorization.get()).isNull();
        assertThat(dir.resolve("model")).isEmptyDirectory();
    }

    @Test
    void credentialsAreNotCarriedAcrossARedirect() {
        assertThatThrownBy(() -> fetch("/moved/model.onnx", "model", Map.of("POLLARD_MODEL_AUTHORIZATION", "Bearer s3cret")))
                .hasMessage("HTTP 302 (redirects are not followed when credentials are sent)");
        assertThat(seenAuthorization.get()).isNull();
    }

    @Test
    void aServerErrorOrNoServerIsWorthARetry() {
        assertThatThrownBy(() -> fetch("/broken", "dataset", Map.of()))
                .isInstanceOfSatisfying(RemoteFiles.FetchException.class, e -> assertThat(e.permanent).isFalse())
                .hasMessage("HTTP 503");
        server.stop(0);
        assertThatThrownBy(() -> fetch("/private/model.onnx", "model", Map.of()))
                .isInstanceOfSatisfying(RemoteFiles.FetchException.class, e -> assertThat(e.permanent).isFalse())
                .hasMessageStartingWith("cannot download: java.net.ConnectException");
    }
}
