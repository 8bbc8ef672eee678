package dev.pollard.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pollard.data.Digests;
import dev.pollard.energy.FakeNvml;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The prune command on the embedded default model and Debian's Fashion-MNIST, kept short with small settings. */
class PruneCommandTest {
    @TempDir
    Path dir;

    private int prune(String... args) {
        return new CommandLine(new PruneCommand()).execute(args);
    }

    @Test
    void aTightEpsilonRollsBackVisiblyAndTheReportSaysSo() throws Exception {
        Path out = dir.resolve("out");
        int code = prune("--out", out.toString(), "--epsilon", "0.0", "--eval-samples", "1000", "--finetune-steps", "0",
                "--max-iterations", "2", "--step-fraction", "0.5");
        assertThat(code).isZero();
        var report = new ObjectMapper().readTree(out.resolve("report.json").toFile());
        assertThat(report.get("iterations")).isNotEmpty();
        assertThat(report.get("iterations").get(0).get("rolledBack").asBoolean()).isTrue();
        assertThat(report.at("/baseline/meter").asText()).isEqualTo("analytical");
        assertThat(report.at("/artifact/sha256").asText()).isEqualTo(Digests.sha256(out.resolve("model.onnx")));
        assertThat(Files.readString(out.resolve("summary.txt"))).contains("rolled back");
    }

    @Test
    void aGroupWhoseSmallestStepWasRolledBackIsNotTriedAgainAndTheRunEndsWhenNoneIsLeft() throws Exception {
        // one multiple per step (a tiny step fraction), no fine-tuning, no accuracy to lose: without freezing, the run
        // would roll back one-multiple steps until the iteration limit
        Path out = dir.resolve("frozen");
        assertThat(prune("--out", out.toString(), "--epsilon", "0.0", "--eval-samples", "500", "--finetune-steps", "0",
                "--step-fraction", "0.01", "--max-iterations", "50", "--target-reduction", "0.9")).isZero();
        var report = new ObjectMapper().readTree(out.resolve("report.json").toFile());
        assertThat(report.get("stopReason").asText()).startsWith("no admissible step");
        int rolledBack = 0;
        for (var iteration : report.get("iterations")) {
            assertThat(iteration.get("channelsRemoved").asInt()).isEqualTo(8);
            rolledBack += iteration.get("rolledBack").asBoolean() ? 1 : 0;
        }
        assertThat(rolledBack).isBetween(1, 3); // the embedded CNN has three groups: conv1, conv2, fc1
        assertThat(report.get("iterations").size()).isLessThan(50);
    }

    @Test
    void aStepThatLeavesEpsilonGetsASecondRoundAndEveryRoundCountsAgainstTheLimit() throws Exception {
        // no accuracy to lose and a quarter of every layer gone: five fine-tuning steps cannot make up for it
        Path out = dir.resolve("rounds");
        assertThat(prune("--out", out.toString(), "--epsilon", "0.0", "--eval-samples", "500", "--finetune-steps", "5",
                "--step-fraction", "0.5", "--max-iterations", "3", "--target-reduction", "0.9")).isZero();
        var iterations = new ObjectMapper().readTree(out.resolve("report.json").toFile()).get("iterations");
        assertThat(iterations.get(0).get("fineTuningRounds").asInt()).isEqualTo(2);
        assertThat(iterations.get(0).get("rolledBack").asBoolean()).isTrue();
        int rounds = 0;
        for (var iteration : iterations) {
            rounds += iteration.get("fineTuningRounds").asInt();
        }
        assertThat(rounds).isEqualTo(3); // 2 for the first step, 1 for the second: the limit leaves no room for more
        assertThat(iterations).hasSize(2);
    }

    @Test
    void aStepWithinEpsilonIsKeptAndSavesEnergy() throws Exception {
        Path out = dir.resolve("kept");
        int code = prune("--out", out.toString(), "--epsilon", "0.5", "--eval-samples", "500", "--finetune-steps", "0",
                "--max-iterations", "1", "--target-reduction", "0.2");
        assertThat(code).isZero();
        var report = new ObjectMapper().readTree(out.resolve("report.json").toFile());
        assertThat(report.get("iterations").get(0).get("rolledBack").asBoolean()).isFalse();
        assertThat(report.at("/ratios/energyReduction").asDouble()).isPositive();
        assertThat(report.at("/result/parameters").asLong()).isLessThan(report.at("/baseline/parameters").asLong());
        // energy and latency at the batch GPU serving runs, and the report says so
        assertThat(report.get("servingBatch").asInt()).isEqualTo(32);
        assertThat(Files.readString(out.resolve("summary.txt"))).contains("(analytical meter at batch 32)");
    }

