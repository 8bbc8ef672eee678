package dev.pollard.data;

import static dev.pollard.data.DatasetsTest.floats;
import static dev.pollard.data.DatasetsTest.longs;
import static dev.pollard.data.DatasetsTest.npy;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Headers that lie: every one ends as a one-line DatasetException naming the file, and reading one costs memory in
 * proportion to the bytes really there, not to what the header declares.
 */
class MalformedDatasetsTest {
    @TempDir
    Path dir;

    // IDX

    @Test
    void idxImagesCountingZeroAreRefusedRatherThanGivingAnEmptyDataset() throws IOException {
        Path images = Files.write(dir.resolve("images"), idx(IdxReader.IMAGES_MAGIC, 0, 28, 28));
        Path labels = Files.write(dir.resolve("labels"), idx(IdxReader.LABELS_MAGIC, 0));
        assertThatThrownBy(() -> IdxReader.read(images, labels)).isInstanceOf(DatasetException.class)
                .hasMessage(images + ": bad header: 0 images of 28x28 (each count must be at least 1)");
    }

    @Test
    void idxImagesWhoseSizeOverflowsAnIntAreRefusedInsteadOfDividingByZero() throws IOException {
        // 65536 x 65536 is 2^32, which an int multiplication turns into 0
        Path images = Files.write(dir.resolve("images"), idx(IdxReader.IMAGES_MAGIC, 1, 65536, 65536));
        Path labels = Files.write(dir.resolve("labels"), idx(IdxReader.LABELS_MAGIC, 1));
        assertThatThrownBy(() -> IdxReader.read(images, labels)).isInstanceOf(DatasetException.class)
                .hasMessage(images + ": bad header: 1 images of 65536x65536 are more pixels than one array holds");
        // 3 x 2^30 pixels: negative as an int
        Path more = Files.write(dir.resolve("more"), idx(IdxReader.IMAGES_MAGIC, 3, 65536, 16384));
        assertThatThrownBy(() -> IdxReader.read(more, labels)).isInstanceOf(DatasetException.class)
                .hasMessage(more + ": bad header: 3 images of 65536x16384 are more pixels than one array holds");
    }

    @Test
    void idxLabelsWithANegativeCountAreRefused() throws IOException {
        Path images = Files.write(dir.resolve("images"), concat(idx(IdxReader.IMAGES_MAGIC, 1, 2, 2), new byte[4]));
        Path labels = Files.write(dir.resolve("labels"), idx(IdxReader.LABELS_MAGIC, -1));
        assertThatThrownBy(() -> IdxReader.read(images, labels)).isInstanceOf(DatasetException.class)
                .hasMessage(labels + ": labels count -1 != images count 1");
    }

    @Test
    void aGzippedIdxFileAnnouncingAMillionImagesCostsTheMemoryOfTheTwoItHolds() throws IOException {
        Path images = Files.write(dir.resolve("images.gz"), gzip(concat(idx(IdxReader.IMAGES_MAGIC, 1_000_000, 28, 28), new byte[2 * 784])));
        Path labels = Files.write(dir.resolve("labels"), concat(idx(IdxReader.LABELS_MAGIC, 2), new byte[2]));
        long allocated = allocatedBy(() -> assertThatThrownBy(() -> IdxReader.read(images, labels)).isInstanceOf(DatasetException.class)
                .hasMessage(images + ": truncated: the file ends before the images its header announces"));
        assertThat(allocated).as("bytes allocated reading 784 MB announced, 1.5 kB there").isLessThan(16 << 20);
    }

    // NPY

