package dev.pollard.api;

/** Regular expressions shared by the CRD schemas. */
public final class Patterns {
    private Patterns() {
    }

    /** A Kubernetes object name (RFC 1123 subdomain). */
    public static final String DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
    /** Where a model or dataset can be read from: a PVC path, http(s), s3 or (local runs) a file. */
    public static final String READABLE_URI =
            "^(pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?/.+|https?://[^/\\s]+(/\\S*)?|s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\\S+|file:///\\S+)$";
    /** Where an artifact can be written: a PVC path, s3 or (local runs) a file. */
    public static final String WRITABLE_URI =
            "^(pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?/.+|s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\\S+|file:///\\S+)$";
    public static final String SHA256 = "^[a-f0-9]{64}$";
}
