package dev.pollard.data;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pollard.testing.SmallHeapJvm;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The parsers a tenant can feed, fuzzed: {@link ParserFuzzer} in a JVM of its own with a 256 MiB heap, so that an
 * allocation sized by a lying header fails here as it would in a small worker pod. The suite runs a short form (600
 * inputs per parser); bench/fuzz.sh runs the long one through this test with -Dpollard.fuzz.inputs=10000. The table
 * goes to standard output and to target/parser-fuzz.txt, inputs that crashed to target/parser-fuzz-crashes/.
 */
class ParserFuzzTest {
    private static final int INPUTS = Integer.getInteger("pollard.fuzz.inputs", 600);
    private static final long SEED = Long.getLong("pollard.fuzz.seed", 20251202L);
    private static final List<String> PARSERS = List.of("idx", "npy", "npz", "csv", "onnx");
    private static final Pattern ROW = Pattern.compile("(?m)^(\\w+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+[\\d.]+$");

    @Test
    void mutatedInputsEndAcceptedOrRejectedWithTheDocumentedErrorInA256MiBHeap() throws Exception {
        Path report = Path.of("target", "parser-fuzz.txt");
        Path crashes = Path.of("target", "parser-fuzz-crashes");
        // the hang guard is not a measure of speed: 600 inputs a parser take well under a minute on 2 cores
        String output = SmallHeapJvm.run(ParserFuzzer.class, report, Math.max(15, INPUTS / 100), String.valueOf(INPUTS),
                String.valueOf(SEED), crashes.toString());

        Matcher row = ROW.matcher(output);
        int rows = 0;
        while (row.find()) {
            String parser = row.group(1);
            assertThat(PARSERS).contains(parser);
            assertThat(Integer.parseInt(row.group(2))).as(parser + " inputs").isEqualTo(INPUTS);
            int rejected = Integer.parseInt(row.group(3));
            int accepted = Integer.parseInt(row.group(4));
            assertThat(rejected + accepted).as(parser + ": rejected + accepted").isEqualTo(INPUTS);
            // both outcomes reached: the mutations get past the first check, and they break something
            assertThat(rejected).as(parser + " rejected").isPositive();
            assertThat(accepted).as(parser + " accepted").isPositive();
            assertThat(List.of(row.group(5), row.group(6), row.group(7))).as(parser + " crashes, bad messages, OOMs").containsOnly("0");
            rows++;
        }
        assertThat(rows).as("a row per parser in:%n%s", output).isEqualTo(PARSERS.size());
    }

    @Test
    void aRejectionKeepsTheContractOnlyOnOneLineNamingTheFile() {
        Path dir = Path.of("/tmp/pollard-fuzz1/npy");
        assertThat(ParserFuzzer.keepsTheContract(dir.resolve("x.npy") + ": truncated", dir)).isTrue();
        assertThat(ParserFuzzer.keepsTheContract(dir.resolve("x.npy") + ": unsupported dtype '<f4\nor else'", dir)).isFalse();
        assertThat(ParserFuzzer.keepsTheContract(dir.resolve("x.npy") + ": line\u2028break", dir)).isFalse();
        assertThat(ParserFuzzer.keepsTheContract("unreadable: Input length = 1", dir)).isFalse();
        assertThat(ParserFuzzer.keepsTheContract(null, dir)).isFalse();
    }
}
