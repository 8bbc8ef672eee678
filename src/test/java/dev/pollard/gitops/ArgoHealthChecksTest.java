package dev.pollard.gitops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pollard.testing.ArgoHealth;
import dev.pollard.testing.Resources;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Each kind's Argo CD health check against its health_test.yaml, as Argo CD tests its bundled checks: status objects
 * (captured from the end-to-end runs) in each state, and the health they must give.
 */
class ArgoHealthChecksTest {
    private static final List<String> KINDS = List.of("PruningJob", "InferenceDeployment", "CompressionPolicy", "HardwareClass");

    @TestFactory
    Stream<DynamicTest> everyKindInEveryState() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        for (String kind : KINDS) {
            List<JsonNode> cases = ArgoHealth.cases(kind);
            assertThat(cases.stream().map(c -> c.at("/healthStatus/status").asText()))
                    .as("%s: cases for Progressing, Healthy and Degraded", kind)
                    .contains("Progressing", "Healthy", "Degraded");
            for (JsonNode c : cases) {
                String input = c.get("inputPath").asText();
                tests.add(DynamicTest.dynamicTest(kind + " " + input, () -> {
                    JsonNode object = Resources.YAML.readTree(Files.readString(ArgoHealth.CHECKS.resolve(kind).resolve(input)));
                    ArgoHealth.Health health = ArgoHealth.assess(kind, object);
                    assertThat(health.status()).isEqualTo(c.at("/healthStatus/status").asText());
                    assertThat(health.message()).isEqualTo(c.at("/healthStatus/message").asText());
                }));
            }
        }
        return tests.stream();
    }
}
