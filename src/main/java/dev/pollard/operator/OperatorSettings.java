package dev.pollard.operator;

/** Settings the operator reads from its environment (set in manifests/06-deployment.yaml). */
record OperatorSettings(String workerImage) {
    static final String DEFAULT_IMAGE = "ghcr.io/pollard-dev/pollard:0.1.0";

    static OperatorSettings fromEnvironment() {
        String image = System.getenv("POLLARD_WORKER_IMAGE");
        return new OperatorSettings(image == null || image.isBlank() ? DEFAULT_IMAGE : image);
    }
}
