package dev.pollard.energy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.pollard.graph.NodeCost;
import dev.pollard.graph.OnnxModel;
import dev.pollard.testing.Fixtures;
import dev.pollard.testing.OnnxBuilder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ProfileCommandTest {

    @Test
    void sharesAddUpToAHundredPercentAndLayersToTheTotal() {
        List<NodeCost> costs = NodeCost.of(OnnxModel.of(OnnxBuilder.smallCnn(), "small-cnn"), 4);
        AnalyticalMeter meter = new AnalyticalMeter(HardwarePresets.energyModel(HardwarePresets.spec("h100")));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ProfileCommand.print(costs, meter, 4, "h100", new PrintStream(bytes, true, StandardCharsets.UTF_8));
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        List<String> layers = lines.subList(1, lines.size() - 2);
        assertThat(layers).extracting(l -> l.split("\\s+")[0]).contains("conv1", "bn1", "depthwise", "residual", "fc")
                .doesNotContain("flatten", "shape");
        double shares = layers.stream().mapToDouble(l -> Double.parseDouble(l.split("\\s+")[5].replace("%", ""))).sum();
        assertThat(shares).isCloseTo(100.0, within(0.01 * layers.size()));
        double joules = layers.stream().mapToDouble(l -> Double.parseDouble(l.split("\\s+")[4])).sum();
        String[] total = lines.get(lines.size() - 2).split("\\s+");
        assertThat(joules).isCloseTo(Double.parseDouble(total[3]), within(Double.parseDouble(total[3]) * 0.01));
        assertThat(lines.get(lines.size() - 1)).startsWith("meter: analytical (h100 datasheet model), batch 4");
    }

    @Test
    void theResnet18FixturesTableHasSharesThatAddUpToAHundredPercent() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream previous = System.out;
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            assertThat(new CommandLine(new ProfileCommand()).execute(Fixtures.path("resnet18").toString(), "--hardware", "h100"))
                    .isZero();
        } finally {
            System.setOut(previous);
        }
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        List<String> layers = lines.subList(1, lines.size() - 2);
        assertThat(layers).hasSizeGreaterThan(40); // 20 convolutions with their BatchNorms and ReLUs, pools, fc
        double shares = layers.stream().mapToDouble(l -> Double.parseDouble(l.split("\\s+")[5].replace("%", ""))).sum();
        assertThat(shares).isCloseTo(100.0, within(0.01 * layers.size()));
        assertThat(lines.get(lines.size() - 2)).startsWith("total").contains("100.00%");
    }
}
