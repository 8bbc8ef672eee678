package dev.pollard.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Loads a dataset as a PruningJob names it ({@code dataset.uri} + {@code dataset.format}) into a training and an
 * evaluation split:
 * <ul>
 * <li>idx: a directory with train-* and t10k-* images and labels (MNIST / Fashion-MNIST layout);</li>
 * <li>npz: an archive with x_train, y_train, x_test, y_test, or x and y;</li>
 * <li>npy: a directory with those names as .npy files;</li>
 * <li>csv: a file of numbers, label in the last column (a non-numeric first line is a header).</li>
 * </ul>
 * Where only x and y exist, the last fifth of the samples is the evaluation split.
 */
public final class Datasets {
    /** Labels are float32 in .npy and .csv files, which hold every whole number below 2^24 exactly. */
    static final int MAX_CLASSES = 1 << 24;

    /** A training and an evaluation split. */
    public record Splits(Dataset train, Dataset test) {
    }

    private Datasets() {
    }

    public static Splits load(Path path, String format) {
        return switch (format.toLowerCase(Locale.ROOT)) {
            case "idx" -> new Splits(IdxReader.readSplit(path, "train"), IdxReader.readSplit(path, "t10k"));
            case "npz" -> npz(path);
            case "npy" -> npy(path);
            case "csv" -> split(csv(path), path);
            default -> throw new DatasetException(path, "unknown dataset format '" + format + "' (idx, npz, npy or csv)");
        };
    }

