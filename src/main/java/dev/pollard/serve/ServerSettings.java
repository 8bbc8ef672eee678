package dev.pollard.serve;

import java.time.Duration;

/**
 * Where the model server listens and how much it takes on. Each bound caps what one client, slow or hostile, can hold:
 * inference threads, memory for request bodies, time.
 *
 * @param intraOpThreads ONNX Runtime threads inside one inference (0: ONNX Runtime decides)
 * @param inferenceThreads inferences that run at the same time
 * @param inferenceQueue inference requests admitted beyond those running: their bodies are read and they wait for a
 *     thread; any more get 503. At most (inferenceThreads + inferenceQueue) * maxBodyBytes of bodies are held.
 * @param maxBodyBytes the largest inference request body; a larger one gets 413
 * @param requestTimeout how long a client may take to send an inference request's body; a slower one gets 408
 * @param inferenceTimeout how long an inference may wait for a thread and run; then it is stopped and the client gets 504
 */
public record ServerSettings(String host, int port, int intraOpThreads, int inferenceThreads, int inferenceQueue,
        long maxBodyBytes, Duration requestTimeout, Duration inferenceTimeout) {
    public static final long DEFAULT_MAX_BODY_BYTES = 64L << 20;

    public ServerSettings {
        require(port >= 0 && port <= 65535, "--port: " + port + " is not a TCP port (0-65535)");
        require(intraOpThreads >= 0, "--threads: " + intraOpThreads + " is negative (0: ONNX Runtime decides)");
        require(inferenceThreads >= 1, "--inference-threads: " + inferenceThreads + ", at least 1 is needed");
        require(inferenceQueue >= 0, "--inference-queue: " + inferenceQueue + " is negative");
        require(maxBodyBytes >= 1, "--max-body-bytes: " + maxBodyBytes + ", at least 1 is needed");
        // Vert.x buffers a body in one Buffer, which an int indexes
        require(maxBodyBytes <= Integer.MAX_VALUE, "--max-body-bytes: " + maxBodyBytes + " is over the 2 GiB a body can hold");
        require(requestTimeout.toMillis() >= 1, "--request-timeout-seconds: " + requestTimeout + " is not positive");
        require(inferenceTimeout.toMillis() >= 1, "--inference-timeout-seconds: " + inferenceTimeout + " is not positive");
    }

    /** Loopback, any free port, the defaults of {@code pollard serve}: what tests start from. */
    static ServerSettings loopback() {
        return new ServerSettings("127.0.0.1", 0, 1, 2, 8, DEFAULT_MAX_BODY_BYTES, Duration.ofSeconds(30), Duration.ofSeconds(60));
    }

    ServerSettings withInference(int threads, int queue) {
        return new ServerSettings(host, port, intraOpThreads, threads, queue, maxBodyBytes, requestTimeout, inferenceTimeout);
    }

    ServerSettings withMaxBodyBytes(long bytes) {
        return new ServerSettings(host, port, intraOpThreads, inferenceThreads, inferenceQueue, bytes, requestTimeout,
                inferenceTimeout);
    }

    ServerSettings withTimeouts(Duration request, Duration inference) {
        return new ServerSettings(host, port, intraOpThreads, inferenceThreads, inferenceQueue, maxBodyBytes, request, inference);
    }

    /** Admitted inference requests at most: running, waiting for a thread or still sending their body. */
    int admissions() {
        return inferenceThreads + inferenceQueue;
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }
}
