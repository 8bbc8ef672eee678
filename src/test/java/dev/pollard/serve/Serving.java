package dev.pollard.serve;

import dev.pollard.energy.EnergyCounter;
import java.nio.file.Path;

/** Started servers with their model loaded: what most tests talk to. */
final class Serving {
    private Serving() {
    }

    static ModelServer loaded(Path model, String name, ServerSettings settings, EnergyCounter energy) throws Exception {
        ModelServer server = new ModelServer(name, settings, energy).start();
        try {
            server.load(model, null);
            return server;
        } catch (Exception e) {
            server.close();
            throw e;
        }
    }
}
