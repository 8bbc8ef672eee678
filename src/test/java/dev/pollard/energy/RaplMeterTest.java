package dev.pollard.energy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The RAPL meter against a powercap directory laid out like the kernel's, whose counter the workload advances. */
class RaplMeterTest {
    @TempDir
    Path root;

    private Path zone(String name, long energy, long range) throws IOException {
        Path zone = Files.createDirectories(root.resolve(name));
        Files.writeString(zone.resolve("energy_uj"), energy + "\n");
        Files.writeString(zone.resolve("max_energy_range_uj"), range + "\n");
        Files.writeString(zone.resolve("name"), "package-" + name.substring(name.indexOf(':') + 1) + "\n");
        return zone;
    }

    /** Each repetition adds 0.5 J to a package counter, wrapping at its range like the hardware. */
    private static Workload advancing(Path zone, long range) {
        return repetitions -> {
            try {
                Path f = zone.resolve("energy_uj");
                long value = Long.parseLong(Files.readString(f).trim());
                Files.writeString(f, ((value + 500_000L * repetitions) % (range + 1)) + "\n");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        };
    }

    @Test
    void sumsPackageDomainsAndHandlesWrap() throws IOException {
        long range = 262_143_328_850L;
        Path pkg0 = zone("intel-rapl:0", range - 700_000, range); // wraps during the first window
        zone("intel-rapl:0:0", 0, range); // a sub-zone (core): not counted again
        try (RaplMeter meter = RaplMeter.open(root)) {
            assertThat(meter.describe()).isEqualTo("RAPL [package-0]");
            Window w = meter.measure(advancing(pkg0, range), 4);
            assertThat(w.joules()).isCloseTo(2.0, within(1e-9));
            assertThat(w.joulesPerRepetition()).isCloseTo(0.5, within(1e-9));
            assertThat(w.meter()).isEqualTo("rapl");
        }
    }

    @Test
    void saysWhyWhenUnavailable() throws IOException {
        assertThatThrownBy(() -> RaplMeter.open(root.resolve("absent"))).isInstanceOf(EnergyMeterException.class)
                .hasMessageStartingWith("RAPL not available here: " + root.resolve("absent") + " does not exist");
        assertThatThrownBy(() -> RaplMeter.open(root))
                .hasMessage("RAPL not available here: no intel-rapl package domain under " + root);
    }
}
