package kbench.engine;

import java.io.BufferedInputStream;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * kbench's Java engine: it sends what kbench schedules with the Kafka Java producer
 * (kafka-clients) and answers with what happened to each message, speaking kbench.engine/v1 on
 * its standard input and output (docs/engines.md in the kbench repository).
 *
 * <p>kbench keeps the pacing, the payloads, the keys and the measurement; this program turns each
 * message line into a {@code KafkaProducer.send} and each outcome into a line, with the instants
 * read by {@code System.nanoTime()} (CLOCK_MONOTONIC on Linux, the clock kbench reads), so kbench
 * computes every latency itself. {@link Config} is the configuration line, {@link Settings} the
 * producer's properties, {@link Engine} the sends and the ledger, {@link Out} the answer lines.
 */
public final class Main {
    static final String PROTOCOL = "kbench.engine/v1";

    private Main() {}

    public static void main(String[] args) {
        Out out = new Out(new FileOutputStream(FileDescriptor.out));
        InputStream in = new BufferedInputStream(new FileInputStream(FileDescriptor.in), 1 << 20);
        Config cfg = null;
        try {
            cfg = Config.read(in);
        } catch (Exception e) {
            fatal(out, "protocol", 1, e);
        }
        Settings settings = null;
        try {
            settings = Settings.resolve(cfg);
        } catch (Exception e) {
            fatal(out, "config", 2, e);
        }
        Map<String, Object> ready = new LinkedHashMap<>();
        ready.put("client", "java");
        ready.put("client_version", org.apache.kafka.common.utils.AppInfoParser.getVersion());
        ready.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        settings.shown.put("jvm.options", String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()));
        ready.put("config", settings.shown);
        if (cfg.checkOnly) {
            out.line("R " + Json.write(ready));
            out.close();
            System.exit(0);
        }
        Engine engine = null;
        try {
            engine = Engine.start(cfg, settings, out);
        } catch (Exception e) {
            fatal(out, "cluster", 3, e);
        }
        out.line("R " + Json.write(ready));
        try {
            engine.serve(in);
        } catch (Exception e) {
            fatal(out, "protocol", 1, e);
        }
        out.close();
        System.exit(0);
    }

    /** Reports an error kbench shows with the engine's name, and exits. */
    static void fatal(Out out, String kind, int code, Throwable e) {
        out.line("X " + kind + " " + oneLine(describe(e)));
        out.close();
        System.exit(code);
    }

    /** An exception's message with its causes'. */
    static String describe(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (b.length() > 0) {
                b.append(": ");
            }
            b.append(t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName());
            if (t.getCause() == t) {
                break;
            }
        }
        return b.toString();
    }

    static String oneLine(String s) {
        return String.join(" ", s.trim().split("\\s+"));
    }
}
