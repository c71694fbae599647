package kbench.engine;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Answer lines from every thread gathered into one buffer and written to standard output by a
 * thread of its own: what arrives while it writes goes out in the next write, so a busy engine
 * writes many lines per system call. At most {@link #MAX_PENDING} bytes wait: beyond it a line
 * waits for the writer, so a reader of the answers that falls behind slows the producer's
 * answers instead of growing the engine's memory.
 */
final class Out {
    static final int MAX_PENDING = 16 << 20;

    private final OutputStream os;
    private byte[] buf = new byte[1 << 16];
    private int len;
    private boolean closed;
    private boolean stopping;
    /** The writer waits for lines; senders wait for room: only then is a notify needed. */
    private boolean writerWaiting;
    private int sendersWaiting;
    private final Thread writer;

    Out(OutputStream os) {
        this.os = os;
        this.writer = new Thread(this::run, "kbench-out");
        this.writer.setDaemon(true);
        this.writer.start();
    }

    private void run() {
        byte[] spare = new byte[1 << 16];
        while (true) {
            byte[] out;
            int n;
            boolean last;
            synchronized (this) {
                while (len == 0 && !stopping) {
                    writerWaiting = true;
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return;
                    } finally {
                        writerWaiting = false;
                    }
                }
                out = buf;
                n = len;
                buf = spare.length >= out.length ? spare : new byte[out.length];
                len = 0;
                last = stopping;
                if (sendersWaiting > 0) {
                    notifyAll();
                }
            }
            try {
                os.write(out, 0, n);
                os.flush();
            } catch (IOException e) {
                // kbench is gone: nothing is left to tell.
            }
            spare = out;
            if (last) {
                synchronized (this) {
                    if (len == 0) {
                        return;
                    }
                }
            }
        }
    }

    /** Appends one line (with its line end); dropped once closed. */
    synchronized void line(CharSequence s) {
        append(s.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** Appends one answer line, "tag id due enq done topic bytes last", its numbers written in
     * place; dropped once closed. */
    synchronized void answer(char tag, long id, long due, long enq, long done, int topic, int bytes, String last) {
        while (len > MAX_PENDING && !closed) {
            sendersWaiting++;
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } finally {
                sendersWaiting--;
            }
        }
        if (closed) {
            return;
        }
        ensure(8 * 21 + last.length() + 2);
        buf[len++] = (byte) tag;
        putLong(' ', id);
        putLong(' ', due);
        putLong(' ', enq);
        putLong(' ', done);
        putLong(' ', topic);
        putLong(' ', bytes);
        buf[len++] = ' ';
        for (int i = 0; i < last.length(); i++) {
            buf[len++] = (byte) last.charAt(i);
        }
        buf[len++] = '\n';
        if (writerWaiting) {
            notifyAll();
        }
    }

    /** A separator and a decimal number, into the buffer (room ensured by the caller). */
    private void putLong(char sep, long v) {
        buf[len++] = (byte) sep;
        if (v < 0) {
            buf[len++] = '-';
            v = -v;
        }
        int start = len;
        do {
            buf[len++] = (byte) ('0' + v % 10);
            v /= 10;
        } while (v > 0);
        for (int i = start, j = len - 1; i < j; i++, j--) {
            byte t = buf[i];
            buf[i] = buf[j];
            buf[j] = t;
        }
    }

    private void append(byte[] b) {
        if (closed) {
            return;
        }
        ensure(b.length + 1);
        System.arraycopy(b, 0, buf, len, b.length);
        len += b.length;
        buf[len++] = '\n';
        notifyAll();
    }

    private void ensure(int more) {
        if (len + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
        }
    }

    /** Writes what is left; later lines are dropped. */
    void close() {
        synchronized (this) {
            closed = true;
            stopping = true;
            notifyAll();
        }
        try {
            writer.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
