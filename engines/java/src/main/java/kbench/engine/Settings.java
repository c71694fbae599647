package kbench.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The producer's properties from the configuration line: kbench's typed keys and then
 * [producer.java] by ProducerConfig names (an unknown name is refused), the partitioner, and
 * [cluster.security]. {@link #shown} is every property whose value differs from the producer's
 * default or that kbench set, as the producer resolved it, secrets "***".
 */
final class Settings {
    final Properties props = new Properties();
    final Map<String, String> shown = new TreeMap<>();

    private Settings() {}

    static Settings resolve(Config cfg) throws IOException {
        Settings s = new Settings();
        Properties p = s.props;
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                cfg.bootstrap == null || cfg.bootstrap.isEmpty() ? "127.0.0.1:9092" : String.join(",", cfg.bootstrap));
        p.put(ProducerConfig.CLIENT_ID_CONFIG, cfg.clientId == null ? "kbench" : cfg.clientId);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        String partitioner = Partitioners.className(cfg.partitioner);
        if (partitioner != null) {
            p.put(ProducerConfig.PARTITIONER_CLASS_CONFIG, partitioner);
        }
        security(p, cfg.security);
        Set<String> names = ProducerConfig.configNames();
        for (List<String> kv : cfg.settings == null ? List.<List<String>>of() : cfg.settings) {
            if (kv.size() != 2) {
                throw new IllegalArgumentException("a setting is a [name, value] pair: " + kv);
            }
            if (!names.contains(kv.get(0))) {
                throw new IllegalArgumentException("[producer.java] \"" + kv.get(0)
                        + "\": not a ProducerConfig name (kafka-clients "
                        + org.apache.kafka.common.utils.AppInfoParser.getVersion() + ")");
            }
            p.put(kv.get(0), kv.get(1));
        }
        s.show(new ProducerConfig(p));
        return s;
    }

    /** What the producer resolved, where it differs from its default or kbench set it. */
    private void show(ProducerConfig resolved) {
        Map<String, ConfigDef.ConfigKey> keys = ProducerConfig.configDef().configKeys();
        for (Map.Entry<String, ?> e : resolved.values().entrySet()) {
            String name = e.getKey();
            Object v = e.getValue();
            ConfigDef.ConfigKey key = keys.get(name);
            Object def = key == null ? null : key.defaultValue;
            if (!props.containsKey(name) && Objects.equals(v, def)) {
                continue;
            }
            shown.put(name, text(name, v));
        }
    }

    private static String text(String name, Object v) {
        if (v instanceof Password || name.contains("password") || name.equals("sasl.jaas.config")
                || name.equals("ssl.keystore.key")) {
            return "***";
        }
        if (v instanceof List<?> l) {
            return String.join(",", l.stream().map(String::valueOf).toList());
        }
        if (v instanceof Class<?> c) {
            return c.getName();
        }
        return String.valueOf(v);
    }

    /** [cluster.security] as the producer's security.protocol, SASL (PLAIN, SCRAM) and PEM TLS. */
    private static void security(Properties p, Config.Security s) throws IOException {
        if (s == null || s.protocol == null || s.protocol.isEmpty() || s.protocol.equals("PLAINTEXT")) {
            return;
        }
        p.put("security.protocol", s.protocol);
        if (s.protocol.endsWith("SSL")) {
            if (s.ca != null && !s.ca.isEmpty()) {
                p.put("ssl.truststore.type", "PEM");
                p.put("ssl.truststore.location", s.ca);
            }
            if (s.cert != null && !s.cert.isEmpty()) {
                p.put("ssl.keystore.type", "PEM");
                p.put("ssl.keystore.certificate.chain", Files.readString(Path.of(s.cert)));
                p.put("ssl.keystore.key", Files.readString(Path.of(s.key)));
            }
        }
        if (s.protocol.startsWith("SASL")) {
            String module = switch (s.mechanism) {
                case "PLAIN" -> "org.apache.kafka.common.security.plain.PlainLoginModule";
                case "SCRAM-SHA-256", "SCRAM-SHA-512" -> "org.apache.kafka.common.security.scram.ScramLoginModule";
                default -> throw new IllegalArgumentException("cluster.security.mechanism \"" + s.mechanism
                        + "\": this engine speaks PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512");
            };
            p.put("sasl.mechanism", s.mechanism);
            p.put("sasl.jaas.config", module + " required username=\"" + quoted(s.username)
                    + "\" password=\"" + quoted(s.password) + "\";");
        }
    }

    private static String quoted(String v) {
        return v == null ? "" : v.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
