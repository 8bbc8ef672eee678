package dev.pollard.worker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pollard.api.RunSummary;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;

/**
 * Writes the run summary where Kubernetes reads a container's termination message (at most 4 KiB): the operator copies
 * it into the PruningJob's status. Outside a pod (no such file) nothing is written.
 */
public final class TerminationMessage {
    static final int LIMIT = 4096;
    private static final ObjectMapper JSON = new ObjectMapper();

    private TerminationMessage() {
    }

    /** The file to write: POLLARD_TERMINATION_MESSAGE_PATH when set, else /dev/termination-log when it exists. */
    static Path path() {
        String override = System.getenv("POLLARD_TERMINATION_MESSAGE_PATH");
        if (override != null && !override.isBlank()) {
            return Path.of(override);
        }
        Path standard = Path.of("/dev/termination-log");
        return Files.exists(standard) ? standard : null;
    }

    public static void write(RunSummary summary) {
        Path path = path();
        if (path == null) {
            return;
        }
        try {
            Files.writeString(path, fit(summary), StandardCharsets.UTF_8);
        } catch (IOException e) {
            System.err.println("pollard: could not write the termination message to " + path + ": " + e.getMessage());
        }
    }

    /** The summary as JSON within the limit: the oldest iterations go first, then the error is shortened. */
    static String fit(RunSummary summary) {
        try {
            RunSummary copy = JSON.readValue(JSON.writeValueAsString(summary), RunSummary.class);
            String json = JSON.writeValueAsString(copy);
            while (json.getBytes(StandardCharsets.UTF_8).length > LIMIT && copy.iterations != null && !copy.iterations.isEmpty()) {
                copy.iterations = new ArrayList<>(copy.iterations.subList(1, copy.iterations.size()));
                json = JSON.writeValueAsString(copy);
            }
            while (json.getBytes(StandardCharsets.UTF_8).length > LIMIT && copy.error != null && !copy.error.isEmpty()) {
                // bytes, not characters, are what the limit counts: shorten by the excess (at least one character)
                int excess = json.getBytes(StandardCharsets.UTF_8).length - LIMIT;
                copy.error = copy.error.substring(0, Math.max(0, copy.error.length() - Math.max(1, excess)));
                json = JSON.writeValueAsString(copy);
            }
            return json;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
