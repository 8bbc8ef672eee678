package dev.pollard.data;

import ai.onnx.proto.OnnxMl;
import dev.pollard.graph.ModelException;
import dev.pollard.graph.ModelMutator;
import dev.pollard.graph.OnnxModel;
import dev.pollard.testing.OnnxBuilder;
import dev.pollard.testing.TinyOnnx;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Feeds every parser a tenant can reach mutated copies of real files from a fixed seed: IDX, NPY, NPZ and CSV datasets
 * through {@link Datasets#load}, ONNX models through {@link OnnxModel#load}. Each input ends accepted, rejected with the
 * documented exception (DatasetException or ModelException, one line, naming the file), or otherwise: a crash, a
 * rejection whose message breaks that contract, or an OutOfMemoryError. Meant for a JVM of its own with a small heap
 * (-Xmx256m), where an allocation sized by a lying header fails at once: ParserFuzzTest runs a short form in the test
 * suite, bench/fuzz.sh the long one.
 *
 * <p>Usage: {@code ParserFuzzer INPUTS_PER_PARSER SEED [DIR_FOR_CRASHING_INPUTS]}; exits 1 when any input did not end
 * accepted or rejected as documented.
 */
public final class ParserFuzzer {
    static final Path FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist");
    private static final java.time.LocalDateTime ARCHIVE_TIME = java.time.LocalDateTime.of(2025, 12, 2, 0, 0);
    /** Crashes printed per parser: the first few say what is wrong, the rest only how often. */
    private static final int EXAMPLES = 3;

    private ParserFuzzer() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: ParserFuzzer INPUTS_PER_PARSER SEED [DIR_FOR_CRASHING_INPUTS]");
            System.exit(2);
        }
        int inputs = Integer.parseInt(args[0]);
        long seed = Long.parseLong(args[1]);
        Path crashDir = args.length > 2 ? Path.of(args[2]) : null;
        Path work = Files.createTempDirectory("pollard-fuzz");
        String xmx = ManagementFactory.getRuntimeMXBean().getInputArguments().stream().filter(a -> a.startsWith("-Xmx"))
                .reduce((a, b) -> b).orElse("no -Xmx");
        System.out.printf("ParserFuzzer: seed %d, %d inputs per parser, heap %s, Runtime.maxMemory() %d MiB%n", seed, inputs, xmx,
                Runtime.getRuntime().maxMemory() >> 20);
        List<Target> targets = List.of(new Idx(work.resolve("idx")), new Npy(work.resolve("npy")), new Npz(work.resolve("npz")),
                new Csv(work.resolve("csv")), new Onnx(work.resolve("onnx")));
        System.out.printf("%-6s %8s %9s %9s %8s %8s %5s %8s%n", "parser", "inputs", "rejected", "accepted", "crashes", "bad-msg", "OOMs",
                "seconds");
        boolean clean = true;
        for (int t = 0; t < targets.size(); t++) {
            Target target = targets.get(t);
            Tally tally = run(target, inputs, new Random(seed * 31 + t), crashDir);
            System.out.printf("%-6s %8d %9d %9d %8d %8d %5d %8.1f%n", target.name, inputs, tally.rejected, tally.accepted, tally.crashes,
                    tally.badMessages, tally.ooms, tally.seconds);
            clean &= tally.crashes == 0 && tally.badMessages == 0 && tally.ooms == 0;
        }
        deleteTree(work);
        System.exit(clean ? 0 : 1);
    }

    private static final class Tally {
        int accepted;
        int rejected;
        int crashes;
        int badMessages;
        int ooms;
        double seconds;

        int failures() {
            return crashes + badMessages + ooms;
        }
    }

    private static Tally run(Target target, int inputs, Random random, Path crashDir) throws IOException {
        Tally tally = new Tally();
        Mutator mutator = new Mutator(random);
        long start = System.nanoTime();
        for (int i = 0; i < inputs; i++) {
            Map<String, byte[]> input = target.install(random, mutator);
            Throwable failure = null;
            try {
                target.parse();
                tally.accepted++;
            } catch (OutOfMemoryError e) {
                tally.ooms++;
                failure = e;
            } catch (Throwable e) {
                if (!target.documented.isInstance(e)) {
                    tally.crashes++;
                    failure = e;
                } else if (keepsTheContract(e.getMessage(), target.dir)) {
                    tally.rejected++;
                } else {
                    tally.badMessages++;
                    failure = e;
                }
            }
            if (failure != null) {
                report(target.name, i, input, failure, tally.failures(), crashDir);
            }
            target.restore();
        }
        tally.seconds = (System.nanoTime() - start) / 1e9;
        return tally;
    }

    /** The documented contract of a rejection: one line, naming the file (every input lives under the target's dir). */
    static boolean keepsTheContract(String message, Path dir) {
        return message != null && !message.matches("(?s).*\\R.*") && message.startsWith(dir.toString());
    }

    private static void report(String parser, int index, Map<String, byte[]> input, Throwable failure, int count, Path crashDir)
            throws IOException {
        if (count <= EXAMPLES) {
            System.out.println(parser + " input " + index + ": " + failure);
            StackTraceElement[] stack = failure.getStackTrace();
            for (int f = 0; f < Math.min(4, stack.length); f++) {
                System.out.println("    at " + stack[f]);
            }
        }
        if (crashDir != null) {
            Path dir = Files.createDirectories(crashDir.resolve(parser + "-" + index));
            for (Map.Entry<String, byte[]> file : input.entrySet()) {
                Files.write(dir.resolve(file.getKey()), file.getValue());
            }
        }
    }

    /** A parser, the seeds its inputs come from, and the directory its inputs are written to. */
    private abstract static class Target {
        final String name;
        final Path dir;
        final Class<? extends RuntimeException> documented;

        Target(String name, Path dir, Class<? extends RuntimeException> documented) throws IOException {
            this.name = name;
            this.dir = Files.createDirectories(dir);
            this.documented = documented;
        }

        /** Writes one mutated input under dir; returns the files it changed, by name, to keep an input that crashed. */
        abstract Map<String, byte[]> install(Random random, Mutator mutator) throws IOException;

        abstract void parse();

        /** Undoes what install changed, where inputs share files with the seeds. */
        void restore() throws IOException {
        }
    }

    /** Debian's Fashion-MNIST files cut to their first 64 samples; one of the four mutated at a time, raw or gzipped. */
    private static final class Idx extends Target {
        private static final String[] FILES = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte"};
        private static final int SAMPLES = 64;
        private final byte[][] seeds = new byte[FILES.length][];
        private final List<byte[]> donors = new ArrayList<>();
        private int changed;

        Idx(Path dir) throws IOException {
            super("idx", dir, DatasetException.class);
            for (int i = 0; i < FILES.length; i++) {
                boolean images = FILES[i].contains("images");
                byte[] head = gunzippedHead(FASHION_MNIST.resolve(FILES[i] + ".gz"), images ? 16 + SAMPLES * 784 : 8 + SAMPLES);
                ByteBuffer.wrap(head).putInt(4, SAMPLES);
                seeds[i] = head;
                donors.add(head);
                donors.add(gzip(head));
                Files.write(dir.resolve(FILES[i]), head);
            }
        }

        @Override
        Map<String, byte[]> install(Random random, Mutator mutator) throws IOException {
            changed = random.nextInt(FILES.length);
            byte[] seed = seeds[changed];
            byte[] input = switch (random.nextInt(3)) {
                case 0 -> mutator.mutate(seed, donors);
                case 1 -> gzip(mutator.mutate(seed, donors)); // a sound gzip stream around a broken file
                default -> mutator.mutate(gzip(seed), donors); // a broken gzip stream
            };
            Files.write(dir.resolve(FILES[changed]), input);
            return Map.of(FILES[changed], input);
        }

        @Override
        void parse() {
            Datasets.load(dir, "idx");
        }

        @Override
        void restore() throws IOException {
            Files.write(dir.resolve(FILES[changed]), seeds[changed]);
        }
    }

    /** x.npy and y.npy of every supported dtype and format version 1 to 3; one or both mutated. */
    private static final class Npy extends Target {
        private final List<byte[]> xs = features();
        private final List<byte[]> ys = labels();
        private final List<byte[]> donors = new ArrayList<>();

        Npy(Path dir) throws IOException {
            super("npy", dir, DatasetException.class);
            donors.addAll(xs);
            donors.addAll(ys);
        }

        @Override
        Map<String, byte[]> install(Random random, Mutator mutator) throws IOException {
            byte[] x = xs.get(random.nextInt(xs.size()));
            byte[] y = ys.get(random.nextInt(ys.size()));
            int which = random.nextInt(3);
            if (which != 1) {
                x = mutator.mutate(x, donors);
            }
            if (which != 0) {
                y = mutator.mutate(y, donors);
            }
            Files.write(dir.resolve("x.npy"), x);
            Files.write(dir.resolve("y.npy"), y);
            return Map.of("x.npy", x, "y.npy", y);
        }

        @Override
        void parse() {
            Datasets.load(dir, "npy");
        }
    }

    /** .npz archives, stored and deflated, with train/test or x/y arrays; the archive's bytes or one entry mutated. */
    private static final class Npz extends Target {
        private final List<Map<String, byte[]>> archives = new ArrayList<>();
        private final List<byte[]> zipped = new ArrayList<>();
        private final List<byte[]> donors = new ArrayList<>();
        private final Path file;

        Npz(Path dir) throws IOException {
            super("npz", dir, DatasetException.class);
            file = dir.resolve("data.npz");
            List<byte[]> xs = features();
            List<byte[]> ys = labels();
            for (int i = 0; i < 4; i++) {
                Map<String, byte[]> entries = new LinkedHashMap<>();
                if (i % 2 == 0) {
                    entries.put("x_train.npy", xs.get(i));
                    entries.put("y_train.npy", ys.get(i % ys.size()));
                    entries.put("x_test.npy", xs.get(i + 1));
                    entries.put("y_test.npy", ys.get((i + 1) % ys.size()));
                } else {
                    entries.put("x.npy", xs.get(i));
                    entries.put("y.npy", ys.get(i % ys.size()));
                }
                archives.add(entries);
                zipped.add(zip(entries, i < 2));
            }
            donors.addAll(zipped);
            donors.addAll(xs);
        }

        @Override
        Map<String, byte[]> install(Random random, Mutator mutator) throws IOException {
            int pick = random.nextInt(archives.size());
            byte[] input;
            if (random.nextBoolean()) {
                input = mutator.mutate(zipped.get(pick), donors);
            } else {
                Map<String, byte[]> entries = new LinkedHashMap<>(archives.get(pick));
                List<String> names = new ArrayList<>(entries.keySet());
                String name = names.get(random.nextInt(names.size()));
                entries.put(name, mutator.mutate(entries.get(name), donors));
                input = zip(entries, pick < 2);
            }
            Files.write(file, input);
            return Map.of("data.npz", input);
        }

        @Override
        void parse() {
            Datasets.load(file, "npz");
        }
    }

    /** CSV files with and without a header, decimals, exponents, negatives, CRLF and blank lines. */
    private static final class Csv extends Target {
        private final List<byte[]> seeds = new ArrayList<>();
        private final Path file;

        Csv(Path dir) throws IOException {
            super("csv", dir, DatasetException.class);
            file = dir.resolve("data.csv");
            Random values = new Random(7);
            StringBuilder header = new StringBuilder("f1,f2,f3,label\n");
            StringBuilder crlf = new StringBuilder();
            StringBuilder exponents = new StringBuilder("x, y ,class\n\n");
            StringBuilder single = new StringBuilder();
            for (int r = 0; r < 30; r++) {
                header.append(String.format("%.3f,%.3f,%.3f,%d%n", values.nextGaussian(), values.nextGaussian(), values.nextGaussian(), r % 3));
                crlf.append(values.nextInt(256)).append(',').append(values.nextInt(256)).append(',').append(r % 10).append("\r\n");
                exponents.append(String.format("%e, %e ,%d%n", -values.nextDouble() * 1e-5, values.nextDouble() * 1e7, r % 2));
                if (r % 7 == 0) {
                    exponents.append('\n');
                }
                single.append(values.nextFloat()).append(',').append(r % 4).append('\n');
            }
            for (StringBuilder s : List.of(header, crlf, exponents, single)) {
                seeds.add(s.toString().getBytes(StandardCharsets.UTF_8));
            }
        }

        @Override
        Map<String, byte[]> install(Random random, Mutator mutator) throws IOException {
            byte[] input = mutator.mutate(seeds.get(random.nextInt(seeds.size())), seeds);
            Files.write(file, input);
            return Map.of("data.csv", input);
        }

        @Override
        void parse() {
            Datasets.load(file, "csv");
        }
    }

    /**
     * The test suite's ONNX fixtures and the embedded Fashion-MNIST model; mutated in their structure (sizes and types
     * that lie), in their bytes, or both.
     */
    private static final class Onnx extends Target {
        private final List<OnnxMl.ModelProto> models = new ArrayList<>();
        private final List<byte[]> seeds = new ArrayList<>();
        private final Path file;

        Onnx(Path dir) throws IOException {
            super("onnx", dir, ModelException.class);
            file = dir.resolve("model.onnx");
            byte[] embedded;
            try (InputStream in = ParserFuzzer.class.getResourceAsStream("/models/fashion-cnn.onnx")) {
                embedded = in.readAllBytes();
            }
            for (byte[] bytes : List.of(TinyOnnx.classifier(), OnnxBuilder.smallCnn().toByteArray(), OnnxBuilder.attention().toByteArray(),
                    OnnxBuilder.concatCnn().toByteArray(), embedded)) {
                seeds.add(bytes);
                models.add(OnnxMl.ModelProto.parseFrom(bytes));
            }
        }

        @Override
        Map<String, byte[]> install(Random random, Mutator mutator) throws IOException {
            int pick = random.nextInt(models.size());
            ModelMutator structure = new ModelMutator(random);
            int how = random.nextInt(10);
            byte[] input = how < 5 ? structure.mutate(models.get(pick))
                    : how < 8 ? mutator.mutate(seeds.get(pick), seeds)
                    : mutator.mutate(structure.mutate(models.get(pick)), seeds);
            Files.write(file, input);
            return Map.of("model.onnx", input);
        }

        @Override
        void parse() {
            OnnxModel.load(file);
        }
    }

    /** Feature arrays: every supported dtype, format versions 1 to 3, 20 samples each. */
    static List<byte[]> features() {
        Random values = new Random(11);
        List<byte[]> out = new ArrayList<>();
        out.add(npy(1, "<f4", "(20, 3)", values(values, 60, 4)));
        out.add(npy(2, "|u1", "(20, 2, 2)", values(values, 80, 1)));
        out.add(npy(3, "<f8", "(20, 4)", values(values, 80, 8)));
        out.add(npy(1, "<i4", "(20, 2)", values(values, 40, 4)));
        out.add(npy(1, "<i8", "(20, 1, 2)", values(values, 40, 8)));
        out.add(npy(1, "|i1", "(20, 5)", values(values, 100, 1)));
        out.add(npy(2, "|b1", "(20, 2)", values(values, 40, 1)));
        return out;
    }

    /** Label arrays of 20 class indices in three dtypes. */
    static List<byte[]> labels() {
        ByteBuffer i8 = ByteBuffer.allocate(160).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer u1 = ByteBuffer.allocate(20);
        ByteBuffer f4 = ByteBuffer.allocate(80).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 20; i++) {
            i8.putLong(i % 3);
            u1.put((byte) (i % 10));
            f4.putFloat(i % 2);
        }
        return List.of(npy(1, "<i8", "(20,)", i8.array()), npy(1, "|u1", "(20,)", u1.array()), npy(3, "<f4", "(20,)", f4.array()));
    }

    /** Values that are valid for the dtype width: small integers, or small floats where the width allows one. */
    private static byte[] values(Random random, int count, int width) {
        ByteBuffer b = ByteBuffer.allocate(count * width).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i++) {
            switch (width) {
                case 1 -> b.put((byte) random.nextInt(2));
                case 4 -> b.putFloat(random.nextFloat());
                default -> b.putDouble(random.nextGaussian());
            }
        }
        return b.array();
    }

    /** An .npy file as numpy writes one: magic, version, little-endian header length, dict padded to 64 bytes. */
    static byte[] npy(int version, String descr, String shape, byte[] data) {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
        int prefix = version == 1 ? 10 : 12;
        int pad = (64 - (prefix + dict.length() + 1) % 64) % 64;
        byte[] header = (dict + " ".repeat(pad) + "\n").getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(prefix + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) version).put((byte) 0);
        if (version == 1) {
            b.putShort((short) header.length);
        } else {
            b.putInt(header.length);
        }
        return b.put(header).put(data).array();
    }

    static byte[] zip(Map<String, byte[]> entries, boolean deflate) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry entry = new ZipEntry(e.getKey());
                entry.setTimeLocal(ARCHIVE_TIME); // the same bytes from run to run, so the same seed gives the same inputs
                if (!deflate) {
                    entry.setMethod(ZipEntry.STORED);
                    entry.setSize(e.getValue().length);
                    CRC32 crc = new CRC32();
                    crc.update(e.getValue());
                    entry.setCrc(crc.getValue());
                }
                zip.putNextEntry(entry);
                zip.write(e.getValue());
                zip.closeEntry();
            }
        }
        return out.toByteArray();
    }

    static byte[] gzip(byte[] bytes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(bytes);
        }
        return out.toByteArray();
    }

    private static byte[] gunzippedHead(Path file, int length) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
            return in.readNBytes(length);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
