package dev.pollard.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.AggregatedOperatorException;
import io.javaoperatorsdk.operator.OperatorException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a failed reconciliation puts into a condition's message and an Event: one line, never a stack trace. */
class ErrorsTest {

    @Test
    void aWorkflowFailureIsOneLineNamingEachDependent() {
        Map<String, Exception> causes = new LinkedHashMap<>();
        causes.put("service", new KubernetesClientException("The timeout period of 10000ms has been exceeded while executing "
                + "PATCH /api/v1/namespaces/a/services/b", new RuntimeException("inner\nsecond line")));
        causes.put("deployment", new IllegalStateException("first line\n\tat some.Where(Where.java:1)"));
        AggregatedOperatorException aggregated = new AggregatedOperatorException("Exception(s) during workflow execution.", causes);
        String expected = "service: The timeout period of 10000ms has been exceeded while executing PATCH "
                + "/api/v1/namespaces/a/services/b; deployment: first line";

        assertThat(Errors.message(aggregated)).isEqualTo(expected);
        assertThat(Errors.message(new OperatorException(aggregated))).as("wrapped, as JOSDK hands it over").isEqualTo(expected);
    }

    @Test
    void aLongOrEmptyMessageIsBounded() {
        assertThat(Errors.message(new IllegalStateException("x".repeat(5000)))).hasSize(Errors.MAX_MESSAGE).endsWith("…");
        assertThat(Errors.message(new NullPointerException())).isEqualTo("NullPointerException");
    }
}
