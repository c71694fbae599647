package kbench.engine;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** The first line kbench writes: where, what and how to send. */
public final class Config {
    public String protocol;
    public List<String> bootstrap;
    @JsonProperty("client_id")
    public String clientId;
    public List<String> topics;
    /** "async", "sync" or "fire-and-forget". */
    public String mode;
    /** Sync workers (each its own slot), and the messages each sends at once. */
    public int slots;
    @JsonProperty("sync_batch")
    public int syncBatch;
    /** "hash", "murmur2", "crc32", "random" or "manual" (kbench chose the partition). */
    public String partitioner;
    /** ProducerConfig properties, applied in order: kbench's typed keys, then [producer.java]. */
    public List<List<String>> settings;
    public Security security;
    /** The headers every message carries: [name, base64 value] pairs. */
    public List<List<String>> headers;
    /** Resolve the configuration, print it, and exit without connecting. */
    @JsonProperty("check_only")
    public boolean checkOnly;

    /** kbench's [cluster.security], resolved (the password goes only to this process). */
    public static final class Security {
        public String protocol;
        public String mechanism;
        public String username;
        public String password;
        public String ca;
        public String cert;
        public String key;
    }

    static Config read(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b < 0) {
                throw new IOException("no configuration line");
            }
            line.write(b);
        }
        Config cfg = Json.MAPPER.readValue(line.toString(StandardCharsets.UTF_8), Config.class);
        if (!Main.PROTOCOL.equals(cfg.protocol)) {
            throw new IOException("kbench speaks \"" + cfg.protocol + "\", this engine \""
                    + Main.PROTOCOL + "\": rebuild it (kbench engines build java)");
        }
        if (cfg.topics == null || cfg.topics.isEmpty()
                || (!cfg.checkOnly && (cfg.bootstrap == null || cfg.bootstrap.isEmpty()))) {
            throw new IOException("configuration line: no topics or no bootstrap servers");
        }
        cfg.slots = Math.max(cfg.slots, 1);
        cfg.syncBatch = Math.max(cfg.syncBatch, 1);
        return cfg;
    }
}