    private static Splits npz(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new DatasetException(file, "no such file");
        }
        try (ZipFile zip = new ZipFile(file.toFile())) {
            if (zip.getEntry("x_train.npy") != null) {
                return new Splits(pair(entry(zip, file, "x_train"), entry(zip, file, "y_train"), file, "x_train/y_train"),
                        pair(entry(zip, file, "x_test"), entry(zip, file, "y_test"), file, "x_test/y_test"));
            }
            return split(pair(entry(zip, file, "x"), entry(zip, file, "y"), file, "x/y"), file);
        } catch (ZipException e) {
            throw new DatasetException(file, "not a valid .npz (zip) archive: " + e.getMessage());
        } catch (IOException e) {
            throw new DatasetException(file, "unreadable: " + e.getMessage(), e);
        }
    }

    private static NpyReader.Array entry(ZipFile zip, Path file, String name) throws IOException {
        ZipEntry entry = zip.getEntry(name + ".npy");
        if (entry == null) {
            throw new DatasetException(file, "no array '" + name + "' (expected x_train/y_train/x_test/y_test or x/y)");
        }
        try (InputStream in = zip.getInputStream(entry)) {
            return NpyReader.read(in, Path.of(file + ":" + name + ".npy"));
        }
    }

    private static Splits npy(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new DatasetException(dir, "npy datasets are a directory of x_train.npy, y_train.npy, x_test.npy, y_test.npy "
                    + "(or x.npy, y.npy)");
        }
        if (Files.exists(dir.resolve("x_train.npy"))) {
            return new Splits(pair(npyFile(dir, "x_train"), npyFile(dir, "y_train"), dir, "x_train/y_train"),
                    pair(npyFile(dir, "x_test"), npyFile(dir, "y_test"), dir, "x_test/y_test"));
        }
        return split(pair(npyFile(dir, "x"), npyFile(dir, "y"), dir, "x/y"), dir);
    }

    private static NpyReader.Array npyFile(Path dir, String name) {
        Path file = dir.resolve(name + ".npy");
        if (!Files.isRegularFile(file)) {
            throw new DatasetException(file, "no such file");
        }
        try (InputStream in = Files.newInputStream(file)) {
            return NpyReader.read(new java.io.BufferedInputStream(in, 1 << 16), file);
        } catch (IOException e) {
            throw new DatasetException(file, "unreadable: " + e.getMessage(), e);
        }
    }

    /** @param names the two arrays, for messages: x_train/y_train, x_test/y_test or x/y */
    private static Dataset pair(NpyReader.Array x, NpyReader.Array y, Path file, String names) {
        if (x.shape().length < 2) {
            throw new DatasetException(file, names + ": features must have a sample dimension and at least one more, got shape "
                    + Arrays.toString(x.shape()));
        }
        if (x.rows() == 0) {
            throw new DatasetException(file, names + ": no samples");
        }
        if (y.values().length != x.rows()) {
            throw new DatasetException(file, names + ": labels count " + y.values().length + " != samples count " + x.rows());
        }
        int sampleSize = x.values().length / x.rows();
        for (int i = 0; i < x.values().length; i++) {
            if (!Float.isFinite(x.values()[i])) {
                throw new DatasetException(file, names + ": sample " + i / sampleSize + " holds " + x.values()[i]
                        + "; features must be finite numbers");
            }
        }
        int[] labels = new int[y.values().length];
        for (int i = 0; i < labels.length; i++) {
            float v = y.values()[i];
            if (!isClassIndex(v)) {
                throw new DatasetException(file, names + ": label " + i + " is " + v + ", expected a class index from 0 to " + (MAX_CLASSES - 1));
            }
            labels[i] = (int) v;
        }
        return new Dataset(x.values(), labels, Arrays.copyOfRange(x.shape(), 1, x.shape().length));
    }

    private static boolean isClassIndex(float label) {
        return label >= 0 && label < MAX_CLASSES && label == Math.rint(label);
    }

    static Dataset csv(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new DatasetException(file, "no such file");
        }
        List<float[]> rows = new ArrayList<>();
        int width = -1;
        try (BufferedReader reader = Files.newBufferedReader(file)) {
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                String[] cells = line.split(",");
                float[] row = new float[cells.length];
                try {
                    for (int i = 0; i < cells.length; i++) {
                        row[i] = Float.parseFloat(cells[i].trim());
                    }
                } catch (NumberFormatException e) {
                    if (rows.isEmpty() && number == 1) {
                        continue; // a header
                    }
                    throw new DatasetException(file, "line " + number + ": not a number: " + e.getMessage());
                }
                if (width < 0) {
                    width = row.length;
                } else if (row.length != width) {
                    throw new DatasetException(file, "line " + number + ": " + row.length + " columns, expected " + width);
                }
                for (int i = 0; i < row.length - 1; i++) {
                    if (!Float.isFinite(row[i])) {
                        throw new DatasetException(file, "line " + number + ", column " + (i + 1) + ": " + row[i] + " is not a finite number");
                    }
                }
                if (!isClassIndex(row[row.length - 1])) {
                    throw new DatasetException(file, "line " + number + ": label " + row[row.length - 1] + " is not a class index from 0 to "
                            + (MAX_CLASSES - 1));
                }
                rows.add(row);
            }
        } catch (CharacterCodingException e) {
            throw new DatasetException(file, "not UTF-8 text");
        } catch (IOException e) {
            throw new DatasetException(file, "unreadable: " + e.getMessage(), e);
        }
        if (rows.isEmpty() || width < 2) {
            throw new DatasetException(file, "no samples (need rows of features followed by a label)");
        }
        float[] features = new float[rows.size() * (width - 1)];
        int[] labels = new int[rows.size()];
        for (int r = 0; r < rows.size(); r++) {
            float[] row = rows.get(r);
            System.arraycopy(row, 0, features, r * (width - 1), width - 1);
            labels[r] = (int) row[width - 1];
        }
        return new Dataset(features, labels, new int[] {width - 1});
    }

    /** Deterministic split: the first four fifths train, the last fifth evaluates. */
    static Splits split(Dataset all, Path file) {
        if (all.size() < 2) {
            throw new DatasetException(file, all.size() + " sample" + (all.size() == 1 ? "" : "s")
                    + "; splitting into training and evaluation needs at least 2");
        }
        int train = all.size() - Math.max(1, all.size() / 5);
        return new Splits(all.slice(0, train), all.slice(train, all.size() - train));
    }
}
