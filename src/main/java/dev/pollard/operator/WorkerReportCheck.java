package dev.pollard.operator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pollard.api.Patterns;
import dev.pollard.api.RunSummary;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What the operator accepts from a worker's report before any of it reaches status or a deployment: the artifact must
 * lie in this run's own output directory, digests must be well-formed (the model server checks the file's sha256 before
 * it serves anything), the source must be the model the spec pinned, and every number finite. A worker is a tenant's
 * process: it is believed only within these bounds.
 */
final class WorkerReportCheck {
    static final int MAX_MESSAGE = 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    private WorkerReportCheck() {
    }

    /** Why the report cannot be taken, if it cannot. */
    static Optional<String> problem(RunSummary report, String expectedArtifactUri, String pinnedSourceSha256) {
        if (report.artifact == null || !expectedArtifactUri.equals(report.artifact.uri)) {
            return Optional.of("the worker reported the artifact " + (report.artifact == null ? "(none)" : quote(report.artifact.uri))
                    + ", which is not this run's " + expectedArtifactUri);
        }
        if (report.artifact.sha256 == null || !report.artifact.sha256.matches(Patterns.SHA256)) {
            return Optional.of("the worker reported the sha256 " + quote(report.artifact.sha256)
                    + ", which is not 64 lowercase hex digits");
        }
        String source = report.source == null ? null : report.source.sha256;
        if (source != null && !source.matches(Patterns.SHA256)) {
            return Optional.of("the worker reported the source sha256 " + quote(source) + ", which is not 64 lowercase hex digits");
        }
        if (pinnedSourceSha256 != null && !pinnedSourceSha256.equals(source)) {
            return Optional.of("the worker reported pruning the model sha256 " + quote(source) + ", not spec.model.sha256 "
                    + pinnedSourceSha256);
        }
        return nonFinite(JSON.valueToTree(report), "").map(path -> "the worker reported a number that is not finite at " + path);
    }

    private static Optional<String> nonFinite(JsonNode node, String path) {
        if (node.isNumber()) {
            return Double.isFinite(node.asDouble()) ? Optional.empty() : Optional.of(path);
        }
        if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                Optional<String> found = nonFinite(node.get(i), path + "/" + i);
                if (found.isPresent()) {
                    return found;
                }
            }
        }
        for (Iterator<Map.Entry<String, JsonNode>> fields = node.fields(); fields.hasNext();) {
            Map.Entry<String, JsonNode> field = fields.next();
            Optional<String> found = nonFinite(field.getValue(), path + "/" + field.getKey());
            if (found.isPresent()) {
                return found;
            }
        }
        return Optional.empty();
    }

    /**
     * One line for status and Events out of what a worker said when it failed: its own one-line error ("pollard ..."),
     * else the last line that is not part of a stack trace, at most {@value #MAX_MESSAGE} characters.
     */
    static String oneLine(String message) {
        List<String> lines = message.strip().lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
        String line = lines.stream().filter(l -> l.startsWith("pollard ")).reduce((a, b) -> b)
                .or(() -> lines.stream().filter(l -> !l.startsWith("at ") && !l.startsWith("...") && !l.startsWith("Caused by"))
                        .reduce((a, b) -> b))
                .orElse("the worker failed without a message");
        return line.length() > MAX_MESSAGE ? line.substring(0, MAX_MESSAGE - 1) + "…" : line;
    }

    private static String quote(String value) {
        if (value == null) {
            return "(none)";
        }
        String shown = value.length() > 200 ? value.substring(0, 200) + "…" : value;
        return "'" + Objects.toString(shown) + "'";
    }
}