    @Test
    void anNpyHeaderLengthOf2GbIsRefusedBeforeAnyAllocation() {
        for (int length : new int[] {0x7fffffff, 0x80000000, 0x10000}) {
            byte[] file = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII))
                    .put((byte) 2).put((byte) 0).putInt(length).array();
            assertThatThrownBy(() -> NpyReader.read(new ByteArrayInputStream(file), Path.of("x.npy"))).isInstanceOf(DatasetException.class)
                    .hasMessage("x.npy: malformed .npy header: it declares " + Integer.toUnsignedLong(length)
                            + " bytes of header; numpy writes at most 10000");
        }
    }

    @Test
    void npyShapesThatAreNotNaturalNumbersAreRefused() {
        for (String shape : new String[] {"(2.5, 2)", "(-1, 2)", "(99999999999, 2)", "(2, x)"}) {
            byte[] file = npy("<f4", shape, floats(1, 2, 3, 4));
            assertThatThrownBy(() -> NpyReader.read(new ByteArrayInputStream(file), Path.of("x.npy"))).as(shape)
                    .isInstanceOf(DatasetException.class)
                    .hasMessage("x.npy: malformed .npy header: shape " + shape + " is not a tuple of whole numbers up to 2147483647");
        }
    }

    @Test
    void anNpyArrayWhoseByteCountOverflowsAnIntIsRefused() {
        // 2^29 + 1 float32 values are 2^31 + 4 bytes: negative as an int
        byte[] file = npy("<f4", "(536870913,)", floats(1));
        assertThatThrownBy(() -> NpyReader.read(new ByteArrayInputStream(file), Path.of("x.npy"))).isInstanceOf(DatasetException.class)
                .hasMessage("x.npy: shape (536870913,) of <f4 is 2147483652 bytes; Pollard reads arrays of up to 2147483639");
        byte[] many = npy("<f8", "(65536, 65536, 65536)", floats(1));
        assertThatThrownBy(() -> NpyReader.read(new ByteArrayInputStream(many), Path.of("x.npy"))).isInstanceOf(DatasetException.class)
                .hasMessage("x.npy: shape (65536, 65536, 65536) is more values than one array holds");
    }

    @Test
    void anNpyFileAnnouncingAGigabyteCostsTheMemoryOfTheBytesItHolds() {
        byte[] file = npy("|u1", "(1000000000,)", new byte[100]);
        long allocated = allocatedBy(() -> assertThatThrownBy(() -> NpyReader.read(new ByteArrayInputStream(file), Path.of("x.npy")))
                .isInstanceOf(DatasetException.class).hasMessage("x.npy: truncated: the file ends before the values its header announces"));
        assertThat(allocated).as("bytes allocated reading 1 GB announced, 100 bytes there").isLessThan(16 << 20);
    }

    @Test
    void anNpyDtypeWithALineBreakStillGivesAOneLineMessage() {
        byte[] file = npy("<f4\nor else", "(1,)", floats(1));
        assertThatThrownBy(() -> NpyReader.read(new ByteArrayInputStream(file), Path.of("x.npy"))).isInstanceOf(DatasetException.class)
                .hasMessageStartingWith("x.npy: unsupported dtype '<f4 or else'").message().doesNotContain("\n");
    }

    @Test
    void emptyArraysAreRefusedRatherThanSplitIntoNothing() throws IOException {
        Path npyDir = Files.createDirectories(dir.resolve("npy"));
        Files.write(npyDir.resolve("x.npy"), npy("<f4", "(0, 2)", new byte[0]));
        Files.write(npyDir.resolve("y.npy"), npy("<i8", "(0,)", new byte[0]));
        assertThatThrownBy(() -> Datasets.load(npyDir, "npy")).isInstanceOf(DatasetException.class)
                .hasMessage(npyDir + ": x/y: no samples");
        Files.write(npyDir.resolve("x.npy"), npy("<f4", "(1, 2)", floats(1, 2)));
        Files.write(npyDir.resolve("y.npy"), npy("<i8", "(1,)", longs(0)));
        assertThatThrownBy(() -> Datasets.load(npyDir, "npy")).isInstanceOf(DatasetException.class)
                .hasMessage(npyDir + ": 1 sample; splitting into training and evaluation needs at least 2");
    }

    @Test
    void labelsMustBeClassIndicesAndFeaturesFinite() throws IOException {
        Path npyDir = Files.createDirectories(dir.resolve("npy"));
        Files.write(npyDir.resolve("x.npy"), npy("<f4", "(2, 2)", floats(1, 2, 3, 4)));
        Files.write(npyDir.resolve("y.npy"), npy("<f4", "(2,)", floats(0, 1e30f)));
        assertThatThrownBy(() -> Datasets.load(npyDir, "npy")).isInstanceOf(DatasetException.class)
                .hasMessage(npyDir + ": x/y: label 1 is 1.0E30, expected a class index from 0 to 16777215");
        Files.write(npyDir.resolve("y.npy"), npy("<f4", "(2,)", floats(0, 1)));
        Files.write(npyDir.resolve("x.npy"), npy("<f4", "(2, 2)", floats(1, Float.NaN, 3, 4)));
        assertThatThrownBy(() -> Datasets.load(npyDir, "npy")).isInstanceOf(DatasetException.class)
                .hasMessage(npyDir + ": x/y: sample 0 holds NaN; features must be finite numbers");
    }

    // CSV

    @Test
    void csvLabelsThatAreNotClassIndicesAreRefused() throws IOException {
        for (String label : new String[] {"Infinity", "NaN", "-1", "0.5", "16777216"}) {
            Path file = Files.writeString(dir.resolve("d.csv"), "1,2,0\n3,4," + label + "\n");
            assertThatThrownBy(() -> Datasets.load(file, "csv")).as(label).isInstanceOf(DatasetException.class)
                    .hasMessage(file + ": line 2: label " + Float.parseFloat(label) + " is not a class index from 0 to 16777215");
        }
    }

    @Test
    void csvFeaturesMustBeFinite() throws IOException {
        Path file = Files.writeString(dir.resolve("d.csv"), "1,2,0\n3,-Infinity,1\n");
        assertThatThrownBy(() -> Datasets.load(file, "csv")).isInstanceOf(DatasetException.class)
                .hasMessage(file + ": line 2, column 2: -Infinity is not a finite number");
    }

    @Test
    void aCsvFileThatIsNotUtf8SaysSo() throws IOException {
        Path file = Files.write(dir.resolve("d.csv"), new byte[] {'1', ',', '2', '\n', (byte) 0xff, ',', '1', '\n'});
        assertThatThrownBy(() -> Datasets.load(file, "csv")).isInstanceOf(DatasetException.class)
                .hasMessage(file + ": not UTF-8 text");
    }

    @Test
    void aCsvOfOneSampleCannotBeSplit() throws IOException {
        Path file = Files.writeString(dir.resolve("d.csv"), "a,b,label\n1,2,0\n");
        assertThatThrownBy(() -> Datasets.load(file, "csv")).isInstanceOf(DatasetException.class)
                .hasMessage(file + ": 1 sample; splitting into training and evaluation needs at least 2");
    }

    // helpers

    /** Bytes the current thread allocates while running the action: independent of the heap size and the machine's speed. */
    static long allocatedBy(Runnable action) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        action.run();
        return threads.getCurrentThreadAllocatedBytes() - before;
    }

    static byte[] idx(int magic, int... header) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * header.length).putInt(magic);
        for (int v : header) {
            b.putInt(v);
        }
        return b.array();
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static byte[] gzip(byte[] bytes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(bytes);
        }
        return out.toByteArray();
    }
}
