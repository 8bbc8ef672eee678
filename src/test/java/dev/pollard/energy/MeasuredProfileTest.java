package dev.pollard.energy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.pollard.graph.OnnxModel;
import dev.pollard.testing.Fixtures;
import dev.pollard.testing.OnnxBuilder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Per-layer energy measured with a hardware meter: every layer runs alone in ONNX Runtime for real, and NVML is the
 * fake libnvidia-ml through JNA (a GPU at a constant 200 W whose counter moves every millisecond), so each layer's
 * joules must be 200 W times the time it ran.
 */
class MeasuredProfileTest {
    private static final double WATTS = 200;

    @TempDir
    Path dir;

    private String profile(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CommandLine cli = new CommandLine(new ProfileCommand());
        cli.setOut(new java.io.PrintWriter(out, true));
        PrintStream previous = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            assertThat(cli.execute(args)).as(out.toString(StandardCharsets.UTF_8)).isZero();
        } finally {
            System.setOut(previous);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void nvmlProfileMeasuresEveryLayerAloneAndComparesTheirSumWithTheWholeModel() throws Exception {
        FakeNvml.compile().fakeNvmlConfigure(WATTS, 1, 0, 1, 0, 0);
        Path model = dir.resolve("cnn.onnx");
        Files.write(model, OnnxBuilder.smallCnn().toByteArray());
        Path cache = dir.resolve("cache");
        List<String> lines = profile(model.toString(), "--meter", "nvml", "--nvml-library", FakeNvml.LIBRARY.toString(),
                "--batch", "8", "--min-seconds", "0.05", "--fingerprints", "--channel-multiple", "4", "--widths", "2",
                "--cache", cache.toString()).lines().toList();
        List<String> layers = lines.subList(1, lines.indexOf(lines.stream().filter(l -> l.startsWith("total")).findFirst().orElseThrow()));
        assertThat(layers).extracting(l -> l.split("\\s+")[0]).contains("conv1", "bn1", "depthwise", "residual", "fc")
                .doesNotContain("shape");
        double shares = layers.stream().mapToDouble(l -> Double.parseDouble(l.split("\\s+")[3].replace("%", ""))).sum();
        assertThat(shares).isCloseTo(100.0, within(0.01 * layers.size()));
        for (String layer : layers) {
            String[] f = layer.split("\\s+");
            double joules = Double.parseDouble(f[2]);
            double seconds = Double.parseDouble(f[4]) / 1e6;
            assertThat(joules).as(layer).isCloseTo(WATTS * seconds, within(0.25 * WATTS * seconds));
        }
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("whole model, measured alone"));
        assertThat(lines).anySatisfy(l -> assertThat(l).matches("layers' sum differs from the whole model by [-+]\\d+\\.\\d% .*"));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("meter: nvml (NVIDIA H100 80GB HBM3 (fake)"));

        // c1 (16 channels, multiple 4): measured at 16, 12 and 4... its layers cost less as the group narrows
        String c1 = lines.stream().filter(l -> l.startsWith("conv1")).reduce((a, b) -> b).orElseThrow();
        assertThat(c1).contains(" 16: ", " 12: ", " 4: ");
        try (var files = Files.list(cache)) {
            Path file = files.findFirst().orElseThrow();
            assertThat(file.getFileName().toString()).matches("[0-9a-f]{64}-h100-nvml-batch8\\.json");
            assertThat(Files.readString(file)).contains("\"16\"");
        }
    }

    @Test
    void everyComputingNodeOfTheEncoderRunsAloneWithItsIntegerAndMaskInputs() throws Exception {
        FakeNvml.compile().fakeNvmlConfigure(WATTS, 2, 0, 1, 0, 0);
        OnnxModel bert = OnnxModel.load(Fixtures.path("bert2"));
        try (NvmlMeter nvml = NvmlMeter.open(FakeNvml.LIBRARY.toString(), "0")) {
            IsolatedLayers.Profile p = IsolatedLayers.measure(bert, 1, nvml, 1, 0);
            assertThat(p.layers()).extracting(IsolatedLayers.Layer::opType).contains("Gather", "MatMul", "Softmax", "Add");
            assertThat(p.layers()).allSatisfy(l -> assertThat(l.joules()).as(l.node()).isPositive());
            assertThat(p.wholeJoules()).isPositive();
            assertThat(p.meter()).isEqualTo("nvml");
        }
    }

    @Test
    void aMeterThatCannotBeOpenedIsAClearErrorAndExitThree() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream previous = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = new CommandLine(new ProfileCommand()).execute(Fixtures.path("resnet18").toString(), "--meter", "nvml",
                    "--nvml-library", dir.resolve("libnvidia-ml.so.1").toString());
            assertThat(code).isEqualTo(3);
        } finally {
            System.setErr(previous);
        }
        assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("pollard profile: --meter nvml: NVML not available");
    }
}
