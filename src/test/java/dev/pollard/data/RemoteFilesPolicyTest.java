package dev.pollard.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What a tenant's URI may not make the worker do: leak credentials, reach this machine or the cloud's metadata, or fetch forever. */
class RemoteFilesPolicyTest {
    private static final byte[] FILE = "forty bytes of a file that is not small!".getBytes(StandardCharsets.UTF_8);
    private HttpServer server;
    private final AtomicInteger requests = new AtomicInteger();
    /** Holds the trickling response until the test ends. */
    private final CountDownLatch release = new CountDownLatch(1);

    @TempDir
    Path dir;

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/file", exchange -> {
            requests.incrementAndGet();
            exchange.sendResponseHeaders(200, FILE.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(FILE);
            }
        });
        server.createContext("/unsized", exchange -> {
            exchange.sendResponseHeaders(200, 0); // chunked: no Content-Length to refuse it by
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(FILE);
            }
        });
        server.createContext("/to-metadata", exchange -> {
            requests.incrementAndGet();
            exchange.getResponseHeaders().add("Location", "http://169.254.169.254/latest/meta-data/iam/security-credentials/");
            exchange.sendResponseHeaders(302, -1);
            exchange.close();
        });
        server.createContext("/trickle", exchange -> {
            exchange.sendResponseHeaders(200, 1000);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(FILE);
                out.flush();
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        server.start();
    }

    @AfterEach
    void stop() {
        release.countDown();
        server.stop(0);
    }

    private String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    private static Map<String, String> loopbackAnd(String... variables) {
        Map<String, String> env = new HashMap<>(Map.of(RemoteFiles.ALLOW_LOOPBACK_VARIABLE, "true"));
        for (int i = 0; i < variables.length; i += 2) {
            env.put(variables[i], variables[i + 1]);
        }
        return env;
    }

    @Test
    void credentialsAreNeverSentOverPlainHttp() {
        assertThatThrownBy(() -> RemoteFiles.localCopy(url("/file"), "model", dir,
                loopbackAnd("POLLARD_MODEL_AUTHORIZATION", "Bearer s3cret")))
                .isInstanceOfSatisfying(RemoteFiles.FetchException.class, e -> assertThat(e.permanent).isTrue())
                .hasMessage("refusing to send the credentials of model.secretRef over plain http: use an https:// URI");
        assertThat(requests).as("requests the server saw").hasValue(0);
    }

    @Test
    void loopbackIsRefusedUnlessATestAllowsIt() throws Exception {
        for (String host : new String[] {"127.0.0.1", "localhost"}) {
            String uri = "http://" + host + ":" + server.getAddress().getPort() + "/file";
            assertThatThrownBy(() -> RemoteFiles.localCopy(uri, "dataset", dir, Map.of()))
                    .isInstanceOfSatisfying(RemoteFiles.FetchException.class, e -> assertThat(e.permanent).isTrue())
                    .hasMessageStartingWith("refusing to fetch from " + host + " (").hasMessageEndingWith("): a loopback address, which reaches this machine");
        }
        assertThat(requests).hasValue(0);
        assertThat(RemoteFiles.localCopy(url("/file"), "dataset", dir, loopbackAnd())).hasBinaryContent(FILE);
        assertThat(requests).hasValue(1);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "http://169.254.169.254/latest/meta-data/ | 169.254.169.254 (169.254.169.254): a link-local address, where cloud metadata services answer",
        "http://[fd00:ec2::254]/latest/meta-data/ | [fd00:ec2::254] (fd00:ec2:0:0:0:0:0:254): a cloud metadata service",
        "http://100.100.100.200/latest/meta-data/ | 100.100.100.200 (100.100.100.200): a cloud metadata service",
        "http://[fe80::1]/x.npz | [fe80::1] (fe80:0:0:0:0:0:0:1): a link-local address, where cloud metadata services answer",
        "http://[::ffff:169.254.169.254]/ | [::ffff:169.254.169.254] (169.254.169.254): a link-local address, where cloud metadata services answer",
        "http://[64:ff9b::a9fe:a9fe]/ | [64:ff9b::a9fe:a9fe] (64:ff9b:0:0:0:0:a9fe:a9fe): a link-local address, where cloud metadata services answer",
        "http://0.0.0.0/x.csv | 0.0.0.0 (0.0.0.0): the unspecified address, which reaches this machine",
        "http://[::]/x.csv | [::] (0:0:0:0:0:0:0:0): the unspecified address, which reaches this machine",
    })
    void metadataLinkLocalAndUnspecifiedAddressesAreRefusedEvenWhereLoopbackIsAllowed(String uri, String refusal) {
        assertThatThrownBy(() -> RemoteFiles.localCopy(uri, "dataset", dir, loopbackAnd()))
                .isInstanceOfSatisfying(RemoteFiles.FetchException.class, e -> assertThat(e.permanent).isTrue())
                .hasMessage("refusing to fetch from " + refusal);
    }

    @Test
    void aRedirectIsCheckedLikeTheUriItself() {
        assertThatThrownBy(() -> RemoteFiles.localCopy(url("/to-metadata"), "model", dir, loopbackAnd()))
                .isInstanceOfSatisfying(RemoteFiles.FetchException.class, e -> assertThat(e.permanent).isTrue())
                .hasMessage("refusing to fetch from 169.254.169.254 (169.254.169.254): a link-local address, where cloud metadata services answer");
        assertThat(requests).hasValue(1);
        assertThat(dir.resolve("model")).isEmptyDirectory();
    }

    @Test
    void aFileOverTheSizeLimitIsRefusedWhetherItsLengthIsAnnouncedOrNot() throws Exception {
        assertThatThrownBy(() -> RemoteFiles.localCopy(url("/file"), "dataset", dir, loopbackAnd(RemoteFiles.MAX_BYTES_VARIABLE, "10")))
                .isInstanceOfSatisfying(RemoteFiles.FetchException.class, e -> assertThat(e.permanent).isTrue())
                .hasMessage("the file is 40 bytes, over the limit of 10 bytes (POLLARD_FETCH_MAX_BYTES)");
        assertThatThrownBy(() -> RemoteFiles.localCopy(url("/unsized"), "dataset", dir, loopbackAnd(RemoteFiles.MAX_BYTES_VARIABLE, "10")))
                .isInstanceOfSatisfying(RemoteFiles.FetchException.class, e -> assertThat(e.permanent).isTrue())
                .hasMessage("the file is more than 10 bytes, over the limit of 10 bytes (POLLARD_FETCH_MAX_BYTES)");
        assertThat(dir.resolve("dataset")).as("no partial file left").isEmptyDirectory();
        assertThat(RemoteFiles.localCopy(url("/unsized"), "dataset", dir, loopbackAnd(RemoteFiles.MAX_BYTES_VARIABLE, "40")))
                .as("exactly at the limit").hasBinaryContent(FILE);
    }

    @Test
    void aDownloadThatNeverEndsIsAbandonedAtTheTimeLimit() {
        // the server sends 40 of the 1000 bytes it announced, then waits for the test to end
        assertThatThrownBy(() -> RemoteFiles.localCopy(url("/trickle"), "dataset", dir, loopbackAnd(RemoteFiles.TIMEOUT_VARIABLE, "1")))
                .isInstanceOfSatisfying(RemoteFiles.FetchException.class, e -> assertThat(e.permanent).as("worth a retry").isFalse())
                .hasMessage("not downloaded within 1 s (POLLARD_FETCH_TIMEOUT_SECONDS)");
        assertThat(dir.resolve("dataset")).isEmptyDirectory();
    }

    @Test
    void limitsComeFromTheEnvironmentWithGenerousDefaults() throws Exception {
        assertThat(RemoteFiles.Limits.from(Map.of())).isEqualTo(new RemoteFiles.Limits(20L << 30, java.time.Duration.ofSeconds(30),
                java.time.Duration.ofHours(2), false));
        assertThat(RemoteFiles.Limits.from(Map.of(RemoteFiles.MAX_BYTES_VARIABLE, "1000", RemoteFiles.CONNECT_TIMEOUT_VARIABLE, "5",
                RemoteFiles.TIMEOUT_VARIABLE, "60", RemoteFiles.ALLOW_LOOPBACK_VARIABLE, "true")))
                .isEqualTo(new RemoteFiles.Limits(1000, java.time.Duration.ofSeconds(5), java.time.Duration.ofSeconds(60), true));
        assertThatThrownBy(() -> RemoteFiles.localCopy(url("/file"), "dataset", dir, loopbackAnd(RemoteFiles.MAX_BYTES_VARIABLE, "20 GiB")))
                .isInstanceOfSatisfying(RemoteFiles.FetchException.class, e -> assertThat(e.permanent).isTrue())
                .hasMessage("POLLARD_FETCH_MAX_BYTES: '20 GiB' is not a whole number from 1 to 9223372036854775807");
        assertThatThrownBy(() -> RemoteFiles.localCopy(url("/file"), "dataset", dir, loopbackAnd(RemoteFiles.TIMEOUT_VARIABLE, "0")))
                .hasMessage("POLLARD_FETCH_TIMEOUT_SECONDS: '0' is not a whole number from 1 to 2592000");
    }
}
