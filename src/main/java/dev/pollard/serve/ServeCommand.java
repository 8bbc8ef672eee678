package dev.pollard.serve;

import dev.pollard.data.Digests;
import dev.pollard.data.RemoteFiles;
import dev.pollard.energy.EnergyMeterException;
import dev.pollard.energy.NvmlMeter;
import java.nio.file.Files;
import java.nio.file.Path;
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

    @Option(names = "--meter", defaultValue = "none", description = "nvml: export the GPU's energy (pollard_energy_joules_total, "
            + "pollard_joules_per_inference) from NVML's energy counter; none (default: ${DEFAULT-VALUE}).")
    String meter;

    @Option(names = "--nvml-library", defaultValue = NvmlMeter.DEFAULT_LIBRARY, hidden = true)
    String nvmlLibrary;

    @Option(names = "--gpu", defaultValue = "0", description = "NVML device index or UUID (default: ${DEFAULT-VALUE}: the "
            + "pod's first visible GPU).")
    String gpu;

    @Override
    public Integer call() throws Exception {
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
        if (sha256 != null) {
            String actual = Digests.sha256(model);
            if (!actual.equalsIgnoreCase(sha256)) {
                System.err.println("pollard serve: " + location + ": sha256 is " + actual + ", expected " + sha256
                        + " (refusing to serve a different model)");
                return 2;
            }
        }
        if (!meter.equals("none") && !meter.equals("nvml")) {
            System.err.println("pollard serve: --meter " + meter + ": not one of nvml, none");
            return 2;
        }
        NvmlMeter nvml = meter.equals("nvml") ? openNvml() : null;
        CountDownLatch stopped = new CountDownLatch(1);
        try (nvml; ModelServer server = new ModelServer(model, name, host, port, threads, nvml).start()) {
            Runtime.getRuntime().addShutdownHook(new Thread(stopped::countDown, "serve-stop"));
            System.err.printf("pollard serve: %s (%s) on http://%s:%d/v2/models/%s%n", name, location, host, server.port(), name);
            stopped.await();
        }
        return 0;
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
