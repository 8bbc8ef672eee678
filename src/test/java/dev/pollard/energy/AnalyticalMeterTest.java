package dev.pollard.energy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pollard.testing.Resources;
import java.util.List;
import org.junit.jupiter.api.Test;

class AnalyticalMeterTest {
    static final EnergyModel H100 = HardwarePresets.energyModel(HardwarePresets.spec("h100"));

    @Test
    void followsTheDocumentedRooflineFormula() {
        AnalyticalMeter meter = new AnalyticalMeter(H100);
        // compute bound: 67e9 FLOP take 1 ms at 67 TFLOP/s; 33.5 MB take 0.01 ms at 3350 GB/s
        AnalyticalMeter.Estimate conv = meter.estimate(new OpCost("conv1", "Conv", 67e9, 33.5e6));
        assertThat(conv.computeBound()).isTrue();
        assertThat(conv.seconds()).isCloseTo(1e-3, within(1e-12));
        assertThat(conv.joules()).isCloseTo(70 * 1e-3 + 630 * (1e-3 + 1e-5) / 2, within(1e-9));
        // memory bound: an elementwise op moving 335 MB (0.1 ms) with few FLOPs
        AnalyticalMeter.Estimate relu = meter.estimate(new OpCost("relu1", "Relu", 1e6, 335e6));
        assertThat(relu.computeBound()).isFalse();
        assertThat(relu.seconds()).isCloseTo(1e-4, within(1e-12));
    }

    @Test
    void layerEnergiesAddUpToTheModelsAndShrinkWithTheWork() {
        AnalyticalMeter meter = new AnalyticalMeter(H100);
        List<OpCost> model = List.of(new OpCost("conv1", "Conv", 2e9, 4e6), new OpCost("bn1", "BatchNormalization", 4e6, 8e6),
                new OpCost("fc", "Gemm", 1e8, 4e6));
        double sum = meter.estimate(model).stream().mapToDouble(AnalyticalMeter.Estimate::joules).sum();
        assertThat(meter.joules(model)).isCloseTo(sum, within(sum * 0.01));
        List<OpCost> pruned = List.of(new OpCost("conv1", "Conv", 1e9, 2e6), new OpCost("bn1", "BatchNormalization", 2e6, 4e6),
                new OpCost("fc", "Gemm", 1e8, 4e6));
        assertThat(meter.joules(pruned)).isLessThan(meter.joules(model));
        assertThat(meter.joules(model)).isEqualTo(new AnalyticalMeter(H100).joules(model)); // deterministic
    }

    @Test
    void everyPresetLoadsAndTheH100ExampleAgreesWithItsPreset() {
        for (String name : HardwarePresets.NAMES) {
            EnergyModel model = HardwarePresets.energyModel(HardwarePresets.spec(name));
            assertThat(model.tdpWatts()).as(name).isGreaterThan(model.idleWatts());
        }
        JsonNode example = Resources.YAML.valueToTree(Resources.readYaml("examples/hardwareclass-h100.yaml")).get("spec");
        JsonNode preset = HardwarePresets.spec("h100");
        assertThat(example.get("energyModel")).isEqualTo(preset.get("energyModel"));
        assertThat(example.get("gpu")).isEqualTo(preset.get("gpu"));
        assertThat(example.get("meter")).isEqualTo(preset.get("meter"));
    }
}
