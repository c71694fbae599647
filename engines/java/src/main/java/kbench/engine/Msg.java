package kbench.engine;

import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * One message handed to the producer, and its own send callback (one object per message): the
 * first of the producer's answer and the finish's "unresolved" to settle it writes its line.
 */
final class Msg implements Callback {
    static final int OPEN = 0;
    static final int ANSWERED = 1;
    static final int UNRESOLVED = 2;
    private static final AtomicIntegerFieldUpdater<Msg> STATE =
            AtomicIntegerFieldUpdater.newUpdater(Msg.class, "state");

    final Engine engine;
    final long id;
    final long due;
    final int topic;
    final int bytes;
    /** When the producer took it (ns, CLOCK_MONOTONIC); 0 while not yet handed over. */
    volatile long enqNs;
    volatile int state;

    Msg(Engine engine, long id, long due, int topic, int bytes) {
        this.engine = engine;
        this.id = id;
        this.due = due;
        this.topic = topic;
        this.bytes = bytes;
    }

    boolean settle(int to) {
        return STATE.compareAndSet(this, OPEN, to);
    }

    /** The producer's answer (on its I/O thread, or inside send() for what it refuses at once). */
    @Override
    public void onCompletion(RecordMetadata metadata, Exception exception) {
        long done = System.nanoTime();
        if (exception == null) {
            engine.acked(this, metadata.partition(), done);
        } else {
            engine.failed(this, exception, done);
        }
    }

    /** The enqueue instant, waiting out the moment between send() returning and noting it. */
    long enqueued() {
        long t;
        while ((t = enqNs) == 0) {
            if (engine.isSending(this)) {
                // Answered inside send(): it never left the caller's hands.
                return System.nanoTime();
            }
            Thread.onSpinWait();
        }
        return t;
    }
}
