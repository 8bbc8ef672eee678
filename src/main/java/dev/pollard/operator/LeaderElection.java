package dev.pollard.operator;

import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.quarkus.arc.Unremovable;
import jakarta.enterprise.context.Dependent;
import jakarta.enterprise.inject.Produces;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.UUID;
import java.util.function.Function;

/**
 * Lease-based leader election (JOSDK's, which the Quarkus Operator SDK picks up as a bean): with more than one replica
 * only the holder of the Lease reconciles; the others wait and take over when it stops renewing. On when
 * POLLARD_LEADER_ELECTION is true (the chart and manifests/ set it), off for a plain {@code ./pollard operator}.
 */
final class LeaderElection {
    static final String DEFAULT_LEASE = "pollard-operator";

    private LeaderElection() {
    }

    /** The configuration, or null when leader election is off (the operator then reconciles alone). */
    static LeaderElectionConfiguration from(Function<String, String> environment) {
        if (!"true".equalsIgnoreCase(environment.apply("POLLARD_LEADER_ELECTION"))) {
            return null;
        }
        String lease = orElse(environment.apply("POLLARD_LEASE_NAME"), DEFAULT_LEASE);
        String namespace = orElse(environment.apply("POD_NAMESPACE"), "default");
        // every replica needs an identity of its own: its pod's name, else this host and a random suffix
        String identity = orElse(environment.apply("POD_NAME"), host() + "-" + UUID.randomUUID().toString().substring(0, 8));
        return new LeaderElectionConfiguration(lease, namespace, LeaderElectionConfiguration.LEASE_DURATION_DEFAULT_VALUE,
                LeaderElectionConfiguration.RENEW_DEADLINE_DEFAULT_VALUE, LeaderElectionConfiguration.RETRY_PERIOD_DEFAULT_VALUE,
                identity, null, true);
    }

    private static String orElse(String value, String fallback) {
        return value == null || value.isBlank() ? fallback : value.strip();
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "pollard";
        }
    }

    static final class Producer {
        // looked up by the Quarkus Operator SDK, not injected: kept from Quarkus's removal of unused beans
        @Produces
        @Dependent
        @Unremovable
        LeaderElectionConfiguration leaderElection() {
            return from(System::getenv);
        }
    }
}
