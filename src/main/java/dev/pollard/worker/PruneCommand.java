package dev.pollard.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.pollard.api.PruningJobStatus;
import dev.pollard.api.RunSummary;
import dev.pollard.data.Artifacts;
import dev.pollard.data.DatasetException;
import dev.pollard.data.Digests;
import dev.pollard.data.FashionMnist;
import dev.pollard.data.Datasets;
import dev.pollard.data.RemoteFiles;
import dev.pollard.energy.AnalyticalMeter;
import dev.pollard.energy.EnergyMeter;
import dev.pollard.energy.EnergyMeterException;
import dev.pollard.energy.HardwarePresets;
import dev.pollard.energy.ModelEnergy;
import dev.pollard.energy.NvmlMeter;
import dev.pollard.energy.RaplMeter;
import dev.pollard.graph.ModelException;
import dev.pollard.graph.OnnxModel;
import dev.pollard.graph.ServingShape;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pollard prune}: Algorithm 1 on one model. The worker a PruningJob runs, and, with no arguments, a local run
 * on the embedded default: Pollard's small CNN (trained by {@code pollard train}) and Debian's Fashion-MNIST.
 */
@Command(name = "prune", description = "Prune a model until it meets an energy budget without losing more than epsilon "
        + "accuracy; writes model.onnx, report.json and summary.txt.")
public class PruneCommand implements Callable<Integer> {
    static final String EMBEDDED_MODEL = "/models/fashion-cnn.onnx";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Option(names = "--model", description = "ONNX model: a file or an http(s) URL (default: the embedded Fashion-MNIST CNN).")
    String model;

    @Option(names = "--model-uri", description = "The model's URI as the user gave it (errors name it, not the mount path).")
    String modelUri;

    @Option(names = "--model-sha256", description = "Expected sha256 of the model file: another file fails the run.")
    String modelSha256;

    @Option(names = "--dataset", description = "Dataset: a file or directory, or an http(s) URL of one file (default: "
            + "Debian's Fashion-MNIST, /usr/share/datasets/fashion-mnist, fetched once into ~/.cache/pollard when it is "
            + "not installed).")
    String dataset;

    @Option(names = "--dataset-format", defaultValue = "idx")
    String datasetFormat;

    @Option(names = "--target-reduction", defaultValue = "0.4", description = "Energy to remove, 0 < T < 1 (default: "
            + "${DEFAULT-VALUE}).")
    double targetReduction;

    @Option(names = "--max-joules", description = "Absolute energy budget in joules per inference (instead of a reduction).")
    Double maxJoules;

    @Option(names = "--epsilon", defaultValue = "0.01", description = "Largest allowed accuracy drop (default: ${DEFAULT-VALUE}).")
    double epsilon;

    @Option(names = "--hardware", defaultValue = "h100", description = "Hardware class preset; in a cluster the operator passes "
            + "the HardwareClass spec in POLLARD_HARDWARE_CLASS (default: ${DEFAULT-VALUE}).")
    String hardware;

    @Option(names = "--meter", defaultValue = "analytical", description = "analytical (the hardware class's datasheet model), "
            + "or nvml or rapl: measured while the model, and each group's layers alone, run in ONNX Runtime on this "
            + "machine's CPU (default: ${DEFAULT-VALUE}).")
    String meter;

    @Option(names = "--gpu", defaultValue = "0", description = "NVML device index or UUID (default: ${DEFAULT-VALUE}).")
    String gpu;

    @Option(names = "--serving-batch", defaultValue = "" + ServingShape.DEFAULT_BATCH, description = "Batch size the model "
            + "is served at: every meter, fingerprint and latency of the run is taken at it, figures per sample (default: "
            + "${DEFAULT-VALUE}, what dynamic batching on a GPU server commonly caps at).")
    int servingBatch;

    @Option(names = "--sequence-length", description = "For a token model exported with a symbolic sequence axis: the "
            + "sequence length it is served at.")
    Integer sequenceLength;

    @Option(names = "--energy-window-seconds", defaultValue = "0.5", description = "Shortest measurement window of the nvml "
            + "and rapl meters, on top of their own need for updates; three windows per figure (default: ${DEFAULT-VALUE}).")
    double energyWindowSeconds;

    @Option(names = "--nvml-library", defaultValue = NvmlMeter.DEFAULT_LIBRARY, hidden = true)
    String nvmlLibrary;

    @Option(names = "--criterion", defaultValue = "energy-aware", description = "energy-aware, magnitude or knapsack "
            + "(default: ${DEFAULT-VALUE}).")
    String criterion;

    @Option(names = "--alpha", defaultValue = "0.6")
    double alpha;

    @Option(names = "--beta", defaultValue = "0.4")
    double beta;

