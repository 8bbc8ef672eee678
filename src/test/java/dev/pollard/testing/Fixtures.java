package dev.pollard.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/** The ONNX exports of real architectures that fixtures/make-fixtures.sh builds (e2e/setup.sh runs it). */
public final class Fixtures {
    private Fixtures() {
    }

    public static Path dir() {
        String dir = System.getenv("POLLARD_FIXTURES");
        return dir != null ? Path.of(dir) : Path.of(System.getProperty("user.home"), ".cache", "pollard", "fixtures");
    }

    /**
     * A fixture by name (resnet18, mobilenet_v2, bert2, torch_transformer, masked_encoder, all_minilm_l6_v2); fails,
     * never skips, when it has not been built.
     */
    public static Path path(String name) {
        Path file = dir().resolve(name + ".onnx");
        if (!Files.isRegularFile(file)) {
            throw new IllegalStateException(file + " is missing: run fixtures/make-fixtures.sh (e2e/setup.sh does)");
        }
        return file;
    }
}
