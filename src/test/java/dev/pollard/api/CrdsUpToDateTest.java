package dev.pollard.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The CRDs are generated from the Java classes; the committed copies must match, so nobody edits YAML by hand and
 * forgets the Java side. To regenerate: {@code mvn test -Dtest=CrdsUpToDateTest -Dpollard.updateCrds=true}.
 */
class CrdsUpToDateTest {

    @Test
    void committedCrdsMatchTheJavaClasses() throws IOException {
        Map<Path, String> expected = CrdFiles.committedCopies(CrdFiles.generate());
        assertThat(expected).hasSize(3 * CrdFiles.KINDS.size()); // crds/, manifests/ and the chart
        boolean update = Boolean.getBoolean("pollard.updateCrds");
        for (var e : expected.entrySet()) {
            Path file = e.getKey();
            if (update) {
                Files.createDirectories(file.getParent());
                Files.writeString(file, e.getValue());
            }
            assertThat(file).as("%s is missing; regenerate with -Dpollard.updateCrds=true", file).exists();
            assertThat(Files.readString(file))
                    .as("%s differs from what dev.pollard.api generates; regenerate with "
                            + "mvn test -Dtest=CrdsUpToDateTest -Dpollard.updateCrds=true", file)
                    .isEqualTo(e.getValue());
        }
    }
}
