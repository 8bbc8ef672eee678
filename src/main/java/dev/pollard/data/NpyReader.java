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
            int headerLength;
            if (major == 1) {
                headerLength = Short.toUnsignedInt(Short.reverseBytes(in.readShort()));
            } else if (major == 2 || major == 3) {
                headerLength = Integer.reverseBytes(in.readInt());
            } else {
                throw new DatasetException(file, "unsupported .npy format version " + major);
            }
            byte[] headerBytes = new byte[headerLength];
            in.readFully(headerBytes);
            String header = new String(headerBytes, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            String descr = group(DESCR, header, file, "descr");
            if ("True".equals(group(FORTRAN, header, file, "fortran_order"))) {
                throw new DatasetException(file, "Fortran-order arrays are not supported; save with np.ascontiguousarray");
            }
            String shapeText = group(SHAPE, header, file, "shape").trim();
            int[] shape = shapeText.isEmpty() ? new int[0]
                    : Arrays.stream(shapeText.split(",")).map(String::trim).filter(s -> !s.isEmpty()).mapToInt(Integer::parseInt).toArray();
            long count = 1;
            for (int d : shape) {
                count *= d;
            }
            if (count > Integer.MAX_VALUE) {
                throw new DatasetException(file, "array of " + count + " values is too large");
            }
            return new Array(shape, values(in, descr, (int) count, file));
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

    private static float[] values(DataInputStream in, String descr, int count, Path file) throws IOException {
        int width = switch (descr) {
            case "|u1", "|i1", "|b1" -> 1;
            case "<i4", "<f4" -> 4;
            case "<i8", "<f8" -> 8;
            default -> throw new DatasetException(file, "unsupported dtype '" + descr
                    + "' (supported: <f4, <f8, |u1, |i1, <i4, <i8, little-endian)");
        };
        byte[] raw = new byte[count * width];
        in.readFully(raw);
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
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
