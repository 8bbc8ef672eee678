package dev.pollard.energy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * The built-in HardwareClass presets (examples/hardwareclasses/*.yaml, also packed into the jar), and reading the energy
 * model out of a HardwareClass spec.
 */
public final class HardwarePresets {
    public static final List<String> NAMES = List.of("h100", "h200", "a100", "l4", "t4", "generic-cpu");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private HardwarePresets() {
    }

    /** The spec of a preset HardwareClass, as a JSON tree. */
    public static JsonNode spec(String name) {
        if (!NAMES.contains(name)) {
            throw new IllegalArgumentException("unknown hardware class '" + name + "' (presets: " + String.join(", ", NAMES) + ")");
        }
        try (InputStream in = HardwarePresets.class.getResourceAsStream("/hardwareclasses/" + name + ".yaml")) {
            if (in == null) {
                throw new IllegalStateException("preset " + name + " is missing from the jar");
            }
            return YAML.readTree(in).get("spec");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The energy model of a HardwareClass spec (a preset's, or the JSON the operator hands a worker). */
    public static EnergyModel energyModel(JsonNode spec) {
        JsonNode m = spec.path("energyModel");
        return new EnergyModel(m.path("tdpWatts").asDouble(), m.path("idleWatts").asDouble(0),
                m.path("peakTflops").asDouble(), m.path("memoryBandwidthGBs").asDouble());
    }

    /** The meter a HardwareClass spec requires (analytical when it names none). */
    public static String meter(JsonNode spec) {
        return spec.path("meter").asText("analytical");
    }
}
