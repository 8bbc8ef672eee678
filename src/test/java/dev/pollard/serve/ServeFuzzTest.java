package dev.pollard.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pollard.testing.SmallHeapJvm;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The model server fuzzed over HTTP: {@link ServeFuzzer} in a JVM of its own with a 256 MiB heap, serving the tiny
 * model with the defaults of {@code pollard serve}, fed mutated infer bodies and mutated request lines of every route.
 * The suite runs a short form (400 inputs per kind); bench/serve-fuzz.sh runs the long one through this test with
 * -Dpollard.fuzz.inputs=10000. The table goes to standard output and to target/serve-fuzz.txt, requests that did not
 * end as documented to target/serve-fuzz-failures/.
 */
class ServeFuzzTest {
    private static final int INPUTS = Integer.getInteger("pollard.fuzz.inputs", 400);
    private static final long SEED = Long.getLong("pollard.fuzz.seed", 20251202L);
    private static final List<String> KINDS = List.of("body", "path");
    /** kind, inputs, 2xx, 4xx, 501 to a version other than HTTP/1.x, 503, 504, other 5xx, no answer, bad body, logged, OOMs. */
    private static final Pattern ROW = Pattern.compile("(?m)^(\\w+)" + "\\s+(\\d+)".repeat(11) + "\\s+[\\d.]+$");

    @Test
    void mutatedRequestsEndInDocumentedAnswersAndLeaveTheServerWellInA256MiBHeap() throws Exception {
        Path report = Path.of("target", "serve-fuzz.txt");
        Path failures = Path.of("target", "serve-fuzz-failures");
        // the hang guard is not a measure of speed: 400 requests a kind take seconds on 2 cores
        String output = SmallHeapJvm.run(ServeFuzzer.class, report, Math.max(15, INPUTS / 100), String.valueOf(INPUTS),
                String.valueOf(SEED), failures.toString());

        Matcher row = ROW.matcher(output);
        int rows = 0;
        while (row.find()) {
            String kind = row.group(1);
            assertThat(KINDS).contains(kind);
            int[] n = new int[13];
            for (int g = 2; g <= 12; g++) {
                n[g] = Integer.parseInt(row.group(g));
            }
            assertThat(n[2]).as(kind + " inputs").isEqualTo(INPUTS);
            // 2xx, 4xx, 501 to another HTTP version, 503 and 504: every input got one of the documented answers
            assertThat(n[3] + n[4] + n[5] + n[6] + n[7]).as(kind + ": documented answers").isEqualTo(INPUTS);
            // both outcomes reached: the mutations get past the first check, and they break something
            assertThat(n[3]).as(kind + " 2xx").isPositive();
            assertThat(n[4]).as(kind + " 4xx").isPositive();
            assertThat(new int[] {n[8], n[9], n[10], n[11], n[12]}).as(kind + " other 5xx, no answer, bad bodies, logged errors, OOMs")
                    .containsOnly(0);
            if (kind.equals("body")) {
                assertThat(n[5]).as("501s to an HTTP/1.1 request").isZero();
            }
            rows++;
        }
        assertThat(rows).as("a row per kind in:%n%s", output).isEqualTo(KINDS.size());

        assertThat(output).as("the server after the run").contains("after the run: {infer=200, live=200, model ready=200, ready=200}");
        Matcher metrics = Pattern.compile("metrics: (\\S+), \\d+ lines, \\d+ bytes, (\\d+) request series \\(bound (\\d+):.*in flight "
                + "(\\d+); (\\d+) distinct paths requested").matcher(output);
        assertThat(metrics.find()).as("the metrics line in:%n%s", output).isTrue();
        assertThat(metrics.group(1)).isEqualTo("well-formed");
        int series = Integer.parseInt(metrics.group(2));
        assertThat(series).as("request series").isLessThanOrEqualTo(Integer.parseInt(metrics.group(3)));
        assertThat(Integer.parseInt(metrics.group(5))).as("distinct paths requested, far more than series").isGreaterThan(2 * series);
        assertThat(metrics.group(4)).as("inference requests in flight after the run").isEqualTo("0");
        assertThat(output).contains("errors the server logged in all: 0").containsPattern("(?m)^clean$");
    }
}
