package dev.pollard.data;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/** Reading the number of bytes a header declares without trusting the declaration. */
final class BoundedInput {
    /** The most elements a Java array can have on every VM (some reserve a few header words). */
    static final int MAX_ARRAY = Integer.MAX_VALUE - 8;

    private BoundedInput() {
    }

    /**
     * Exactly {@code length} bytes, or EOFException. Memory grows in small chunks as bytes arrive, so a header that
     * announces gigabytes over a file that holds kilobytes costs kilobytes.
     */
    static byte[] readExactly(InputStream in, int length) throws IOException {
        byte[] bytes = in.readNBytes(length);
        if (bytes.length < length) {
            throw new EOFException();
        }
        return bytes;
    }
}