    @Option(names = "--step-fraction", defaultValue = "0.1", description = "Share of the units (energy-aware, magnitude) or of "
            + "the energy (knapsack) one step removes, never more than the budget still needs, no group losing more than a "
            + "quarter of its units; after a rollback the next step takes at most half of what the undone one took "
            + "(default: ${DEFAULT-VALUE}).")
    double stepFraction;

    @Option(names = "--step-growth", defaultValue = "1.5", description = "Factor the step grows by after a kept step that "
            + "left more than half of epsilon unused, up to 0.5; 1 keeps it (default: ${DEFAULT-VALUE}).")
    double stepGrowth;

    @Option(names = "--channel-multiple", defaultValue = "8", description = "Pruned widths stay multiples of this; a group "
            + "narrower than 4 multiples uses the largest power of two at most a quarter of its width (default: "
            + "${DEFAULT-VALUE}).")
    int channelMultiple;

    @Option(names = "--max-iterations", defaultValue = "20", description = "Upper bound on fine-tuning rounds: one per step, "
            + "two for a step whose first round left accuracy below the floor (default: ${DEFAULT-VALUE}).")
    int maxIterations;

    @Option(names = "--learning-rate", defaultValue = "0.001")
    double learningRate;

    @Option(names = "--batch-size", defaultValue = "128")
    int batchSize;

    @Option(names = "--weight-decay", defaultValue = "0.0001")
    double weightDecay;

    @Option(names = "--finetune-steps", defaultValue = "200")
    int finetuneSteps;

    @Option(names = "--eval-samples", description = "Evaluation samples (default: the whole test split).")
    Integer evalSamples;

    @Option(names = "--train-samples", description = "Samples fine-tuning draws from (default: the whole train split).")
    Integer trainSamples;

    @Option(names = "--grid-intensity", defaultValue = "400", description = "Grid carbon intensity, g CO2 per kWh (default: "
            + "${DEFAULT-VALUE}).")
    double gridIntensity;

    @Option(names = "--out", required = true, description = "Output directory.")
    Path out;

    @Option(names = "--artifact-uri", description = "URI the output directory has for others (default: file://<out>).")
    String artifactUri;

    @Option(names = "--progress-address", description = "host:port to serve GET /progress on while running.")
    String progressAddress;

