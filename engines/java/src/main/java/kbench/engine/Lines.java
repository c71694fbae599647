package kbench.engine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** kbench's lines, read as fields split at single spaces, and the payload pool. */
final class Lines {
    private final InputStream in;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream(256);

    Lines(InputStream in) {
        this.in = in;
    }

    /** The next line's fields, or null at the end of the input. */
    byte[][] next() throws IOException {
        line.reset();
        int b;
        while ((b = in.read()) != '\n') {
            if (b < 0) {
                if (line.size() == 0) {
                    return null;
                }
                break;
            }
            line.write(b);
        }
        byte[] all = line.toByteArray();
        List<byte[]> fields = new ArrayList<>(10);
        int start = 0;
        for (int i = 0; i <= all.length; i++) {
            if (i == all.length || all[i] == ' ') {
                fields.add(java.util.Arrays.copyOfRange(all, start, i));
                start = i + 1;
            }
            if (fields.size() > 10) {
                throw new IOException("a line of too many fields");
            }
        }
        if (all.length == 0) {
            throw new IOException("an empty line");
        }
        return fields.toArray(new byte[0][]);
    }

    /** "P n", then the n bytes of the pool and a line end. */
    byte[] pool(byte[][] f) throws IOException {
        if (f.length != 2) {
            throw new IOException("P takes a length");
        }
        long n = num(f[1]);
        if (n < 0 || n > Integer.MAX_VALUE - 8) {
            throw new IOException("pool length " + n);
        }
        byte[] pool = in.readNBytes((int) n);
        if (pool.length != n || in.read() != '\n') {
            throw new IOException("the pool of " + n + " bytes is not followed by a line end");
        }
        return pool;
    }

    static long num(byte[] f) throws IOException {
        try {
            return Long.parseLong(new String(f, StandardCharsets.US_ASCII));
        } catch (NumberFormatException e) {
            throw new IOException("not a number: " + new String(f, StandardCharsets.US_ASCII));
        }
    }

    static String show(byte[][] f) {
        List<String> s = new ArrayList<>();
        for (byte[] x : f) {
            s.add(new String(x, StandardCharsets.US_ASCII));
        }
        return "\"" + String.join(" ", s) + "\"";
    }
}
