package dev.pollard.energy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * CPU package energy from Intel/AMD RAPL through the Linux powercap interface ({@code /sys/class/powercap}): the sum of
 * the package domains' {@code energy_uj} counters, each wrapping at its {@code max_energy_range_uj}.
 */
public final class RaplMeter implements EnergyMeter {
    public static final Path DEFAULT_ROOT = Path.of("/sys/class/powercap");

    private record Domain(String name, Path energy, long range) {
    }

    private final List<Domain> domains;

    private RaplMeter(List<Domain> domains) {
        this.domains = domains;
    }

    /** The package domains under root (intel-rapl:N, not their sub-zones intel-rapl:N:M). */
    public static RaplMeter open(Path root) {
        if (!Files.isDirectory(root)) {
            throw new EnergyMeterException("RAPL not available here: " + root + " does not exist (no powercap driver, or a VM)");
        }
        List<Domain> domains = new ArrayList<>();
        try (var zones = Files.list(root)) {
            for (Path zone : zones.sorted().toList()) {
                String name = zone.getFileName().toString();
                if (name.matches("intel-rapl:\\d+")) {
                    Path energy = zone.resolve("energy_uj");
                    long range = Long.parseLong(Files.readString(zone.resolve("max_energy_range_uj")).trim());
                    Files.readString(energy); // readable? (root-only since CVE-2020-8694 on many systems)
                    String label = Files.exists(zone.resolve("name")) ? Files.readString(zone.resolve("name")).trim() : name;
                    domains.add(new Domain(label, energy, range));
                }
            }
        } catch (java.nio.file.AccessDeniedException e) {
            throw new EnergyMeterException("RAPL not available here: no permission to read " + e.getFile()
                    + " (energy_uj is root-only on most kernels)");
        } catch (NoSuchFileException e) {
            throw new EnergyMeterException("RAPL not available here: " + e.getFile() + " is missing");
        } catch (IOException | NumberFormatException e) {
            throw new EnergyMeterException("RAPL not available here: " + e.getMessage());
        }
        if (domains.isEmpty()) {
            throw new EnergyMeterException("RAPL not available here: no intel-rapl package domain under " + root);
        }
        return new RaplMeter(domains);
    }

    @Override
    public String name() {
        return "rapl";
    }

    @Override
    public String describe() {
        return "RAPL " + domains.stream().map(Domain::name).toList();
    }

    /** RAPL counters update about every millisecond: a few updates are plenty. */
    @Override
    public int minimumSamples() {
        return 1;
    }

    @Override
    public Window measure(Workload workload, int repetitions) {
        long[] before = read();
        long t0 = System.nanoTime();
        workload.run(repetitions);
        long t1 = System.nanoTime();
        long[] after = read();
        double microjoules = 0;
        for (int i = 0; i < domains.size(); i++) {
            long delta = after[i] - before[i];
            microjoules += delta >= 0 ? delta : delta + domains.get(i).range() + 1;
        }
        double seconds = (t1 - t0) / 1e9;
        // energy_uj refreshes about every millisecond
        return new Window(name(), microjoules / 1e6, seconds, (int) Math.max(0, Math.floor(seconds * 1000)), repetitions);
    }

    private long[] read() {
        long[] values = new long[domains.size()];
        for (int i = 0; i < values.length; i++) {
            try {
                values[i] = Long.parseLong(Files.readString(domains.get(i).energy()).trim());
            } catch (IOException e) {
                throw new EnergyMeterException("RAPL read of " + domains.get(i).energy() + " failed: " + e.getMessage());
            }
        }
        return values;
    }
}
