package dev.pollard.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {
    /** Debian's dataset-fashion-mnist package (installed by e2e/setup.sh). */
    static final Path FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist");

    @TempDir
    Path dir;

    @Test
    void readsFashionMnistFromDebiansPackage() {
        assertThat(FASHION_MNIST).as("install Debian's dataset-fashion-mnist (e2e/setup.sh does)").isDirectory();
        Datasets.Splits splits = Datasets.load(FASHION_MNIST, "idx");
        assertThat(splits.train().size()).isEqualTo(60000);
        assertThat(splits.test().size()).isEqualTo(10000);
        assertThat(splits.train().sampleShape()).containsExactly(1, 28, 28);
        int[] histogram = new int[10];
        for (int label : splits.train().labels()) {
            histogram[label]++;
        }
        assertThat(histogram).containsOnly(6000);
        float max = 0;
        for (float v : splits.test().features()) {
            max = Math.max(max, v);
        }
        assertThat(max).isEqualTo(1f);
    }

    @Test
    void rawIdxFilesAreToldApartFromGzipByTheirBytes() throws IOException {
        Path images = dir.resolve("t10k-images-idx3-ubyte.gz"); // a misleading name: the bytes are raw
        Path labels = dir.resolve("t10k-labels-idx1-ubyte");
        Files.write(images, gunzip(FASHION_MNIST.resolve("t10k-images-idx3-ubyte.gz")));
        Files.write(labels, gunzip(FASHION_MNIST.resolve("t10k-labels-idx1-ubyte.gz")));
        Dataset raw = IdxReader.read(images, labels);
        Dataset gz = IdxReader.read(FASHION_MNIST.resolve("t10k-images-idx3-ubyte.gz"), FASHION_MNIST.resolve("t10k-labels-idx1-ubyte.gz"));
        assertThat(raw.labels()).isEqualTo(gz.labels());
        assertThat(Arrays.equals(raw.features(), gz.features())).isTrue();
    }

    @Test
    void brokenIdxFilesGiveOneLineErrorsNamingTheFile() throws IOException {
        byte[] images = gunzip(FASHION_MNIST.resolve("t10k-images-idx3-ubyte.gz"));
        byte[] labels = gunzip(FASHION_MNIST.resolve("t10k-labels-idx1-ubyte.gz"));
        Path truncated = Files.write(dir.resolve("truncated-images"), Arrays.copyOf(images, 5000));
        Path goodLabels = Files.write(dir.resolve("labels"), labels);
        assertThatThrownBy(() -> IdxReader.read(truncated, goodLabels)).isInstanceOf(DatasetException.class)
                .hasMessage(truncated + ": truncated: the file ends before the images its header announces");
        assertThatThrownBy(() -> IdxReader.read(goodLabels, goodLabels))
                .hasMessage(goodLabels + ": bad magic 0x00000801, expected 0x00000803 for IDX images");
        Path fewerLabels = Files.write(dir.resolve("fewer-labels"), patchCount(labels, 9999));
        Path goodImages = Files.write(dir.resolve("images"), images);
        assertThatThrownBy(() -> IdxReader.read(goodImages, fewerLabels))
                .hasMessage(fewerLabels + ": labels count 9999 != images count 10000");
        assertThatThrownBy(() -> Datasets.load(dir.resolve("missing"), "idx")).hasMessage(dir.resolve("missing") + ": no such directory");
        assertThatThrownBy(() -> Datasets.load(dir, "idx")).hasMessageContaining("train-images-idx3-ubyte.gz: no such file");
    }

    @Test
    void readsNpzWithStoredAndDeflatedArrays() throws IOException {
        Path npz = dir.resolve("data.npz");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(npz))) {
            put(zip, "x_train.npy", npy("<f4", "(3, 2)", floats(1, 2, 3, 4, 5, 6)), true);
            put(zip, "y_train.npy", npy("<i8", "(3,)", longs(0, 1, 2)), false);
            put(zip, "x_test.npy", npy("|u1", "(1, 2)", new byte[] {7, (byte) 200}), true);
            put(zip, "y_test.npy", npy("<i8", "(1,)", longs(1)), true);
        }
        Datasets.Splits splits = Datasets.load(npz, "npz");
        assertThat(splits.train().features()).containsExactly(1, 2, 3, 4, 5, 6);
        assertThat(splits.train().labels()).containsExactly(0, 1, 2);
        assertThat(splits.train().sampleShape()).containsExactly(2);
        assertThat(splits.test().features()).containsExactly(7, 200);
    }

    @Test
    void npyProblemsAreNamed() throws IOException {
        Path npyDir = Files.createDirectories(dir.resolve("npy"));
        Files.write(npyDir.resolve("x.npy"), npy(">f2", "(2, 2)", new byte[8]));
        Files.write(npyDir.resolve("y.npy"), npy("<i8", "(2,)", longs(0, 1)));
        assertThatThrownBy(() -> Datasets.load(npyDir, "npy")).hasMessage(npyDir.resolve("x.npy")
                + ": unsupported dtype '>f2' (supported: <f4, <f8, |u1, |i1, <i4, <i8, little-endian)");
        byte[] fortran = new String(npy("<f4", "(2, 2)", floats(1, 2, 3, 4)), StandardCharsets.ISO_8859_1)
                .replace("'fortran_order': False", "'fortran_order': True ").getBytes(StandardCharsets.ISO_8859_1);
        Files.write(npyDir.resolve("x.npy"), fortran);
        assertThatThrownBy(() -> Datasets.load(npyDir, "npy")).hasMessageContaining("Fortran-order arrays are not supported");
        Files.write(npyDir.resolve("x.npy"), Arrays.copyOf(npy("<f4", "(2, 2)", floats(1, 2, 3, 4)), 70));
        assertThatThrownBy(() -> Datasets.load(npyDir, "npy")).hasMessage(npyDir.resolve("x.npy")
                + ": truncated: the file ends before the values its header announces");
        Files.write(npyDir.resolve("x.npy"), npy("<f4", "(3, 1)", floats(1, 2, 3)));
        assertThatThrownBy(() -> Datasets.load(npyDir, "npy")).hasMessageContaining("labels count 2 != samples count 3");
    }

    @Test
    void readsCsvWithAHeaderAndSplitsIt() throws IOException {
        StringBuilder csv = new StringBuilder("a,b,label\n");
        for (int i = 0; i < 10; i++) {
            csv.append(i).append(',').append(i * 0.5).append(',').append(i % 3).append('\n');
        }
        Path file = Files.writeString(dir.resolve("d.csv"), csv);
        Datasets.Splits splits = Datasets.load(file, "csv");
        assertThat(splits.train().size()).isEqualTo(8);
        assertThat(splits.test().size()).isEqualTo(2);
        assertThat(splits.test().features()).containsExactly(8, 4, 9, 4.5f);
        assertThat(splits.test().labels()).containsExactly(2, 0);
        Path ragged = Files.writeString(dir.resolve("r.csv"), "1,2,0\n3,1\n");
        assertThatThrownBy(() -> Datasets.load(ragged, "csv")).hasMessage(ragged + ": line 2: 2 columns, expected 3");
        Path text = Files.writeString(dir.resolve("t.csv"), "1,2,0\n3,x,1\n");
        assertThatThrownBy(() -> Datasets.load(text, "csv")).hasMessageStartingWith(text + ": line 2: not a number");
    }

    static byte[] npy(String descr, String shape, byte[] data) {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
        int total = 10 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        b.putShort((short) header.length()).put(header.getBytes(StandardCharsets.US_ASCII)).put(data);
        return b.array();
    }

    static byte[] floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    static byte[] longs(long... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return b.array();
    }

    private static void put(ZipOutputStream zip, String name, byte[] bytes, boolean deflate) throws IOException {
        ZipEntry entry = new ZipEntry(name);
        if (!deflate) {
            entry.setMethod(ZipEntry.STORED);
            entry.setSize(bytes.length);
            java.util.zip.CRC32 crc = new java.util.zip.CRC32();
            crc.update(bytes);
            entry.setCrc(crc.getValue());
        }
        zip.putNextEntry(entry);
        zip.write(bytes);
        zip.closeEntry();
    }

    private static byte[] gunzip(Path file) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file)); ByteArrayOutputStream out = new ByteArrayOutputStream()) {
            in.transferTo(out);
            return out.toByteArray();
        }
    }

    private static byte[] patchCount(byte[] idx, int count) {
        byte[] copy = idx.clone();
        ByteBuffer.wrap(copy).putInt(4, count);
        return copy;
    }
}
