package dev.pollard.testing;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs Pollard's Argo CD health checks ({@code argocd/resource_customizations/pollard.dev/<Kind>/health.lua}) the way
 * Argo CD does: the object as the global {@code obj} (a Lua table), the script's returned table read as status and
 * message. The interpreter is Debian's Lua 5.1, the language version of gopher-lua, which Argo CD embeds.
 */
public final class ArgoHealth {
    public static final Path CHECKS = Path.of("argocd", "resource_customizations", "pollard.dev");
    private static final String LUA = "lua5.1";

    /** What a health check said. */
    public record Health(String status, String message) {
    }

    private ArgoHealth() {
    }

    public static Health assess(String kind, JsonNode object) throws IOException, InterruptedException {
        Path script = CHECKS.resolve(kind).resolve("health.lua").toAbsolutePath();
        String program = "obj = " + lua(object) + "\n"
                + "local hs = dofile(" + quote(script.toString()) + ")\n"
                + "io.write(tostring(hs.status), '\\n', tostring(hs.message))\n";
        Process lua;
        try {
            lua = new ProcessBuilder(LUA, "-").redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IllegalStateException(LUA + " is missing: e2e/setup.sh installs it (Debian package lua5.1)", e);
        }
        lua.getOutputStream().write(program.getBytes(StandardCharsets.UTF_8));
        lua.getOutputStream().close();
        String out = new String(lua.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!lua.waitFor(30, TimeUnit.SECONDS) || lua.exitValue() != 0) {
            throw new IllegalStateException(script + " failed on " + object + ":\n" + out);
        }
        int newline = out.indexOf('\n');
        return new Health(out.substring(0, newline), out.substring(newline + 1));
    }

    /** A JSON value as a Lua literal: objects and arrays become tables (arrays 1-based), null disappears. */
    static String lua(JsonNode node) {
        if (node.isObject()) {
            StringBuilder s = new StringBuilder("{");
            for (Iterator<Map.Entry<String, JsonNode>> fields = node.fields(); fields.hasNext();) {
                Map.Entry<String, JsonNode> field = fields.next();
                if (!field.getValue().isNull()) {
                    s.append('[').append(quote(field.getKey())).append("]=").append(lua(field.getValue())).append(',');
                }
            }
            return s.append('}').toString();
        }
        if (node.isArray()) {
            StringBuilder s = new StringBuilder("{");
            node.forEach(item -> s.append(lua(item)).append(','));
            return s.append('}').toString();
        }
        if (node.isNumber() || node.isBoolean()) {
            return node.asText();
        }
        return quote(node.asText());
    }

    private static String quote(String text) {
        StringBuilder s = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '\\' -> s.append("\\\\");
                case '"' -> s.append("\\\"");
                case '\n' -> s.append("\\n");
                case '\r' -> s.append("\\r");
                default -> s.append(c);
            }
        }
        return s.append('"').toString();
    }

    /** The cases of a kind's health_test.yaml: input file and expected health. */
    public static List<JsonNode> cases(String kind) throws IOException {
        JsonNode tests = Resources.YAML.readTree(Files.readString(CHECKS.resolve(kind).resolve("health_test.yaml")));
        List<JsonNode> cases = new java.util.ArrayList<>();
        tests.get("tests").forEach(cases::add);
        return cases;
    }
}
