package dev.pollard.serve;

import dev.pollard.data.RemoteFiles;
import dev.pollard.energy.EnergyMeterException;
import dev.pollard.energy.NvmlMeter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code pollard serve}: what an InferenceDeployment's pods run. */
@Command(name = "serve", description = "Serve an ONNX model over the Open Inference Protocol (KServe v2 REST) with "
        + "ONNX Runtime, with Prometheus metrics at /metrics.")
public class ServeCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "ONNX model: a file or an http(s) URL, fetched once at start.")
    String location;

    @Option(names = "--name", required = true, description = "Name the model is served under (/v2/models/NAME).")
    String name;

    @Option(names = "--sha256", description = "Refuse to start unless the model file has this sha256.")
    String sha256;

    @Option(names = "--host", defaultValue = "0.0.0.0", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--threads", defaultValue = "0", description = "ONNX Runtime intra-op threads (0: ONNX Runtime decides).")
    int threads;

    @Option(names = "--inference-threads", defaultValue = "2", description = "Inferences that run at the same time "
            + "(default: ${DEFAULT-VALUE}).")
    int inferenceThreads;

    @Option(names = "--inference-queue", defaultValue = "8", description = "Infer requests admitted beyond those running, "
            + "waiting for a thread; more get 503 (default: ${DEFAULT-VALUE}).")
    int inferenceQueue;

    @Option(names = "--max-body-bytes", defaultValue = "" + ServerSettings.DEFAULT_MAX_BODY_BYTES, description = "Largest "
            + "infer request body; a larger one gets 413 (default: ${DEFAULT-VALUE}, 64 MiB).")
    long maxBodyBytes;

    @Option(names = "--request-timeout-seconds", defaultValue = "30", description = "Time a client has to send an infer "
            + "request's body; a slower one gets 408 (default: ${DEFAULT-VALUE}).")
    int requestTimeoutSeconds;

    @Option(names = "--inference-timeout-seconds", defaultValue = "60", description = "Time an infer request may wait for "
            + "a thread and run; then the run is stopped and the client gets 504 (default: ${DEFAULT-VALUE}).")
    int inferenceTimeoutSeconds;

    @Option(names = "--meter", defaultValue = "none", description = "nvml: export the GPU's energy (pollard_energy_joules_total) "
            + "from NVML's energy counter, and label every series with the GPU's UUID; none (default: ${DEFAULT-VALUE}).")
    String meter;

    @Option(names = "--hardware-class", description = "HardwareClass this server runs on: the hardware_class label of every "
            + "metric series.")
    String hardwareClass;

    @Option(names = "--pod-namespace", defaultValue = "${env:POD_NAMESPACE}", description = "The pod's namespace: the "
            + "pod_namespace label of every metric series, as Kepler's (default: $POD_NAMESPACE).")
    String podNamespace;

    @Option(names = "--pod-name", defaultValue = "${env:POD_NAME}", description = "The pod's name: the pod_name label of every "
            + "metric series, as Kepler's (default: $POD_NAME).")
    String podName;

    @Option(names = "--nvml-library", defaultValue = NvmlMeter.DEFAULT_LIBRARY, hidden = true)
    String nvmlLibrary;

    @Option(names = "--gpu", defaultValue = "0", description = "NVML device index or UUID (default: ${DEFAULT-VALUE}: the "
            + "pod's first visible GPU).")
    String gpu;

    @Override
    public Integer call() throws Exception {
        ServerSettings settings;
        try {
            settings = new ServerSettings(host, port, threads, inferenceThreads, inferenceQueue, maxBodyBytes,
                    Duration.ofSeconds(requestTimeoutSeconds), Duration.ofSeconds(inferenceTimeoutSeconds));
        } catch (IllegalArgumentException e) {
            System.err.println("pollard serve: " + e.getMessage());
            return 2;
        }
        if (!meter.equals("none") && !meter.equals("nvml")) {
            System.err.println("pollard serve: --meter " + meter + ": not one of nvml, none");
            return 2;
        }
        NvmlMeter nvml = meter.equals("nvml") ? openNvml() : null;
        CountDownLatch stopped = new CountDownLatch(1);
        // live, not ready, while the model is fetched and loaded: a long download fails no liveness probe
        try (nvml; ModelServer server = new ModelServer(name, settings,
                seriesLabels(hardwareClass, podNamespace, podName, nvml), nvml).start()) {
            Runtime.getRuntime().addShutdownHook(new Thread(stopped::countDown, "serve-stop"));
            System.err.printf("pollard serve: listening on http://%s:%d, loading %s%n", host, server.port(), location);
            Path model;
            try {
                // the pod's root filesystem is read-only; /tmp is its scratch volume
                model = RemoteFiles.localCopy(location, "model", Files.createTempDirectory("pollard-serve"), System.getenv());
            } catch (RemoteFiles.FetchException e) {
                System.err.println("pollard serve: --model " + location + ": " + e.getMessage());
                return e.permanent ? 2 : 1;
            }
            if (!Files.isRegularFile(model)) {
                System.err.println("pollard serve: --model " + location + ": no such file");
                return 2;
            }
            try {
                server.load(model, sha256);
            } catch (OnnxModel.Refused e) {
                System.err.println("pollard serve: --model " + location + ": " + e.getMessage());
                return 2;
            }
            System.err.printf("pollard serve: %s ready at http://%s:%d/v2/models/%s%n", name, host, server.port(), name);
            stopped.await();
        }
        return 0;
    }

    /**
     * The labels that tell this server's series from others' and join them to the node's: the hardware class, the pod
     * (as Kepler labels its series) and, with a GPU meter, the GPU's UUID (as dcgm-exporter labels its series). Unknown
     * ones are null, and left out.
     */
    static Map<String, String> seriesLabels(String hardwareClass, String podNamespace, String podName, NvmlMeter nvml) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put("hardware_class", hardwareClass);
        if (nvml != null) {
            try {
                labels.put("UUID", nvml.uuid());
            } catch (EnergyMeterException e) {
                System.err.println("pollard serve: " + e.getMessage() + "; metrics go without the GPU's UUID");
            }
        }
        labels.put("pod_namespace", podNamespace);
        labels.put("pod_name", podName);
        return labels;
    }

    /** The GPU's meter, or null (with the reason on stderr): missing energy figures must not stop a model being served. */
    private NvmlMeter openNvml() {
        NvmlMeter nvml = null;
        try {
            nvml = NvmlMeter.open(nvmlLibrary, gpu);
            nvml.totalJoules(); // needs the energy counter
            System.err.println("pollard serve: energy from " + nvml.describe());
            return nvml;
        } catch (EnergyMeterException e) {
            if (nvml != null) {
                nvml.close();
            }
            System.err.println("pollard serve: --meter nvml: " + e.getMessage() + "; serving without energy metrics");
            return null;
        }
    }
}
