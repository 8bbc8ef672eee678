package dev.pollard.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs a main class (a fuzzer) in a JVM of its own with {@code -Xmx256m} and the test's class path, its output in
 * {@code report}: the heap is the fuzzer's own, so an OutOfMemoryError there is a finding, not a broken test JVM.
 */
public final class SmallHeapJvm {
    private SmallHeapJvm() {
    }

    /**
     * @param hangGuardMinutes a guard against a hang, not a measure of speed
     * @return what it printed, once it has ended with exit status 0 and said it ran with at most 256 MiB of heap
     */
    public static String run(Class<?> main, Path report, long hangGuardMinutes, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(report.toFile()).start();
        boolean ended = process.waitFor(hangGuardMinutes, TimeUnit.MINUTES);
        if (!ended) {
            process.destroyForcibly();
        }
        String output = Files.readString(report);
        System.out.print(output);
        assertThat(ended).as("%s ended; it printed:%n%s", main.getSimpleName(), output).isTrue();
        assertThat(process.exitValue()).as("exit status; %s printed:%n%s", main.getSimpleName(), output).isZero();

        Matcher heap = Pattern.compile("heap -Xmx256m, Runtime.maxMemory\\(\\) (\\d+) MiB").matcher(output);
        assertThat(heap.find()).as("the fuzzer's JVM ran with -Xmx256m:%n%s", output).isTrue();
        assertThat(Integer.parseInt(heap.group(1))).as("its heap in MiB").isLessThanOrEqualTo(256);
        return output;
    }
}
