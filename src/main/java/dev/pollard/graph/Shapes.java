package dev.pollard.graph;

import java.util.Arrays;

/** Small helpers for tensor shapes. */
public final class Shapes {
    private Shapes() {
    }

    public static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** The most elements a Java array can have on every VM (some reserve a few header words). */
    static final int MAX_ARRAY = Integer.MAX_VALUE - 8;

    /**
     * The number of elements of a shape a model declares, as an array length: refused with a ModelException naming
     * {@code what} when a dimension is negative or the count exceeds what one array holds (where {@link #elements}
     * would overflow silently).
     */
    static int checkedElements(long[] shape, String what) {
        for (long d : shape) {
            if (d < 0) {
                throw new ModelException(what + ": dims " + Arrays.toString(shape) + " include a negative dimension");
            }
        }
        if (Arrays.stream(shape).anyMatch(d -> d == 0)) {
            return 0;
        }
        long n = 1;
        for (long d : shape) {
            if (n > MAX_ARRAY / d) {
                throw new ModelException(what + ": dims " + Arrays.toString(shape) + " are more values than one array holds");
            }
            n *= d;
        }
        return (int) n;
    }

    /** Numpy-style broadcasting of two shapes. */
    static long[] broadcast(long[] a, long[] b, String node) {
        int rank = Math.max(a.length, b.length);
        long[] out = new long[rank];
        for (int i = 0; i < rank; i++) {
            long da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            long db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new ModelException("node " + node + ": shapes " + Arrays.toString(a) + " and " + Arrays.toString(b)
                        + " do not broadcast");
            }
            out[i] = Math.max(da, db);
        }
        return out;
    }

    /** An axis that may be negative, made absolute for a tensor of this rank. */
    static int axis(long axis, int rank) {
        return (int) (axis < 0 ? axis + rank : axis);
    }
}
