package dev.pollard.operator;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Short stable digests for names the operator derives (runs, generated PruningJobs, Events). */
final class Hashes {
    private Hashes() {
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A Kubernetes name from a readable base and a key: the base cut to fit 63 characters, then 10 hex digits of the key. */
    static String name(String base, String key) {
        String hash = sha256(key).substring(0, 10);
        int room = 63 - hash.length() - 1;
        return (base.length() > room ? base.substring(0, room) : base).replaceAll("[-.]+$", "") + "-" + hash;
    }
}
