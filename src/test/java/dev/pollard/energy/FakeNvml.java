package dev.pollard.energy;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The fake libnvidia-ml.so from src/test/c/fake_nvml.c, compiled with gcc by the test build, and its control knob. */
public final class FakeNvml {
    public static final Path SOURCE = Path.of("src/test/c/fake_nvml.c");
    public static final Path LIBRARY = Path.of("target/fake-nvml/libnvidia-ml.so.1").toAbsolutePath();

    public interface Control extends Library {
        void fakeNvmlConfigure(double watts, int updateMillis, long counterStartMillijoules, int hasCounter, int initError,
                int energyError);
    }

    private static Control control;

    private FakeNvml() {
    }

    /** Compiles the library when it is missing or older than its source, and returns its control functions. */
    public static synchronized Control compile() throws IOException, InterruptedException {
        if (control == null) {
            if (!Files.exists(LIBRARY) || Files.getLastModifiedTime(LIBRARY).compareTo(Files.getLastModifiedTime(SOURCE)) < 0) {
                Files.createDirectories(LIBRARY.getParent());
                Process gcc = new ProcessBuilder("gcc", "-shared", "-fPIC", "-O2", "-o", LIBRARY.toString(), SOURCE.toString())
                        .redirectErrorStream(true).start();
                String out = new String(gcc.getInputStream().readAllBytes());
                if (gcc.waitFor() != 0) {
                    throw new IllegalStateException("gcc could not build the fake NVML library:\n" + out);
                }
            }
            control = Native.load(LIBRARY.toString(), Control.class);
        }
        return control;
    }
}
