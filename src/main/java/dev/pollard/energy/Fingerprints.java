package dev.pollard.energy;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pollard.data.Artifacts;
import dev.pollard.data.Digests;
import dev.pollard.graph.OnnxModel;
import dev.pollard.graph.PruningGroup;
import dev.pollard.graph.Surgery;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * Energy fingerprints: for a prunable group, the joules per inference of its layers at its dense width and at narrower
 * widths (multiples of the channel multiple), each measured with those layers running alone in ONNX Runtime under a
 * hardware meter ({@link IsolatedLayers}). Measured once per (model sha256, hardware class, meter, batch): kept in
 * memory, and in {@code <cache>/<sha256>-<hardware class>-<meter>-batch<N>.json} when a cache directory is given.
 */
public final class Fingerprints {
    /** A group's layers' joules per inference by width. */
    public record Fingerprint(String group, String kind, int width, TreeMap<Integer, Double> joulesByWidth) {
        /** What one unit costs: the slope from the dense width to the next narrower one measured (never negative). */
        public double joulesPerUnit() {
            Map.Entry<Integer, Double> lower = joulesByWidth.lowerEntry(width);
            return lower == null ? 0 : Math.max(0, (joulesByWidth.get(width) - lower.getValue()) / (width - lower.getKey()));
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<Map<String, TreeMap<Integer, Double>>> FILE = new TypeReference<>() {
    };

    private final EnergyMeter meter;
    private final int batch;
    private final int windows;
    private final double minimumSeconds;
    private final Path cache;
    /** model sha256 + hardware class + meter + batch → group id → width → joules */
    private final Map<String, Map<String, TreeMap<Integer, Double>>> known = new HashMap<>();

    /** @param cache directory for fingerprint files, or null to keep them in memory only */
    public Fingerprints(EnergyMeter meter, int batch, int windows, double minimumSeconds, Path cache) {
        this.meter = meter;
        this.batch = batch;
        this.windows = windows;
        this.minimumSeconds = minimumSeconds;
        this.cache = cache;
    }

    /** Widths to fingerprint a group at: dense, then {@code candidates} evenly spaced narrower multiples. */
    public static Set<Integer> widths(int width, int multiple, int candidates) {
        Set<Integer> widths = new TreeSet<>(List.of(width));
        for (int i = 1; i <= candidates; i++) {
            int w = (int) Math.round((double) width * (candidates + 1 - i) / (candidates + 1) / multiple) * multiple;
            if (w >= multiple && w < width) {
                widths.add(w);
            }
        }
        if (widths.size() == 1 && width > multiple) {
            widths.add(width - multiple);
        }
        return widths;
    }

    /** The group's fingerprint at the given widths, measuring only what is not known yet. */
    public Fingerprint of(OnnxModel model, PruningGroup group, Set<Integer> widths, String hardwareClass) {
        String key = Digests.sha256(model.proto().toByteArray()) + "-" + hardwareClass + "-" + meter.name() + "-batch" + batch;
        Map<String, TreeMap<Integer, Double>> groups = known.computeIfAbsent(key, this::load);
        TreeMap<Integer, Double> byWidth = groups.computeIfAbsent(group.id(), id -> new TreeMap<>());
        boolean measured = false;
        for (int w : widths) {
            if (!byWidth.containsKey(w)) {
                OnnxModel narrower = w == group.width() ? model
                        : Surgery.remove(model, group, IntStream.range(0, group.width() - w).toArray());
                byWidth.put(w, IsolatedLayers.measure(narrower, batch, meter, windows, minimumSeconds,
                        Set.copyOf(group.nodes())).layerJoules());
                measured = true;
            }
        }
        if (measured) {
            save(key, groups);
        }
        return new Fingerprint(group.id(), group.kind(), group.width(), new TreeMap<>(byWidth));
    }

    private Map<String, TreeMap<Integer, Double>> load(String key) {
        Path file = cache == null ? null : cache.resolve(key + ".json");
        try {
            return file != null && Files.exists(file) ? JSON.readValue(file.toFile(), FILE) : new HashMap<>();
        } catch (IOException e) {
            return new HashMap<>(); // an unreadable cache entry is measured again and rewritten
        }
    }

    private void save(String key, Map<String, TreeMap<Integer, Double>> groups) {
        if (cache == null) {
            return;
        }
        try {
            Files.createDirectories(cache);
            Artifacts.write(cache.resolve(key + ".json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(groups));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the fingerprint cache " + cache + ": " + e.getMessage(), e);
        }
    }
}
