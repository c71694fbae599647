package kbench.engine;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.protocol.Errors;

/**
 * The producer, the ledger of what is outstanding, and the message lines: "M id due slot topic
 * partition key offset length" (a slice of the payload pool) or "B id due slot topic partition
 * key base64" (the bytes themselves); "W slot" in sync mode; "F grace_ms" at the end.
 */
final class Engine {
    private final Config cfg;
    private final Out out;
    private final KafkaProducer<byte[], byte[]> producer;
    private final RecordHeaders headers;
    private final String[] topics;
    private byte[] pool = new byte[0];
    /** Pool slices made so far, by offset and length (at most MAX_SLICES). */
    private final Map<Long, byte[]> slices = new HashMap<>();
    private static final int MAX_SLICES = 1 << 16;
    /** Every message handed on, in order (only the reading thread adds and sweeps). */
    private final ArrayList<Msg> ledger = new ArrayList<>();
    private int sweepAt = 1 << 16;
    private final AtomicLong open = new AtomicLong();
    /** The message the reading thread is handing to send() right now. */
    private volatile Msg sending;
    private final Thread reader = Thread.currentThread();
    /** Sync mode: each slot's records waiting for its W line, and each slot's sender. */
    private List<List<Object[]>> batches;
    private final List<BlockingQueue<List<Object[]>>> slots = new ArrayList<>();
    private final Set<String> events = new java.util.HashSet<>();
    private volatile boolean closed;

    private Engine(Config cfg, Settings settings, Out out) {
        this.cfg = cfg;
        this.out = out;
        this.topics = cfg.topics.toArray(new String[0]);
        List<Header> hs = new ArrayList<>();
        for (List<String> h : cfg.headers == null ? List.<List<String>>of() : cfg.headers) {
            hs.add(new RecordHeader(h.get(0), Base64.getDecoder().decode(h.get(1))));
        }
        this.headers = new RecordHeaders(hs.toArray(new Header[0]));
        this.headers.setReadOnly();
        this.producer = new KafkaProducer<>(settings.props);
    }

    /** Starts the producer and reaches the cluster (metadata of the first topic), so an unreachable
     * or refusing cluster is the start failing (exit 3), not every message. */
    static Engine start(Config cfg, Settings settings, Out out) {
        Engine e = new Engine(cfg, settings, out);
        try {
            e.producer.partitionsFor(cfg.topics.get(0));
        } catch (RuntimeException ex) {
            e.producer.close(Duration.ZERO);
            throw ex;
        }
        if ("sync".equals(cfg.mode)) {
            e.batches = new ArrayList<>();
            for (int i = 0; i < cfg.slots; i++) {
                e.batches.add(new ArrayList<>());
                BlockingQueue<List<Object[]>> q = new ArrayBlockingQueue<>(1);
                e.slots.add(q);
                Thread t = new Thread(() -> e.syncSlot(q), "kbench-slot-" + i);
                t.setDaemon(true);
                t.start();
            }
        }
        return e;
    }

    boolean isSending(Msg m) {
        return sending == m && Thread.currentThread() == reader;
    }

    void serve(InputStream in) throws IOException {
        Lines l = new Lines(in);
        while (true) {
            if (!l.next()) {
                throw new IOException("standard input closed before the finish line");
            }
            if (l.is(0, 'M') || l.is(0, 'B')) {
                message(l);
            } else if (l.is(0, 'W')) {
                flushSlot(l);
            } else if (l.is(0, 'P')) {
                pool = l.pool();
            } else if (l.is(0, 'F')) {
                finish(l);
                return;
            } else {
                throw new IOException("unknown line " + l.show());
            }
        }
    }

    private void message(Lines l) throws IOException {
        boolean inline = l.first(0) == 'B';
        if ((!inline && l.count != 9) || (inline && l.count != 8)) {
            throw new IOException("wrong number of fields: " + l.show());
        }
        long id = l.num(1);
        long due = l.num(2);
        long slot = l.num(3);
        long topic = l.num(4);
        long part = l.num(5);
        if (topic < 0 || topic >= cfg.topics.size() || slot < 0 || slot >= cfg.slots) {
            throw new IOException("topic or slot out of range: " + l.show());
        }
        byte[] key = l.is(6, '-') ? null : l.hex(6);
        byte[] value;
        if (inline) {
            value = l.base64(7);
        } else {
            long off = l.num(7);
            long n = l.num(8);
            if (off < 0 || n < 0 || off + n > pool.length) {
                throw new IOException("payload slice outside the pool: " + l.show());
            }
            value = slice((int) off, (int) n);
        }
        Msg m = new Msg(this, id, due, (int) topic, value.length + (key == null ? 0 : key.length));
        ProducerRecord<byte[], byte[]> rec = new ProducerRecord<>(topics[(int) topic],
                part >= 0 ? (int) part : null, null, key, value, headers);
        add(m);
        if (batches != null) {
            batches.get((int) slot).add(new Object[] {m, rec});
            return;
        }
        sending = m;
        producer.send(rec, m);
        sending = null;
        m.enqNs = System.nanoTime();
    }

    /** A slice of the pool as its own array, made once per slice: records only read their value,
     * so messages that carry the same slice share it (as kafka-producer-perf-test's share one). */
    private byte[] slice(int off, int n) {
        long k = (long) off << 32 | n;
        byte[] v = slices.get(k);
        if (v == null) {
            v = java.util.Arrays.copyOfRange(pool, off, off + n);
            if (slices.size() < MAX_SLICES) {
                slices.put(k, v);
            }
        }
        return v;
    }