    @Override
    public Integer call() {
        long start = System.nanoTime();
        Path downloads = null;
        try (ProgressServer progress = progressAddress == null ? null : ProgressServer.start(progressAddress);
                EnergyMeter hardwareMeter = openMeter()) {
            if (!List.of("energy-aware", "magnitude", "knapsack").contains(criterion)) {
                throw new IllegalArgumentException("--criterion: '" + criterion + "' is not one of energy-aware, magnitude, knapsack");
            }
            if (!(stepGrowth >= 1)) {
                throw new IllegalArgumentException("--step-growth: " + stepGrowth + " is below 1 (1 keeps the step as it is)");
            }
            JsonNode spec = hardwareSpec();
            ServingShape serving = new ServingShape(servingBatch, sequenceLength);
            ModelEnergy energy = hardwareMeter == null
                    ? ModelEnergy.analytical(new AnalyticalMeter(HardwarePresets.energyModel(spec)), servingBatch)
                    : ModelEnergy.measured(hardwareMeter, servingBatch, 3, energyWindowSeconds, hardware);
            if (dataset == null) {
                dataset = FashionMnist.locate(FashionMnist.INSTALLED, FashionMnist.cached(), System.err).toString();
            }
            downloads = Files.createTempDirectory("pollard-inputs");
            Source source = loadModel(downloads);
            OnnxModel base = serving.pin(source.model());
            Path datasetFile = localCopy(dataset, dataset, "dataset", downloads);
            Datasets.Splits splits = Datasets.load(datasetFile, datasetFormat);
            var train = trainSamples == null ? splits.train() : splits.train().slice(0, trainSamples);
            var eval = evalSamples == null ? splits.test() : splits.test().slice(0, evalSamples);
            String input = base.inputs().get(0).name();
            long[] expected = Arrays.copyOfRange(base.inputs().get(0).dims(), 1, base.inputs().get(0).dims().length);
            if (!Arrays.equals(expected, Arrays.stream(eval.sampleShape()).asLongStream().toArray())) {
                throw new DatasetException(datasetFile, "samples are " + Arrays.toString(eval.sampleShape()) + " but the model's input '"
                        + input + "' expects " + Arrays.toString(expected));
            }
            double a = criterion.equals("magnitude") ? 1 : alpha;
            double b = criterion.equals("magnitude") ? 0 : beta;
            Pruner pruner = new Pruner(energy, train, eval,
                    new Pruner.Settings(targetReduction, maxJoules, epsilon, criterion, a, b, stepFraction, stepGrowth, channelMultiple,
                            maxIterations, new FineTuner.Settings(learningRate, batchSize, weightDecay, finetuneSteps, 42)),
                    input, System.err);
            if (progress != null) {
                progress.update("Profiling", 0, null, null);
            }
            Report report = new Report();
            report.model = model == null ? "embedded:" + EMBEDDED_MODEL : model;
            report.modelSha256 = source.sha256();
            report.dataset = dataset;
            report.hardwareClass = hardware;
            report.meter = energy.name();
            report.servingBatch = servingBatch;
            report.sequenceLength = sequenceLength;
            report.criterion = criterion;
            report.alpha = a;
            report.beta = b;
            report.epsilon = epsilon;
            report.gridGramsCo2PerKwh = gridIntensity;
            report.baseline = pruner.measure(base);
            OnnxModel pruned = pruner.run(base, report, (i, joules, accuracy) -> {
                if (progress != null) {
                    progress.update("Pruning", i, joules, accuracy);
                }
            });
            report.result = pruner.measure(pruned);
            double[] ms = pruner.latencies(base, pruned);
            report.baseline.latencyMs = ms[0];
            report.result.latencyMs = ms[1];
            report.accuracyDrop = report.baseline.accuracy - report.result.accuracy;
            report.ratios = ratios(report.baseline, report.result);
            report.seconds = (System.nanoTime() - start) / 1e9;
            OnnxModel artifact = ServingShape.restoreInputs(pruned, source.model());
            String sha = Artifacts.write(out.resolve("model.onnx"), artifact.proto().toByteArray());
            report.artifact = new PruningJobStatus.Artifact();
            report.artifact.uri = (artifactUri != null ? artifactUri : out.toAbsolutePath().toUri().toString().replaceAll("/$", ""))
                    + "/model.onnx";
            report.artifact.sha256 = sha;
            Artifacts.write(out.resolve("report.json"), JSON.writeValueAsBytes(report));
            String summary = summary(report);
            Artifacts.write(out.resolve("summary.txt"), summary.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            System.out.print(summary);
            TerminationMessage.write(runSummary(report));
            return WorkerExit.OK;
        } catch (DatasetException | ModelException | IllegalArgumentException e) {
            return fail(WorkerExit.INVALID_INPUT, e.getMessage());
        } catch (InputUnavailable e) {
            return fail(e.permanent ? WorkerExit.INVALID_INPUT : WorkerExit.ERROR, e.getMessage());
        } catch (EnergyMeterException e) {
            return fail(WorkerExit.METER_UNAVAILABLE, e.getMessage());
        } catch (Exception e) {
            return fail(WorkerExit.ERROR, e.toString());
        } finally {
            deleteQuietly(downloads);
        }
    }

    /** A model or dataset URI that could not be fetched; the message names the URI. */
    private static final class InputUnavailable extends RuntimeException {
        final boolean permanent;

        InputUnavailable(String message, RemoteFiles.FetchException cause) {
            super(message, cause);
            this.permanent = cause.permanent;
        }
    }

    /** @param named how errors name the input: the URI the user gave rather than a mount path */
    private static Path localCopy(String location, String named, String role, Path downloads) {
        try {
            return RemoteFiles.localCopy(location, role, downloads, System.getenv());
        } catch (RemoteFiles.FetchException e) {
            throw new InputUnavailable(role + " " + named + ": " + e.getMessage(), e);
        }
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // temporary downloads left behind are removed with the pod's scratch volume
        }
    }

    private int fail(int code, String message) {
        System.err.println("pollard prune: " + message);
        RunSummary summary = new RunSummary();
        summary.error = message;
        TerminationMessage.write(summary);
        return code;
    }

    private JsonNode hardwareSpec() throws IOException {
        String fromOperator = System.getenv("POLLARD_HARDWARE_CLASS");
        return fromOperator != null && !fromOperator.isBlank() ? JSON.readTree(fromOperator) : HardwarePresets.spec(hardware);
    }

    /**
     * The meter the HardwareClass names, opened before any work so that a worker that cannot use it fails at once with
     * the reason (exit 3) instead of measuring something else; null for the analytical meter, which needs no hardware.
     */
    private EnergyMeter openMeter() {
        return switch (meter) {
            case "analytical" -> null;
            case "nvml" -> NvmlMeter.open(nvmlLibrary, gpu);
            case "rapl" -> RaplMeter.open(RaplMeter.DEFAULT_ROOT);
            default -> throw new IllegalArgumentException("--meter: '" + meter + "' is not one of nvml, rapl, analytical");
        };
    }

    /** The model a run prunes, and the sha256 of the file it was read from. */
    private record Source(OnnxModel model, String sha256) {
    }

