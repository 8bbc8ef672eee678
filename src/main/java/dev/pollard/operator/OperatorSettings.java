package dev.pollard.operator;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/** Settings the operator reads from its environment once, at start (set in manifests/06-deployment.yaml). */
public record OperatorSettings(String workerImage) {
    static final String DEFAULT_IMAGE = "ghcr.io/pollard-dev/pollard:0.1.0";

    public static OperatorSettings fromEnvironment() {
        String image = System.getenv("POLLARD_WORKER_IMAGE");
        return new OperatorSettings(image == null || image.isBlank() ? DEFAULT_IMAGE : image);
    }

    /** What the reconcilers are given in the running operator. */
    static final class Producer {
        @Produces
        @Singleton
        OperatorSettings settings() {
            return fromEnvironment();
        }
    }
}