    @Test
    void aSequenceLengthForAModelWithFixedSizesIsRefusedByName() {
        var err = new java.io.ByteArrayOutputStream();
        var previous = System.err;
        System.setErr(new java.io.PrintStream(err, true));
        try {
            assertThat(prune("--out", dir.resolve("z").toString(), "--sequence-length", "128")).isEqualTo(2);
        } finally {
            System.setErr(previous);
        }
        assertThat(err.toString()).contains("a sequence length of 128 was given").contains("leave the sequence length unset");
        assertThat(dir.resolve("z")).doesNotExist();
    }

    @Test
    void knapsackMeetsTheBudgetWithTheFewestImportantUnits() throws Exception {
        Path out = dir.resolve("knapsack");
        int code = prune("--out", out.toString(), "--criterion", "knapsack", "--epsilon", "0.5", "--eval-samples", "500",
                "--finetune-steps", "0", "--max-iterations", "3", "--target-reduction", "0.2", "--step-fraction", "0.2");
        assertThat(code).isZero();
        var report = new ObjectMapper().readTree(out.resolve("report.json").toFile());
        assertThat(report.get("criterion").asText()).isEqualTo("knapsack");
        assertThat(report.at("/ratios/energyReduction").asDouble()).isGreaterThanOrEqualTo(0.2);
        assertThat(report.get("stopReason").asText()).isEqualTo("energy budget met");
    }

    @Test
    void aKeptStepWithAccuracyToSpareGrowsTheNextOne() throws Exception {
        int[] growing = channelsRemoved("2");
        int[] fixed = channelsRemoved("1");
        assertThat(growing[0]).isEqualTo(fixed[0]);
        assertThat(growing[1]).isGreaterThan(fixed[1]);
        assertThat(prune("--out", dir.resolve("z").toString(), "--step-growth", "0.5")).isEqualTo(2);
        assertThat(dir.resolve("z")).doesNotExist();
    }

    /** Units removed by each of two kept steps (ε 0.5 leaves room) with the given step growth. */
    private int[] channelsRemoved(String stepGrowth) throws Exception {
        Path out = dir.resolve("growth-" + stepGrowth);
        assertThat(prune("--out", out.toString(), "--epsilon", "0.5", "--eval-samples", "500", "--finetune-steps", "0",
                "--max-iterations", "2", "--target-reduction", "0.9", "--step-growth", stepGrowth)).isZero();
        var iterations = new ObjectMapper().readTree(out.resolve("report.json").toFile()).get("iterations");
        assertThat(iterations).hasSize(2);
        assertThat(iterations.get(0).get("rolledBack").asBoolean() || iterations.get(1).get("rolledBack").asBoolean()).isFalse();
        return new int[] {iterations.get(0).get("channelsRemoved").asInt(), iterations.get(1).get("channelsRemoved").asInt()};
    }

    @Test
    void anUnknownCriterionIsRefusedByName() {
        assertThat(prune("--out", dir.resolve("y").toString(), "--criterion", "random")).isEqualTo(2);
        assertThat(dir.resolve("y")).doesNotExist();
    }

    @Test
    void aMissingDatasetIsOneLineAndExitTwoAndNothingIsWritten() {
        Path out = dir.resolve("never");
        var err = new java.io.ByteArrayOutputStream();
        var previous = System.err;
        System.setErr(new java.io.PrintStream(err, true));
        try {
            assertThat(prune("--out", out.toString(), "--dataset", dir.resolve("nope").toString())).isEqualTo(2);
        } finally {
            System.setErr(previous);
        }
        assertThat(err.toString().strip()).isEqualTo("pollard prune: " + dir.resolve("nope") + ": no such directory");
        assertThat(out).doesNotExist();
    }