    private void add(Msg m) {
        open.incrementAndGet();
        ledger.add(m);
        if (ledger.size() >= sweepAt) {
            ledger.removeIf(x -> x.state != Msg.OPEN);
            sweepAt = Math.max(2 * ledger.size(), 1 << 16);
        }
    }

    private void flushSlot(Lines l) throws IOException {
        if (batches == null || l.count != 2) {
            throw new IOException("W takes a slot, in sync mode");
        }
        long slot = l.num(1);
        if (slot < 0 || slot >= cfg.slots) {
            throw new IOException("slot out of range");
        }
        List<Object[]> batch = batches.get((int) slot);
        batches.set((int) slot, new ArrayList<>());
        if (!batch.isEmpty()) {
            try {
                slots.get((int) slot).put(batch);
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
        }
    }

    /** One sync worker: sends its batch, waits for every answer, answers each message. */
    @SuppressWarnings("unchecked")
    private void syncSlot(BlockingQueue<List<Object[]>> q) {
        while (true) {
            List<Object[]> batch;
            try {
                batch = q.take();
            } catch (InterruptedException e) {
                return;
            }
            long enq = System.nanoTime();
            List<Future<RecordMetadata>> futures = new ArrayList<>(batch.size());
            for (Object[] mr : batch) {
                ((Msg) mr[0]).enqNs = enq;
                futures.add(producer.send((ProducerRecord<byte[], byte[]>) mr[1]));
            }
            Object[] results = new Object[batch.size()];
            for (int i = 0; i < futures.size(); i++) {
                try {
                    results[i] = futures.get(i).get();
                } catch (ExecutionException e) {
                    results[i] = e.getCause();
                } catch (InterruptedException e) {
                    return;
                }
            }
            long done = System.nanoTime();
            for (int i = 0; i < results.length; i++) {
                Msg m = (Msg) batch.get(i)[0];
                if (results[i] instanceof RecordMetadata md) {
                    acked(m, md.partition(), done);
                } else {
                    failed(m, (Throwable) results[i], done);
                }
            }
        }
    }

    void acked(Msg m, int partition, long done) {
        answer(m, 'A', done, Integer.toString(partition));
    }

    void failed(Msg m, Throwable e, long done) {
        answer(m, 'N', done, errorName(e));
    }

    private void answer(Msg m, char tag, long done, String last) {
        long enq = m.enqueued();
        if (!m.settle(Msg.ANSWERED)) {
            return;
        }
        out.answer(tag, m.id, m.due, enq, done, m.topic, m.bytes, last);
        open.decrementAndGet();
    }

    /** Kafka's error code (kbench names it), librdkafka's name for the same local condition, or
     * "_FAIL" with the producer's text as a client-error event. */
    private String errorName(Throwable e) {
        String text = Main.describe(e);
        if (e instanceof org.apache.kafka.common.errors.TimeoutException && text.contains("Expiring")) {
            return "_MSG_TIMED_OUT";
        }
        Errors err = Errors.forException(e);
        if (err != Errors.UNKNOWN_SERVER_ERROR && err != Errors.NONE) {
            return "k" + err.code();
        }
        if (e instanceof IllegalStateException && text.contains("closed")) {
            return "_DESTROY";
        }
        event(Main.oneLine(text));
        return "_FAIL";
    }

    private synchronized void event(String text) {
        if (closed || events.size() >= 100 || !events.add(text)) {
            return;
        }
        out.line("V client-error " + text);
    }

    /** "F grace_ms": waits for the outstanding messages at most the grace, reports the rest as
     * unresolved (queued: never handed over; in_flight: handed, no answer), then the end line. */
    private void finish(Lines l) throws IOException {
        if (l.count != 2) {
            throw new IOException("F takes the grace in ms");
        }
        long graceMs = l.num(1);
        long deadline = System.nanoTime() + graceMs * 1_000_000L;
        while (open.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                break;
            }
        }
        synchronized (this) {
            closed = true;
        }
        for (Msg m : ledger) {
            if (!m.settle(Msg.UNRESOLVED)) {
                continue;
            }
            long enq = m.enqNs;
            out.line("U " + m.id + " " + m.due + " " + enq + " 0 " + m.topic + " " + m.bytes + " "
                    + (enq == 0 ? "queued" : "in_flight"));
        }
        ledger.clear();
        Map<String, Object> metrics = metrics();
        producer.close(Duration.ofSeconds(5));
        Map<String, Object> end = new LinkedHashMap<>();
        end.put("cpu_s", cpuSeconds());
        end.put("max_rss_kib", peakRssKib());
        end.put("metrics", metrics);
        out.line("E " + Json.write(end));
    }

    /** The producer's own figures, under its names (producer-metrics: windowed averages and maxima). */
    private Map<String, Object> metrics() {
        Set<String> wanted = Set.of("request-latency-avg", "request-latency-max", "batch-size-avg",
                "batch-size-max", "records-per-request-avg", "record-queue-time-avg",
                "record-queue-time-max", "compression-rate-avg", "record-retry-total",
                "record-error-total", "record-send-total", "produce-throttle-time-avg");
        Map<String, Object> m = new HashMap<>();
        for (Map.Entry<MetricName, ? extends Metric> e : producer.metrics().entrySet()) {
            MetricName n = e.getKey();
            if (n.group().equals("producer-metrics") && wanted.contains(n.name())) {
                Object v = e.getValue().metricValue();
                if (v instanceof Double d && !d.isNaN() && !d.isInfinite()) {
                    m.put(n.name(), d);
                }
            }
        }
        return m;
    }

    private static double cpuSeconds() {
        var os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getProcessCpuTime() / 1e9;
        }
        return 0;
    }

    private static long peakRssKib() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmHWM:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | NumberFormatException e) {
            // No /proc: unknown.
        }
        return 0;
    }
}
