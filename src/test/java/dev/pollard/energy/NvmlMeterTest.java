package dev.pollard.energy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The NVML meter through JNA for real, against a fake libnvidia-ml.so that simulates a GPU at constant power. */
class NvmlMeterTest {
    static final double WATTS = 250;
    static FakeNvml.Control fake;

    @BeforeAll
    static void compileFake() throws Exception {
        fake = FakeNvml.compile();
    }

    /** A stand-in for one inference: keeps the CPU busy for a millisecond. */
    static final Workload ONE_MILLISECOND = repetitions -> {
        long end = System.nanoTime() + repetitions * 1_000_000L;
        while (System.nanoTime() < end) {
            Thread.onSpinWait();
        }
    };

    private static EnergyReading measure() {
        try (NvmlMeter meter = NvmlMeter.open(FakeNvml.LIBRARY.toString(), "0")) {
            return Measurements.measure(meter, ONE_MILLISECOND, 3, 0);
        }
    }

    @Test
    void energyCounterGivesJoulesPerInference() {
        fake.fakeNvmlConfigure(WATTS, 20, 1_000_000, 1, 0, 0);
        try (NvmlMeter meter = NvmlMeter.open(FakeNvml.LIBRARY.toString(), "GPU-fake-0000")) {
            assertThat(meter.usesEnergyCounter()).isTrue();
            assertThat(meter.product()).isEqualTo("NVIDIA H100 80GB HBM3 (fake)");
            assertThat(meter.driverVersion()).isEqualTo("550.54.15-fake");
            assertThat(meter.powerLimitWatts()).isEqualTo(700.0);
            EnergyReading reading = Measurements.measure(meter, ONE_MILLISECOND, 3, 0);
            assertThat(reading.meter()).isEqualTo("nvml");
            // 250 W for 1 ms = 0.25 J; the counter's 20 ms steps allow one step of error over >= 10 steps
            assertThat(reading.median()).isCloseTo(WATTS * 1e-3, within(0.15 * WATTS * 1e-3));
            assertThat(reading.windows()).hasSize(3).allSatisfy(w -> assertThat(w.samples()).isGreaterThanOrEqualTo(10));
        }
    }

    @Test
    void energySinceTheLastCounterStepIsCounted() {
        // an H200's counter moves every 100 ms: 10 steps of 25 J from a 250 W board, and a window that ends 90 ms after
        // the last of them, whose energy the counter does not show yet (read at the end, the window gave 229 W)
        long ms = 1_000_000L;
        double joules = NvmlMeter.windowJoules(1_000_000, 1_250_000, 0, 1090 * ms, 1000 * ms);
        assertThat(joules / 1.090).isCloseTo(WATTS, within(1e-9));
        // no step after the opening one: nothing to scale
        assertThat(NvmlMeter.windowJoules(1_000_000, 1_000_000, 0, 50 * ms, 0)).isZero();
    }

    @Test
    void withoutACounterPowerSamplesAreIntegrated() {
        fake.fakeNvmlConfigure(WATTS, 20, 0, 0, 0, 0);
        try (NvmlMeter meter = NvmlMeter.open(FakeNvml.LIBRARY.toString(), "0")) {
            assertThat(meter.usesEnergyCounter()).isFalse();
            EnergyReading reading = Measurements.measure(meter, ONE_MILLISECOND, 3, 0);
            assertThat(reading.median()).isCloseTo(WATTS * 1e-3, within(0.15 * WATTS * 1e-3));
        }
    }

    @Test
    void counterWrapAroundIsHandled() {
        // 2^64 - 5000 mJ: at 250 W the counter wraps about 20 ms into the test
        fake.fakeNvmlConfigure(WATTS, 20, -5000L, 1, 0, 0);
        EnergyReading reading = measure();
        assertThat(reading.median()).isCloseTo(WATTS * 1e-3, within(0.15 * WATTS * 1e-3));
        assertThat(reading.min()).isPositive();
    }

    @Test
    void nvmlErrorsBecomeClearMessages() {
        String lib = FakeNvml.LIBRARY.toString();
        fake.fakeNvmlConfigure(WATTS, 20, 0, 1, NvmlLibrary.NVML_ERROR_DRIVER_NOT_LOADED, 0);
        assertThatThrownBy(() -> NvmlMeter.open(lib, "0")).isInstanceOf(EnergyMeterException.class)
                .hasMessage("NVML nvmlInit: the NVIDIA driver is not loaded on this node");

        fake.fakeNvmlConfigure(WATTS, 20, 0, 1, 0, NvmlLibrary.NVML_ERROR_NO_PERMISSION);
        assertThatThrownBy(() -> NvmlMeter.open(lib, "0"))
                .hasMessage("NVML nvmlDeviceGetTotalEnergyConsumption: no permission (the worker's user may not query the GPU)");

        fake.fakeNvmlConfigure(WATTS, 20, 0, 1, 0, 0);
        assertThatThrownBy(() -> NvmlMeter.open(lib, "5"))
                .hasMessage("NVML device 5: invalid argument (no such device index or UUID?)");
        assertThatThrownBy(() -> NvmlMeter.open(lib, "GPU-0123"))
                .hasMessage("NVML device GPU-0123: no such device");
        assertThatThrownBy(() -> NvmlMeter.open("/nonexistent/libnvidia-ml.so.1", "0"))
                .hasMessage("NVML not available: /nonexistent/libnvidia-ml.so.1 not found (no NVIDIA driver on this node)");
    }
}
