package dev.pollard.graph;

import static org.assertj.core.api.Assertions.assertThat;

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

class LatencyCommandTest {

    @TempDir
    Path dir;

    @Test
    void everyModelGetsALineAndTheFirstIsTheReference() throws Exception {
        OnnxModel dense = OnnxModel.of(OnnxBuilder.smallCnn(), "small-cnn");
        Path a = dir.resolve("dense.onnx");
        Path b = dir.resolve("pruned.onnx");
        dense.save(a);
        UniformPruning.prune(dense, 0.5, 4).save(b);

        Run run = run(a.toString(), b.toString(), "--batch", "4", "--runs", "3", "--warmup", "1");

        assertThat(run.code()).isZero();
        List<String> lines = run.out().lines().toList();
        assertThat(lines).hasSize(4);
        assertThat(lines.get(1).trim().split("\\s+")).satisfies(f -> {
            assertThat(Double.parseDouble(f[0])).isPositive();
            assertThat(f[1]).isEqualTo("1.00x");
            assertThat(f[2]).isEqualTo(a.toString());
        });
        assertThat(lines.get(2)).endsWith(b.toString());
        assertThat(lines.get(3)).startsWith("ONNX Runtime CPU, batch 4, median of 3 interleaved runs after 1 warm-up runs");
    }

    @Test
    void aFileThatIsNoModelIsNamedAndFailsTheCommand() throws Exception {
        Path junk = Files.writeString(dir.resolve("junk.onnx"), "not a model");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream previous = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = new CommandLine(new LatencyCommand()).execute(junk.toString());
        } finally {
            System.setErr(previous);
        }
        assertThat(code).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("pollard latency: ").contains("junk.onnx");
    }

    private record Run(int code, String out) {
    }

    private static Run run(String... args) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream previous = System.out;
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            int code = new CommandLine(new LatencyCommand()).execute(args);
            return new Run(code, bytes.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(previous);
        }
    }
}
