package dev.pollard.data;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** NumPy .npy arrays (format versions 1 to 3, C order), read as float values whatever their numeric dtype. */
public final class NpyReader {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
    /** numpy's own np.load refuses longer headers by default (its max_header_size); real ones are under 200 bytes. */
    private static final int MAX_HEADER_LENGTH = 10_000;

    /** A numeric array: its shape and its values, row-major. */
    public record Array(int[] shape, float[] values) {
        public int rows() {
            return shape.length == 0 ? 1 : shape[0];
        }
    }

    private NpyReader() {
    }

    /** @param file named in errors (for an .npz entry: the archive and the entry) */
    public static Array read(InputStream stream, Path file) {
        try {
            DataInputStream in = new DataInputStream(stream);
            byte[] magic = new byte[6];
            in.readFully(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new DatasetException(file, "not an .npy file (bad magic)");
            }
            int major = in.readUnsignedByte();
            in.readUnsignedByte();
            long headerLength;
            if (major == 1) {
                headerLength = Short.toUnsignedInt(Short.reverseBytes(in.readShort()));
            } else if (major == 2 || major == 3) {
                headerLength = Integer.toUnsignedLong(Integer.reverseBytes(in.readInt()));
            } else {
                throw new DatasetException(file, "unsupported .npy format version " + major);
            }
            if (headerLength > MAX_HEADER_LENGTH) {
                throw new DatasetException(file, "malformed .npy header: it declares " + headerLength + " bytes of header; numpy writes at most "
                        + MAX_HEADER_LENGTH);
            }
            byte[] headerBytes = BoundedInput.readExactly(in, (int) headerLength);
            String header = new String(headerBytes, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            String descr = group(DESCR, header, file, "descr");
            if ("True".equals(group(FORTRAN, header, file, "fortran_order"))) {
                throw new DatasetException(file, "Fortran-order arrays are not supported; save with np.ascontiguousarray");
            }
            int width = width(descr, file);
            String shapeText = group(SHAPE, header, file, "shape");
            int[] shape = shape(shapeText, file);
            long count = count(shape, shapeText, file);
            long bytes = count * width;
            if (bytes > BoundedInput.MAX_ARRAY) {
                throw new DatasetException(file, "shape (" + abbreviated(shapeText) + ") of " + descr + " is " + bytes + " bytes; Pollard reads arrays of up to "
                        + BoundedInput.MAX_ARRAY);
            }
            return new Array(shape, values(BoundedInput.readExactly(in, (int) bytes), descr, width));
        } catch (EOFException e) {
            throw new DatasetException(file, "truncated: the file ends before the values its header announces");
        } catch (IOException e) {
            throw new DatasetException(file, "unreadable: " + e.getMessage(), e);
        }
    }

    private static String group(Pattern pattern, String header, Path file, String key) {
        Matcher m = pattern.matcher(header);
        if (!m.find()) {
            throw new DatasetException(file, "malformed .npy header: no '" + key + "'");
        }
        return m.group(1);
    }

    private static int width(String descr, Path file) {
        return switch (descr) {
            case "|u1", "|i1", "|b1" -> 1;
            case "<i4", "<f4" -> 4;
            case "<i8", "<f8" -> 8;
            default -> throw new DatasetException(file, "unsupported dtype '" + abbreviated(descr)
                    + "' (supported: <f4, <f8, |u1, |i1, <i4, <i8, little-endian)");
        };
    }

    private static int[] shape(String text, Path file) {
        String[] parts = text.trim().isEmpty() ? new String[0] : text.split(",", -1);
        int[] shape = new int[parts.length];
        int n = 0;
        for (int i = 0; i < parts.length; i++) {
            String part = parts[i].trim();
            if (part.isEmpty() && i == parts.length - 1 && i > 0) {
                continue; // the trailing comma of a 1-tuple: (3,)
            }
            if (!part.matches("\\d{1,10}") || Long.parseLong(part) > Integer.MAX_VALUE) {
                throw new DatasetException(file, "malformed .npy header: shape (" + abbreviated(text)
                        + ") is not a tuple of whole numbers up to " + Integer.MAX_VALUE);
            }
            shape[n++] = Integer.parseInt(part);
        }
        return Arrays.copyOf(shape, n);
    }

    /** The number of values, refused before any allocation when no array could hold them. */
    private static long count(int[] shape, String shapeText, Path file) {
        if (Arrays.stream(shape).anyMatch(d -> d == 0)) {
            return 0;
        }
        long count = 1;
        for (int d : shape) {
            if (count > BoundedInput.MAX_ARRAY / d) {
                throw new DatasetException(file, "shape (" + abbreviated(shapeText) + ") is more values than one array holds");
            }
            count *= d;
        }
        return count;
    }

    /** Header text quoted in a message: enough to recognise, not a whole fuzzed header. */
    private static String abbreviated(String text) {
        return text.length() <= 60 ? text : text.substring(0, 60) + "...";
    }

    private static float[] values(byte[] raw, String descr, int width) {
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[raw.length / width];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (descr) {
                case "|u1", "|b1" -> raw[i] & 0xff;
                case "|i1" -> raw[i];
                case "<i4" -> b.getInt(i * 4);
                case "<f4" -> b.getFloat(i * 4);
                case "<i8" -> b.getLong(i * 8);
                default -> (float) b.getDouble(i * 8);
            };
        }
        return out;
    }
}
