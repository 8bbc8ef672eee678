package dev.pollard.energy;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Energy of an NVIDIA GPU through NVML: the board's total-energy counter (millijoules, Volta and newer), or, where
 * the device has no counter, power samples integrated over the window on a background thread.
 *
 * <p>The counter only moves every 20-100 ms. A window therefore starts right after a counter step, its energy is dated
 * by the last step inside it, and {@link Measurements} grows the repetitions until a window spans at least
 * {@link #minimumSamples()} steps.
 */
public final class NvmlMeter implements EnergyMeter, EnergyCounter {
    public static final String DEFAULT_LIBRARY = "libnvidia-ml.so.1";
    static final long POWER_SAMPLE_MILLIS = 10;

    private final NvmlLibrary nvml;
    private final Pointer device;
    private final String product;
    private final String driver;
    private final double powerLimitWatts;
    private final boolean counter;

    private NvmlMeter(NvmlLibrary nvml, Pointer device, String product, String driver, double powerLimitWatts, boolean counter) {
        this.nvml = nvml;
        this.device = device;
        this.product = product;
        this.driver = driver;
        this.powerLimitWatts = powerLimitWatts;
        this.counter = counter;
    }

    /**
     * @param library file name or path of libnvidia-ml
     * @param device a device index ("0") or UUID ("GPU-...")
     */
    public static NvmlMeter open(String library, String device) {
        NvmlLibrary nvml;
        try {
            nvml = Native.load(library, NvmlLibrary.class);
        } catch (UnsatisfiedLinkError e) {
            throw new EnergyMeterException("NVML not available: " + library + " not found (no NVIDIA driver on this node)");
        }
        check(nvml, nvml.nvmlInit_v2(), "nvmlInit");
        try {
            PointerByReference handle = new PointerByReference();
            if (device.startsWith("GPU-") || device.startsWith("MIG-")) {
                check(nvml, nvml.nvmlDeviceGetHandleByUUID(device, handle), "device " + device);
            } else {
                check(nvml, nvml.nvmlDeviceGetHandleByIndex_v2(Integer.parseInt(device), handle), "device " + device);
            }
            Pointer d = handle.getValue();
            byte[] name = new byte[96];
            check(nvml, nvml.nvmlDeviceGetName(d, name, name.length), "nvmlDeviceGetName");
            byte[] version = new byte[80];
            check(nvml, nvml.nvmlSystemGetDriverVersion(version, version.length), "nvmlSystemGetDriverVersion");
            IntByReference limit = new IntByReference();
            double limitWatts = nvml.nvmlDeviceGetPowerManagementLimit(d, limit) == NvmlLibrary.NVML_SUCCESS
                    ? limit.getValue() / 1000.0 : Double.NaN;
            LongByReference energy = new LongByReference();
            int rc = nvml.nvmlDeviceGetTotalEnergyConsumption(d, energy);
            boolean counter = rc == NvmlLibrary.NVML_SUCCESS;
            if (!counter && rc != NvmlLibrary.NVML_ERROR_NOT_SUPPORTED) {
                check(nvml, rc, "nvmlDeviceGetTotalEnergyConsumption");
            }
            if (!counter) {
                check(nvml, nvml.nvmlDeviceGetPowerUsage(d, new IntByReference()), "nvmlDeviceGetPowerUsage (no energy counter either)");
            }
            return new NvmlMeter(nvml, d, text(name), text(version), limitWatts, counter);
        } catch (RuntimeException e) {
            nvml.nvmlShutdown();
            throw e;
        }
    }

    /** Whether energy comes from the hardware counter (true) or from integrated power samples (false). */
    public boolean usesEnergyCounter() {
        return counter;
    }

    public String product() {
        return product;
    }

    public String driverVersion() {
        return driver;
    }

    public double powerLimitWatts() {
        return powerLimitWatts;
    }

    /** The device's UUID (GPU-... or MIG-...), the UUID label of dcgm-exporter's series. */
    public String uuid() {
        byte[] uuid = new byte[96]; // NVML_DEVICE_UUID_V2_BUFFER_SIZE
        check(nvml, nvml.nvmlDeviceGetUUID(device, uuid, uuid.length), "nvmlDeviceGetUUID");
        return text(uuid);
    }

    @Override
    public String name() {
        return "nvml";
    }

    @Override
    public String describe() {
        return product + ", driver " + driver + (counter ? ", energy counter" : ", integrated power samples");
    }

    @Override
    public Window measure(Workload workload, int repetitions) {
        return counter ? measureWithCounter(workload, repetitions) : measureWithPowerSamples(workload, repetitions);
    }

    /**
     * The device's energy counter in joules. Readings are only as fresh as the counter's last update (20-100 ms), so
     * differences are meaningful over seconds, not single requests. Needs the counter: power samples give no total.
     */
    @Override
    public double totalJoules() {
        if (!counter) {
            throw new EnergyMeterException("NVML: " + product + " has no energy counter (nvmlDeviceGetTotalEnergyConsumption "
                    + "not supported), so no running total is available");
        }
        return unsigned(energyMillijoules()) / 1000.0;
    }

    private long energyMillijoules() {
        LongByReference mj = new LongByReference();
        check(nvml, nvml.nvmlDeviceGetTotalEnergyConsumption(device, mj), "nvmlDeviceGetTotalEnergyConsumption");
        return mj.getValue();
    }

    /** A counter value and when it was first seen (System.nanoTime). */
    private record Step(long millijoules, long nanos) {
    }

    /**
     * The counter's rise from the step that opens the window to the last step inside it covers exactly the time
     * between those steps; the window's joules are that rise at its rate over the whole window. Reading the counter
     * at the window's end instead would miss the energy since the last step, on average half an update period: 4 %
     * of a 1.2 s window on an H200, whose counter moves every 100 ms (docs/energy.md, GPU validation).
     */
    private Window measureWithCounter(Workload workload, int repetitions) {
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger steps = new AtomicInteger();
        AtomicReference<Step> last = new AtomicReference<>(new Step(energyMillijoules(), System.nanoTime()));
        // dates the counter's steps in the window; started first, so that starting a thread is not in the window
        Thread watcher = new Thread(() -> {
            while (running.get()) {
                long now = energyMillijoules();
                if (now != last.get().millijoules()) {
                    last.set(new Step(now, System.nanoTime()));
                    steps.incrementAndGet();
                }
                sleepQuietly(2);
            }
        }, "nvml-counter");
        watcher.setDaemon(true);
        watcher.start();
        long before = energyMillijoules();
        long start;
        while ((start = energyMillijoules()) == before) {
            Thread.onSpinWait(); // begin on a counter step, so the window does not inherit a partial period
        }
        long t0 = System.nanoTime();
        last.set(new Step(start, t0));
        steps.set(0);
        workload.run(repetitions);
        long end = energyMillijoules();
        long t1 = System.nanoTime();
        running.set(false);
        joinQuietly(watcher);
        Step lastStep = last.get();
        if (end != lastStep.millijoules()) { // a step the watcher had not polled yet: it happened just now
            lastStep = new Step(end, t1);
            steps.incrementAndGet();
        }
        return new Window(name(), windowJoules(start, end, t0, t1, lastStep.nanos()), (t1 - t0) / 1e9, steps.get(),
                repetitions);
    }

    /**
     * A window's joules from the counter at its opening step ({@code startMj}, time {@code t0}) and at its end: the rise
     * up to the last step inside the window, seen at {@code lastStepNanos}, at that rate over the window until {@code t1}.
     */
    static double windowJoules(long startMj, long endMj, long t0, long t1, long lastStepNanos) {
        // unsigned 64-bit counter: two's-complement subtraction is the right difference across a wrap
        double joules = unsigned(endMj - startMj) / 1000.0;
        return lastStepNanos > t0 ? joules * (t1 - t0) / (lastStepNanos - t0) : joules;
    }

    private Window measureWithPowerSamples(Workload workload, int repetitions) {
        List<double[]> samples = new ArrayList<>(); // {seconds since t0, watts}
        AtomicBoolean running = new AtomicBoolean(true);
        long t0 = System.nanoTime();
        Thread sampler = new Thread(() -> {
            IntByReference mw = new IntByReference();
            while (running.get()) {
                check(nvml, nvml.nvmlDeviceGetPowerUsage(device, mw), "nvmlDeviceGetPowerUsage");
                synchronized (samples) {
                    samples.add(new double[] {(System.nanoTime() - t0) / 1e9, mw.getValue() / 1000.0});
                }
                sleepQuietly(POWER_SAMPLE_MILLIS);
            }
        }, "nvml-power");
        sampler.setDaemon(true);
        sampler.start();
        workload.run(repetitions);
        double seconds = (System.nanoTime() - t0) / 1e9;
        running.set(false);
        joinQuietly(sampler);
        double joules = 0;
        synchronized (samples) {
            for (int i = 1; i < samples.size(); i++) {
                double[] a = samples.get(i - 1);
                double[] b = samples.get(i);
                double from = Math.min(a[0], seconds);
                double to = Math.min(b[0], seconds);
                joules += (to - from) * (a[1] + b[1]) / 2; // trapezoid, clipped to the window
            }
            if (!samples.isEmpty()) {
                double[] last = samples.get(samples.size() - 1);
                joules += Math.max(0, seconds - last[0]) * last[1];
            }
            return new Window(name(), joules, seconds, samples.size(), repetitions);
        }
    }

    private static double unsigned(long value) {
        return value >= 0 ? value : (value >>> 1) * 2.0 + (value & 1);
    }

    @Override
    public void close() {
        nvml.nvmlShutdown();
    }

    static void check(NvmlLibrary nvml, int rc, String operation) {
        if (rc != NvmlLibrary.NVML_SUCCESS) {
            throw new EnergyMeterException("NVML " + operation + ": " + describe(rc));
        }
    }

    static String describe(int rc) {
        return switch (rc) {
            case NvmlLibrary.NVML_ERROR_UNINITIALIZED -> "NVML was not initialised";
            case NvmlLibrary.NVML_ERROR_INVALID_ARGUMENT -> "invalid argument (no such device index or UUID?)";
            case NvmlLibrary.NVML_ERROR_NOT_SUPPORTED -> "not supported by this device";
            case NvmlLibrary.NVML_ERROR_NO_PERMISSION -> "no permission (the worker's user may not query the GPU)";
            case NvmlLibrary.NVML_ERROR_NOT_FOUND -> "no such device";
            case NvmlLibrary.NVML_ERROR_DRIVER_NOT_LOADED -> "the NVIDIA driver is not loaded on this node";
            case NvmlLibrary.NVML_ERROR_LIBRARY_NOT_FOUND -> "NVML library not found";
            case NvmlLibrary.NVML_ERROR_GPU_IS_LOST -> "the GPU fell off the bus or is otherwise lost";
            default -> "NVML error " + rc;
        };
    }

    private static String text(byte[] cString) {
        int n = 0;
        while (n < cString.length && cString[n] != 0) {
            n++;
        }
        return new String(cString, 0, n, StandardCharsets.UTF_8);
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void joinQuietly(Thread t) {
        try {
            t.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
