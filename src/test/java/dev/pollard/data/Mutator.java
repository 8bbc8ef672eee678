package dev.pollard.data;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Seeded byte-level mutations of real files, the ones fuzzers find most with: bit flips, random bytes, interesting
 * integers written over header fields, insertions, deletions, truncation, splices from other seeds, and (for text
 * formats and .npy headers) tokens and numbers swapped for extreme ones.
 */
public final class Mutator {
    private static final long[] INTERESTING = {0, 1, -1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffffL,
        0x80000000L, 0xffffffffL, 0x100000000L, 1_000_000_000L, 28, 784, 60000, Long.MAX_VALUE, Long.MIN_VALUE};
    private static final String[] TOKENS = {"NaN", "Infinity", "-Infinity", "-1", "0", "1e9999", "-0", "4294967296", "99999999999",
        ",", ",,", "\n", "\r\n", "\r", "'", "(", ")", ",)", ":", "{", "}", "True", "'<f8'", "'|u1'", "'>f4'", "'shape': (", "\u00e9",
        "\u0000", "0x1p3", "1f", " ", "\t", "\u2028", "'descr': '", "'fortran_order': True"};
    private static final String[] NUMBERS = {"0", "-1", "2147483647", "2147483648", "4294967296", "99999999999999999999", "1e9",
        "1.5", "-0", "NaN", "65536", "536870913"};
    /** Headers live in the first bytes: half of all positions land there. */
    private static final int HEADER = 64;

    private final Random random;

    public Mutator(Random random) {
        this.random = random;
    }

    /** One to four mutations of the seed, with splices from the donors. */
    public byte[] mutate(byte[] seed, List<byte[]> donors) {
        byte[] out = seed;
        int rounds = 1 + random.nextInt(4);
        for (int i = 0; i < rounds; i++) {
            out = once(out, donors);
        }
        // stacked insertions and duplications could grow a seed without end; past this they test nothing new
        int cap = 2 * seed.length + 4096;
        return out.length > cap ? Arrays.copyOf(out, cap) : out;
    }

    private byte[] once(byte[] in, List<byte[]> donors) {
        if (in.length == 0) {
            return randomBytes(1 + random.nextInt(16));
        }
        byte[] out = in.clone();
        switch (random.nextInt(10)) {
            case 0 -> {
                for (int i = 1 + random.nextInt(8); i > 0; i--) {
                    int at = position(out.length);
                    out[at] ^= (byte) (1 << random.nextInt(8));
                }
            }
            case 1 -> out[position(out.length)] = (byte) random.nextInt(256);
            case 2 -> {
                return interestingInteger(out);
            }
            case 3 -> {
                return splice(out, position(out.length + 1), 0, randomBytes(1 + random.nextInt(16)));
            }
            case 4 -> {
                int at = position(out.length);
                return splice(out, at, 1 + random.nextInt(Math.min(out.length - at, 256)), new byte[0]);
            }
            case 5 -> {
                return Arrays.copyOf(out, random.nextInt(out.length));
            }
            case 6 -> {
                byte[] donor = donors.get(random.nextInt(donors.size()));
                if (donor.length == 0) {
                    return out;
                }
                int from = random.nextInt(donor.length);
                byte[] chunk = Arrays.copyOfRange(donor, from, from + 1 + random.nextInt(Math.min(donor.length - from, 512)));
                int at = position(out.length);
                return splice(out, at, random.nextBoolean() ? Math.min(chunk.length, out.length - at) : 0, chunk);
            }
            case 7 -> {
                byte[] token = TOKENS[random.nextInt(TOKENS.length)].getBytes(StandardCharsets.UTF_8);
                int at = position(out.length + 1);
                return splice(out, at, at < out.length && random.nextBoolean() ? 1 : 0, token);
            }
            case 8 -> {
                int at = random.nextInt(out.length);
                byte[] chunk = Arrays.copyOfRange(out, at, at + 1 + random.nextInt(Math.min(out.length - at, 256)));
                return splice(out, random.nextInt(out.length + 1), 0, chunk);
            }
            default -> {
                return replaceNumber(out);
            }
        }
        return out;
    }

    /** An extreme value over 1, 2, 4 or 8 bytes, in either byte order: counts, lengths and dims in binary headers. */
    private byte[] interestingInteger(byte[] out) {
        int width = 1 << random.nextInt(4);
        if (out.length < width) {
            return out;
        }
        long value = INTERESTING[random.nextInt(INTERESTING.length)];
        ByteBuffer b = ByteBuffer.allocate(8).order(random.nextBoolean() ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        switch (width) {
            case 1 -> b.put((byte) value);
            case 2 -> b.putShort((short) value);
            case 4 -> b.putInt((int) value);
            default -> b.putLong(value);
        }
        // aligned, as header fields are
        int at = position(out.length - width + 1) / width * width;
        System.arraycopy(b.array(), 0, out, at, width);
        return out;
    }

    /** Swaps a run of ASCII digits (a CSV value, an .npy shape or header length) for an extreme number. */
    private byte[] replaceNumber(byte[] out) {
        int start = position(out.length);
        while (start < out.length && !Character.isDigit(out[start])) {
            start++;
        }
        if (start == out.length) {
            return out;
        }
        int end = start;
        while (end < out.length && Character.isDigit(out[end])) {
            end++;
        }
        byte[] number = NUMBERS[random.nextInt(NUMBERS.length)].getBytes(StandardCharsets.US_ASCII);
        return splice(out, start, end - start, number);
    }

    private int position(int length) {
        return random.nextBoolean() ? random.nextInt(Math.min(length, HEADER)) : random.nextInt(length);
    }

    private byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    /** in with {@code removed} bytes at {@code at} replaced by {@code inserted}. */
    private static byte[] splice(byte[] in, int at, int removed, byte[] inserted) {
        byte[] out = new byte[in.length - removed + inserted.length];
        System.arraycopy(in, 0, out, 0, at);
        System.arraycopy(inserted, 0, out, at, inserted.length);
        System.arraycopy(in, at + removed, out, at + inserted.length, in.length - at - removed);
        return out;
    }
}
