package dev.pollard.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * MNIST-style IDX files, gzip-compressed or raw (told apart by their first bytes, not their names): unsigned-byte
 * images scaled to [0, 1] and unsigned-byte labels.
 */
public final class IdxReader {
    static final int IMAGES_MAGIC = 0x00000803;
    static final int LABELS_MAGIC = 0x00000801;

    private IdxReader() {
    }

    /** The split "train" or "t10k" of a directory holding {split}-images-idx3-ubyte[.gz] and {split}-labels-idx1-ubyte[.gz]. */
    public static Dataset readSplit(Path dir, String split) {
        if (!Files.isDirectory(dir)) {
            throw new DatasetException(dir, Files.exists(dir) ? "not a directory of IDX files" : "no such directory");
        }
        return read(find(dir, split + "-images-idx3-ubyte"), find(dir, split + "-labels-idx1-ubyte"));
    }

    private static Path find(Path dir, String base) {
        for (String name : new String[] {base + ".gz", base}) {
            if (Files.isRegularFile(dir.resolve(name))) {
                return dir.resolve(name);
            }
        }
        throw new DatasetException(dir.resolve(base + ".gz"), "no such file (nor " + base + ")");
    }

    public static Dataset read(Path images, Path labels) {
        int[] shape = new int[3];
        float[] pixels;
        int imageCount;
        try (DataInputStream in = open(images)) {
            int magic = in.readInt();
            if (magic != IMAGES_MAGIC) {
                throw new DatasetException(images, String.format("bad magic 0x%08x, expected 0x%08x for IDX images", magic, IMAGES_MAGIC));
            }
            int count = in.readInt();
            shape[0] = 1;
            shape[1] = in.readInt();
            shape[2] = in.readInt();
            String header = count + " images of " + shape[1] + "x" + shape[2];
            if (count <= 0 || shape[1] <= 0 || shape[2] <= 0) {
                throw new DatasetException(images, "bad header: " + header + " (each count must be at least 1)");
            }
            long pixelsPerImage = (long) shape[1] * shape[2];
            if (pixelsPerImage > BoundedInput.MAX_ARRAY / count) {
                throw new DatasetException(images, "bad header: " + header + " are more pixels than one array holds");
            }
            byte[] raw = BoundedInput.readExactly(in, (int) (count * pixelsPerImage));
            imageCount = count;
            pixels = new float[raw.length];
            for (int i = 0; i < raw.length; i++) {
                pixels[i] = (raw[i] & 0xff) / 255f;
            }
        } catch (EOFException e) {
            throw new DatasetException(images, "truncated: the file ends before the images its header announces");
        } catch (NoSuchFileException e) {
            throw new DatasetException(images, "no such file");
        } catch (IOException e) {
            throw new DatasetException(images, "unreadable: " + e.getMessage(), e);
        }
        int[] classes;
        try (DataInputStream in = open(labels)) {
            int magic = in.readInt();
            if (magic != LABELS_MAGIC) {
                throw new DatasetException(labels, String.format("bad magic 0x%08x, expected 0x%08x for IDX labels", magic, LABELS_MAGIC));
            }
            int count = in.readInt();
            if (count != imageCount) {
                throw new DatasetException(labels, "labels count " + count + " != images count " + imageCount);
            }
            byte[] raw = BoundedInput.readExactly(in, count);
            classes = new int[count];
            for (int i = 0; i < count; i++) {
                classes[i] = raw[i] & 0xff;
            }
        } catch (EOFException e) {
            throw new DatasetException(labels, "truncated: the file ends before the labels its header announces");
        } catch (NoSuchFileException e) {
            throw new DatasetException(labels, "no such file");
        } catch (IOException e) {
            throw new DatasetException(labels, "unreadable: " + e.getMessage(), e);
        }
        return new Dataset(pixels, classes, shape);
    }

    private static DataInputStream open(Path file) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        in.mark(2);
        int b0 = in.read();
        int b1 = in.read();
        in.reset();
        boolean gzip = b0 == 0x1f && b1 == 0x8b;
        return new DataInputStream(gzip ? new BufferedInputStream(new GZIPInputStream(in, 1 << 16), 1 << 16) : in);
    }
}
