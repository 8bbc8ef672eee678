package dev.pollard.serve;

import dev.pollard.energy.EnergyCounter;
import java.nio.file.Path;
import java.util.Map;

/** Started servers with their model loaded: what most tests talk to. */
final class Serving {
    private Serving() {
    }

    static ModelServer loaded(Path model, String name, ServerSettings settings, EnergyCounter energy) throws Exception {
        return loaded(model, name, settings, Map.of(), energy);
    }

    static ModelServer loaded(Path model, String name, ServerSettings settings, Map<String, String> labels,
            EnergyCounter energy) throws Exception {
        ModelServer server = new ModelServer(name, settings, labels, energy).start();
        try {
            server.load(model, null);
            return server;
        } catch (Exception e) {
            server.close();
            throw e;
        }
    }
}