    private Source loadModel(Path downloads) throws IOException {
        if (model == null) {
            try (InputStream in = PruneCommand.class.getResourceAsStream(EMBEDDED_MODEL)) {
                byte[] bytes = in.readAllBytes();
                return new Source(OnnxModel.parse(bytes, "embedded:" + EMBEDDED_MODEL), Digests.sha256(bytes));
            }
        }
        String named = modelUri == null ? model : modelUri;
        Path file = localCopy(model, named, "model", downloads);
        byte[] bytes;
        try {
            bytes = OnnxModel.read(file);
        } catch (ModelException e) {
            throw naming(e);
        }
        String sha = Digests.sha256(bytes);
        if (modelSha256 != null && !modelSha256.equals(sha)) {
            throw new ModelException("model " + named + ": its sha256 is " + sha + ", not " + modelSha256 + " as the spec says");
        }
        try {
            return new Source(OnnxModel.parse(bytes, file.toString()), sha);
        } catch (ModelException e) {
            throw naming(e);
        }
    }

    /** A model error as the user sees it: named by the URI they gave, not the mount path. */
    private ModelException naming(ModelException e) {
        return modelUri == null ? e : new ModelException("model " + modelUri + ": " + e.getMessage(), e);
    }

    static PruningJobStatus.Ratios ratios(PruningJobStatus.ModelMetrics base, PruningJobStatus.ModelMetrics result) {
        PruningJobStatus.Ratios r = new PruningJobStatus.Ratios();
        r.accuracyRetention = finite(result.accuracy / base.accuracy);
        r.energyReduction = finite(1 - result.joulesPerInference / base.joulesPerInference);
        r.latencySpeedup = finite(base.latencyMs / result.latencyMs);
        r.sizeReduction = finite(1 - (double) result.bytes / base.bytes);
        r.carbonReduction = r.energyReduction; // same grid for both: carbon scales with energy
        return r;
    }

    /** A ratio over a zero (a model of no measurable cost) has no value: null, never NaN or Infinity in a report. */
    private static Double finite(double ratio) {
        return Double.isFinite(ratio) ? ratio : null;
    }

    static String summary(Report r) {
        StringBuilder s = new StringBuilder();
        ServingShape serving = new ServingShape(r.servingBatch, r.sequenceLength);
        s.append(String.format("Pollard prune: %s on %s (%s meter at %s), %s criterion alpha %.2f beta %.2f%n", r.model,
                r.hardwareClass, r.meter, serving.describe(), r.criterion, r.alpha, r.beta));
        s.append(String.format("%-28s %14s %14s%n", "", "baseline", "pruned"));
        s.append(String.format("%-28s %14.4f %14.4f%n", "top-1 accuracy", r.baseline.accuracy, r.result.accuracy));
        s.append(String.format("%-28s %14.6g %14.6g%n", "joules per inference", r.baseline.joulesPerInference, r.result.joulesPerInference));
        s.append(String.format("%-28s %14.3f %14.3f%n", "ORT CPU ms per batch", r.baseline.latencyMs, r.result.latencyMs));
        s.append(String.format("%-28s %14d %14d%n", "parameters", r.baseline.parameters, r.result.parameters));
        s.append(String.format("%-28s %14d %14d%n", "file bytes", r.baseline.bytes, r.result.bytes));
        s.append(String.format("%-28s %14.1f %14.1f%n", "MFLOPs per inference", r.baseline.flops / 1e6, r.result.flops / 1e6));
        s.append(String.format("ARP %.4f  EPR %.4f  LSI %.2fx  MSE %.4f  CFA %.4f%n", r.ratios.accuracyRetention,
                r.ratios.energyReduction, r.ratios.latencySpeedup, r.ratios.sizeReduction, r.ratios.carbonReduction));
        long rolledBack = r.iterations.stream().filter(i -> Boolean.TRUE.equals(i.rolledBack)).count();
        s.append(String.format("%d iterations (%d rolled back); stopped: %s; %.0f s%n", r.iterations.size(), rolledBack,
                r.stopReason, r.seconds));
        s.append(String.format("model: %s sha256:%s%n", r.artifact.uri, r.artifact.sha256));
        return s.toString();
    }

    static RunSummary runSummary(Report r) {
        RunSummary s = new RunSummary();
        s.baseline = r.baseline;
        s.result = r.result;
        s.ratios = r.ratios;
        s.accuracyDrop = r.accuracyDrop;
        s.iterations = r.iterations;
        s.artifact = r.artifact;
        s.source = new PruningJobStatus.Artifact();
        s.source.uri = r.model;
        s.source.sha256 = r.modelSha256;
        s.hardware = new PruningJobStatus.HardwareUsed();
        s.hardware.meter = r.meter;
        s.hardware.batchSize = r.servingBatch;
        s.hardware.sequenceLength = r.sequenceLength;
        s.hardware.node = System.getenv("NODE_NAME");
        return s;
    }
}
