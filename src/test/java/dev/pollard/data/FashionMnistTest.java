package dev.pollard.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded default's dataset on a machine without Debian's package: fetched once, without root, from Debian's
 * registry (the same place e2e/setup.sh installs it from), then found in the cache.
 */
class FashionMnistTest {

    @Test
    void whenNotInstalledItIsFetchedOnceIntoTheCacheAndSaysSo(@TempDir Path dir) {
        Path notInstalled = dir.resolve("usr/share/datasets/fashion-mnist");
        Path cache = dir.resolve("cache/datasets/fashion-mnist");
        ByteArrayOutputStream log = new ByteArrayOutputStream();

        Path located = FashionMnist.locate(notInstalled, cache, new PrintStream(log, true));
        assertThat(located).isEqualTo(cache);
        assertThat(log.toString()).contains("is not installed (Debian package dataset-fashion-mnist); fetching it into "
                + cache);
        Datasets.Splits splits = Datasets.load(located, "idx");
        assertThat(splits.train().size()).isEqualTo(60_000);
        assertThat(splits.test().size()).isEqualTo(10_000);
        assertThat(cache.getParent()).isDirectoryNotContaining("glob:**/.fetch-*"); // no leftovers

        ByteArrayOutputStream again = new ByteArrayOutputStream();
        assertThat(FashionMnist.locate(notInstalled, cache, new PrintStream(again, true))).isEqualTo(cache);
        assertThat(again.toString()).as("the second time, nothing is fetched").isEmpty();
    }

    @Test
    void anInstalledDatasetIsUsedAsItIs(@TempDir Path dir) throws Exception {
        Path installed = Files.createDirectories(dir.resolve("installed"));
        for (String file : FashionMnist.FILES) {
            Files.createFile(installed.resolve(file));
        }
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        assertThat(FashionMnist.locate(installed, dir.resolve("cache"), new PrintStream(log, true))).isEqualTo(installed);
        assertThat(log.toString()).isEmpty();
        assertThat(dir.resolve("cache")).doesNotExist();
    }
}
