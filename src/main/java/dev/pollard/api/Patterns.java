package dev.pollard.api;

/** Regular expressions and CEL rules shared by the CRD schemas. */
public final class Patterns {
    private Patterns() {
    }

    /** A Kubernetes object name (RFC 1123 subdomain). */
    public static final String DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
    /** Where a model or dataset can be read from: a PVC path, http(s) or (local runs) a file. */
    public static final String READABLE_URI = "^(pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?/.+|https?://[^/\\s]+(/\\S*)?|file:///\\S+)$";
    /** Where an artifact can be written: a PVC path or (local runs) a file. */
    public static final String WRITABLE_URI = "^(pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?/.+|file:///\\S+)$";
    /** CEL: object stores are not reached yet; says so instead of leaving only the pattern's complaint. */
    public static final String NO_S3 = "!self.uri.startsWith('s3://')";
    public static final String NO_S3_MESSAGE = "s3:// URIs are not supported: put the file on a PersistentVolumeClaim (pvc://) "
            + "or serve it over https:// (credentials from secretRef)";
    public static final String SHA256 = "^[a-f0-9]{64}$";
    /** CEL: a secret's value goes over TLS only. */
    public static final String SECRET_OVER_TLS = "!has(self.secretRef) || !self.uri.startsWith('http://')";
    public static final String SECRET_OVER_TLS_MESSAGE = "secretRef credentials are only sent over https://: use an "
            + "https:// URI or drop secretRef";
    /** CEL on a resource's root: its name becomes a label value (at most 63 characters). */
    public static final String NAME_FITS_LABEL = "self.metadata.name.size() <= 63";
    public static final String NAME_FITS_LABEL_MESSAGE = "metadata.name must be at most 63 characters: it becomes a label "
            + "value on what the operator creates";
    /** A namespace name (RFC 1123 label). */
    public static final String DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
}
