package dev.pollard.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pollard.energy.EnergyCounter;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The exposition itself: label values escaped, label names checked, model series once a model is loaded. */
class MetricsTest {
    private static final EnergyCounter TEN_JOULES_ON_THE_METER = new EnergyCounter() {
        @Override
        public String name() {
            return "test";
        }

        @Override
        public double totalJoules() {
            return 10;
        }
    };

    @Test
    void labelValuesAreEscapedAsTheTextFormatRequires() {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put("hardware_class", "a\"b\\c\nd");
        labels.put("pod_name", null); // unknown: left out
        Metrics metrics = new Metrics("m\"}\n", labels, null, () -> 0);
        assertThat(metrics.render()).contains(
                "pollard_inference_requests_in_flight{model=\"m\\\"}\\n\",hardware_class=\"a\\\"b\\\\c\\nd\"} 0\n")
                .doesNotContain("pod_name");
    }

    @Test
    void labelNamesPrometheusRejectsOrTheServerSetsItselfAreRefused() {
        for (String name : new String[] {"pod-name", "1gpu", "__name__", "route", "model"}) {
            assertThatThrownBy(() -> new Metrics("m", Map.of(name, "x"), null, () -> 0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("metric label '" + name + "'");
        }
    }

    @Test
    void theModelsSeriesAppearOnceItIsLoadedWithItsShaAndJoulesFromThen() {
        Metrics metrics = new Metrics("m", Map.of("UUID", "GPU-1"), TEN_JOULES_ON_THE_METER, () -> 0);
        metrics.request(Route.SERVER_READY.template, 400);
        assertThat(metrics.render()).contains("pollard_http_requests_total{model=\"m\",UUID=\"GPU-1\",route=\"/v2/health/ready\","
                + "code=\"400\"} 1\n").doesNotContain("pollard_inferences_total", "pollard_energy_joules_total");
        metrics.modelLoaded("ab12");
        metrics.inference(3, 0.02);
        assertThat(metrics.render())
                .contains("pollard_inferences_total{model=\"m\",UUID=\"GPU-1\",model_sha256=\"ab12\"} 3\n")
                .contains("pollard_inference_duration_seconds_bucket{model=\"m\",UUID=\"GPU-1\",model_sha256=\"ab12\","
                        + "le=\"0.01\"} 0\n")
                .contains("pollard_inference_duration_seconds_bucket{model=\"m\",UUID=\"GPU-1\",model_sha256=\"ab12\","
                        + "le=\"0.025\"} 1\n")
                .contains("pollard_energy_joules_total{model=\"m\",UUID=\"GPU-1\",model_sha256=\"ab12\",meter=\"test\"} 0.0\n")
                // an http request's series keeps its labels: it identifies the server, loaded or not
                .contains("pollard_http_requests_total{model=\"m\",UUID=\"GPU-1\",route=\"/v2/health/ready\",code=\"400\"} 1\n");
    }
}