    @Test
    void withNvmlEveryJouleIsMeasuredAndSaysSo() throws Exception {
        // the fake libnvidia-ml through JNA: a GPU at a constant 200 W whose energy counter moves every 2 ms
        FakeNvml.compile().fakeNvmlConfigure(200, 2, 0, 1, 0, 0);
        Path out = dir.resolve("nvml");
        int code = prune("--out", out.toString(), "--meter", "nvml", "--nvml-library", FakeNvml.LIBRARY.toString(),
                "--serving-batch", "8", "--energy-window-seconds", "0.02", "--epsilon", "0.5", "--eval-samples", "500",
                "--finetune-steps", "0", "--max-iterations", "1", "--target-reduction", "0.2");
        assertThat(code).isZero();
        var report = new ObjectMapper().readTree(out.resolve("report.json").toFile());
        assertThat(report.get("meter").asText()).isEqualTo("nvml");
        assertThat(report.get("servingBatch").asInt()).isEqualTo(8);
        assertThat(report.at("/baseline/meter").asText()).isEqualTo("nvml");
        assertThat(report.at("/result/meter").asText()).isEqualTo("nvml");
        assertThat(report.at("/baseline/joulesPerInference").asDouble()).isPositive();
        assertThat(report.get("iterations").get(0).get("joulesPerInference").asDouble()).isPositive();
    }

    @Test
    void aModelFromAnHttpUrlIsFetchedAndAMissingOneIsOneLineAndExitTwo() throws Exception {
        byte[] model;
        try (var in = PruneCommand.class.getResourceAsStream(PruneCommand.EMBEDDED_MODEL)) {
            model = in.readAllBytes();
        }
        var server = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/models/", exchange -> {
            boolean known = exchange.getRequestURI().getPath().equals("/models/fashion-cnn.onnx");
            exchange.sendResponseHeaders(known ? 200 : 404, known ? model.length : -1);
            try (var body = exchange.getResponseBody()) {
                if (known) {
                    body.write(model);
                }
            }
        });
        server.start();
        String base = "http://127.0.0.1:" + server.getAddress().getPort() + "/models/";
        try {
            Path out = dir.resolve("fetched");
            assertThat(prune("--out", out.toString(), "--model", base + "fashion-cnn.onnx", "--max-iterations", "0",
                    "--eval-samples", "200")).isZero();
            var report = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.resolve("report.json").toFile());
            assertThat(report.get("model").asText()).isEqualTo(base + "fashion-cnn.onnx");
            assertThat(report.get("modelSha256").asText()).isEqualTo(dev.pollard.data.Digests.sha256(model));

            var err = new java.io.ByteArrayOutputStream();
            var previous = System.err;
            System.setErr(new java.io.PrintStream(err, true));
            try {
                assertThat(prune("--out", dir.resolve("none").toString(), "--model", base + "nowhere.onnx"))
                        .isEqualTo(WorkerExit.INVALID_INPUT);
            } finally {
                System.setErr(previous);
            }
            assertThat(err.toString().strip()).isEqualTo("pollard prune: model " + base + "nowhere.onnx: HTTP 404");
            assertThat(dir.resolve("none")).doesNotExist();
        } finally {
            server.stop(0);
        }
    }

    @Test
    void aModelWhoseSha256DiffersFromTheSpecsIsRefusedBeforeAnyWork() throws Exception {
        Path model = dir.resolve("model.onnx");
        try (var in = PruneCommand.class.getResourceAsStream(PruneCommand.EMBEDDED_MODEL)) {
            java.nio.file.Files.write(model, in.readAllBytes());
        }
        var err = new java.io.ByteArrayOutputStream();
        var previous = System.err;
        System.setErr(new java.io.PrintStream(err, true));
        try {
            assertThat(prune("--out", dir.resolve("other").toString(), "--model", model.toString(), "--model-uri",
                    "pvc://models/cnn/model.onnx", "--model-sha256", "0".repeat(64))).isEqualTo(WorkerExit.INVALID_INPUT);
        } finally {
            System.setErr(previous);
        }
        assertThat(err.toString().strip()).isEqualTo("pollard prune: model pvc://models/cnn/model.onnx: its sha256 is "
                + dev.pollard.data.Digests.sha256(model) + ", not " + "0".repeat(64) + " as the spec says");
        assertThat(dir.resolve("other")).doesNotExist();
    }

    @Test
    void aMeterThatCannotBeUsedFailsWithItsReasonInsteadOfMeasuringSomethingElse() {
        assertThat(prune("--out", dir.resolve("x").toString(), "--meter", "rapl")).isEqualTo(WorkerExit.METER_UNAVAILABLE);
    }
}
