package dev.pollard.worker;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl;
import dev.pollard.testing.TinyOnnx;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A dataset or model whose header lies ends the worker with exit 2 (the Job fails at once, with the reason) and one
 * line on stderr, not with an OutOfMemoryError and exit 1, which the Job would retry.
 */
class MalformedInputExitTest {
    @TempDir
    Path dir;

    private record Ending(int code, String stderr) {
    }

    private Ending prune(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream previous = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = new CommandLine(new PruneCommand()).execute(args);
            return new Ending(code, err.toString(StandardCharsets.UTF_8).strip());
        } finally {
            System.setErr(previous);
        }
    }

    @Test
    void anNpzArrayWhoseHeaderClaims2GbEndsWithExitTwo() throws Exception {
        byte[] lying = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII))
                .put((byte) 2).put((byte) 0).putInt(0x7fffffff).array();
        Path npz = dir.resolve("data.npz");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(npz))) {
            for (String name : new String[] {"x.npy", "y.npy"}) {
                zip.putNextEntry(new ZipEntry(name));
                zip.write(lying);
                zip.closeEntry();
            }
        }
        Ending ending = prune("--out", dir.resolve("out").toString(), "--dataset", npz.toString(), "--dataset-format", "npz");
        assertThat(ending).isEqualTo(new Ending(WorkerExit.INVALID_INPUT, "pollard prune: " + npz
                + ":x.npy: malformed .npy header: it declares 2147483647 bytes of header; numpy writes at most 10000"));
    }

    @Test
    void aModelWhoseInitializerClaimsABillionValuesEndsWithExitTwo() throws Exception {
        OnnxMl.ModelProto.Builder model = OnnxMl.ModelProto.parseFrom(TinyOnnx.classifier()).toBuilder();
        model.getGraphBuilder().getInitializerBuilder(0).clearDims().addDims(1_000_000_000L);
        Path file = Files.write(dir.resolve("model.onnx"), model.build().toByteArray());
        Ending ending = prune("--out", dir.resolve("out").toString(), "--model", file.toString());
        assertThat(ending).isEqualTo(new Ending(WorkerExit.INVALID_INPUT, "pollard prune: " + file
                + ": initializer W: dims [1000000000] declare 1000000000 values, the tensor holds 12"));
    }
}
