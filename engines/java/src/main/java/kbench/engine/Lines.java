package kbench.engine;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * kbench's lines, read from a buffer of its own (no call per byte, no copy of a line that fits):
 * {@link #next()} finds the next line and its fields, split at single spaces, which the
 * accessors read in place until the next call; {@link #pool} reads the payload pool.
 */
final class Lines {
    private static final int MAX_FIELDS = 10;
    private final InputStream in;
    private byte[] buf = new byte[1 << 20];
    private int pos;
    private int end;
    private final int[] from = new int[MAX_FIELDS];
    private final int[] to = new int[MAX_FIELDS];
    /** Fields of the current line. */
    int count;

    Lines(InputStream in) {
        this.in = in;
    }

    /** Finds the next line and splits it; false at the end of the input. */
    boolean next() throws IOException {
        int nl = find();
        if (nl < 0) {
            return false;
        }
        int start = pos;
        pos = nl + 1;
        if (nl == start) {
            throw new IOException("an empty line");
        }
        count = 0;
        int f = start;
        for (int i = start; i <= nl; i++) {
            if (i == nl || buf[i] == ' ') {
                if (count == MAX_FIELDS) {
                    throw new IOException("a line of too many fields: " + show());
                }
                from[count] = f;
                to[count] = i;
                count++;
                f = i + 1;
            }
        }
        return true;
    }

    /** The index of the next line end in the buffer, reading more as needed; -1 at the end. */
    private int find() throws IOException {
        int scanned = pos;
        while (true) {
            for (int i = scanned; i < end; i++) {
                if (buf[i] == '\n') {
                    return i;
                }
            }
            if (pos > 0) {
                System.arraycopy(buf, pos, buf, 0, end - pos);
                end -= pos;
                pos = 0;
            } else if (end == buf.length) {
                buf = Arrays.copyOf(buf, buf.length * 2);
            }
            scanned = end;
            int n = in.read(buf, end, buf.length - end);
            if (n < 0) {
                if (end > pos) {
                    throw new IOException("the input ended inside a line");
                }
                return -1;
            }
            end += n;
        }
    }

    /** Field i is the one character c. */
    boolean is(int i, char c) {
        return to[i] - from[i] == 1 && buf[from[i]] == c;
    }

    /** Field i's first byte. */
    byte first(int i) {
        return buf[from[i]];
    }

    /** Field i as a decimal number. */
    long num(int i) throws IOException {
        int a = from[i];
        int b = to[i];
        boolean neg = a < b && buf[a] == '-';
        if (neg) {
            a++;
        }
        if (a == b || b - a > 18) {
            throw new IOException("not a number: " + text(i));
        }
        long v = 0;
        for (int k = a; k < b; k++) {
            int d = buf[k] - '0';
            if (d < 0 || d > 9) {
                throw new IOException("not a number: " + text(i));
            }
            v = v * 10 + d;
        }
        return neg ? -v : v;
    }

    /** Field i, hex-decoded. */
    byte[] hex(int i) throws IOException {
        int a = from[i];
        int n = to[i] - a;
        if (n % 2 != 0) {
            throw new IOException("not hex: " + text(i));
        }
        byte[] out = new byte[n / 2];
        for (int k = 0; k < out.length; k++) {
            int hi = Character.digit(buf[a + 2 * k], 16);
            int lo = Character.digit(buf[a + 2 * k + 1], 16);
            if (hi < 0 || lo < 0) {
                throw new IOException("not hex: " + text(i));
            }
            out[k] = (byte) (hi << 4 | lo);
        }
        return out;
    }

    /** Field i, base64-decoded. */
    byte[] base64(int i) throws IOException {
        try {
            return java.util.Base64.getDecoder().decode(Arrays.copyOfRange(buf, from[i], to[i]));
        } catch (IllegalArgumentException e) {
            throw new IOException("not base64: " + e.getMessage());
        }
    }

    String text(int i) {
        return new String(buf, from[i], to[i] - from[i], StandardCharsets.US_ASCII);
    }

    /** The current line, for errors. */
    String show() {
        int a = from[0];
        int b = count > 0 ? to[count - 1] : a;
        return "\"" + new String(buf, a, Math.min(b - a, 200), StandardCharsets.US_ASCII) + "\"";
    }

    /** After "P n": the n bytes of the pool and a line end. */
    byte[] pool() throws IOException {
        if (count != 2) {
            throw new IOException("P takes a length");
        }
        long n = num(1);
        if (n < 0 || n > Integer.MAX_VALUE - 8) {
            throw new IOException("pool length " + n);
        }
        byte[] pool = new byte[(int) n];
        int have = Math.min(end - pos, (int) n);
        System.arraycopy(buf, pos, pool, 0, have);
        pos += have;
        int got = have + in.readNBytes(pool, have, (int) n - have);
        if (got != n) {
            throw new IOException("the pool of " + n + " bytes ended after " + got);
        }
        if (pos == end && in.read(buf, 0, 1) == 1) {
            pos = 0;
            end = 1;
        }
        if (pos >= end || buf[pos] != '\n') {
            throw new IOException("the pool of " + n + " bytes is not followed by a line end");
        }
        pos++;
        return pool;
    }
}
