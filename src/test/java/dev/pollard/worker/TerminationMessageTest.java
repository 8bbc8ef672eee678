package dev.pollard.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pollard.api.PruningJobStatus;
import dev.pollard.api.RunSummary;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import org.junit.jupiter.api.Test;

class TerminationMessageTest {

    @Test
    void dropsTheOldestIterationsToFitKubernetesLimitAndKeepsTheResult() throws Exception {
        RunSummary summary = new RunSummary();
        summary.artifact = new PruningJobStatus.Artifact();
        summary.artifact.sha256 = "b".repeat(64);
        summary.artifact.uri = "pvc://models/out/model.onnx";
        summary.iterations = new ArrayList<>();
        for (int i = 1; i <= 200; i++) {
            PruningJobStatus.Iteration it = new PruningJobStatus.Iteration();
            it.index = i;
            it.channelsRemoved = 16;
            it.accuracy = 0.9;
            it.joulesPerInference = 0.001;
            it.rolledBack = false;
            summary.iterations.add(it);
        }
        String json = TerminationMessage.fit(summary);
        assertThat(json.getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(TerminationMessage.LIMIT);
        RunSummary back = new ObjectMapper().readValue(json, RunSummary.class);
        assertThat(back.artifact.sha256).isEqualTo(summary.artifact.sha256);
        assertThat(back.iterations).isNotEmpty().hasSizeLessThan(200);
        assertThat(back.iterations.get(back.iterations.size() - 1).index).isEqualTo(200);
        assertThat(summary.iterations).hasSize(200); // the caller's summary is left whole
    }
}
