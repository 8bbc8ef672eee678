package dev.pollard.operator;

import static dev.pollard.testing.Waits.REACTION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pollard.api.RunSummary;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a worker's pod sends back is bounded: a pod answering /progress with a huge or never-ending body gets no more
 * than {@link WorkerReports#MAX_PROGRESS_BYTES} read and no more than {@link WorkerReports#PROGRESS_TIMEOUT} of a
 * reconciliation thread. The pods here are raw sockets on loopback that answer as a hostile worker would.
 */
class WorkerReportsTest {
    private ServerSocket server;
    private final AtomicLong bytesSent = new AtomicLong();
    private final AtomicBoolean connectionDropped = new AtomicBoolean();

    @BeforeEach
    void listen() throws IOException {
        server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    }

    @AfterEach
    void close() throws IOException {
        server.close();
    }

    @Test
    void aWellFormedAnswerIsRead() {
        answerWith(out -> write(out, response("{\"phase\":\"Pruning\",\"iteration\":3,\"accuracy\":0.9}")));
        Optional<RunSummary.Progress> progress = WorkerReports.progress(List.of(runningPod()), server.getLocalPort());
        assertThat(progress).hasValueSatisfying(p -> {
            assertThat(p.iteration).isEqualTo(3);
            assertThat(p.accuracy).isEqualTo(0.9);
        });
    }

    @Test
    void aNumberBeyondDoubleIsNoProgress() {
        // 1e400 parses to Infinity, which no status field of type number can hold
        answerWith(out -> write(out, response("{\"phase\":\"Pruning\",\"iteration\":3,\"accuracy\":1e400}")));
        assertThat(WorkerReports.progress(List.of(runningPod()), server.getLocalPort())).isEmpty();
    }

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES) // fails only if the read is unbounded: the bound itself is 3 s
    void aHugeBodyIsCutOffNotRead() {
        long announced = 1L << 30; // 1 GiB, far above the cap and the operator's heap in the chart
        answerWith(out -> {
            write(out, ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + announced + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            byte[] chunk = new byte[64 * 1024];
            java.util.Arrays.fill(chunk, (byte) ' ');
            for (long sent = 0; sent < announced; sent += chunk.length) {
                write(out, chunk);
            }
        });
        assertThat(WorkerReports.progress(List.of(runningPod()), server.getLocalPort())).isEmpty();
        await().atMost(REACTION).untilTrue(connectionDropped);
        // the cap is 64 KiB; what else went out sits in socket buffers, not in the operator
        assertThat(bytesSent.get()).isLessThan(announced);
    }

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES) // fails only if the read is unbounded: the bound itself is 3 s
    void aBodyThatNeverEndsDoesNotHoldTheReconciliation() {
        answerWith(out -> {
            write(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
                    .getBytes(StandardCharsets.US_ASCII));
            while (true) { // a byte now and then, never the whole body; ends when the operator hangs up
                write(out, new byte[] {' '});
                try {
                    Thread.sleep(200); // pacing of the hostile pod, not a wait of the test
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        assertThat(WorkerReports.progress(List.of(runningPod()), server.getLocalPort())).isEmpty();
        // and the body is not read on in the background: the connection is closed
        await().atMost(REACTION).untilTrue(connectionDropped);
    }

    private interface Answer {
        void write(OutputStream out) throws IOException;
    }

    /** Answers the first request on the socket with {@code answer}; notes when the operator's side hangs up. */
    private void answerWith(Answer answer) {
        Thread pod = new Thread(() -> {
            try (Socket socket = server.accept()) {
                socket.getInputStream().read(new byte[4096]); // the request line and headers
                answer.write(socket.getOutputStream());
            } catch (IOException e) {
                connectionDropped.set(true);
            }
        }, "hostile-pod");
        pod.setDaemon(true);
        pod.start();
    }

    private void write(OutputStream out, byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        bytesSent.addAndGet(bytes.length);
    }

    private static byte[] response(String json) {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        return ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n"
                + "Connection: close\r\n\r\n" + json).getBytes(StandardCharsets.UTF_8);
    }

    private static Pod runningPod() {
        return new PodBuilder().withNewMetadata().withName("worker").withCreationTimestamp("2026-12-02T10:00:00Z")
                .endMetadata().withNewStatus().withPhase("Running").withPodIP("127.0.0.1").endStatus().build();
    }
}
