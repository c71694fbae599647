package kbench.engine;

import java.util.concurrent.ThreadLocalRandom;
import java.util.zip.CRC32;
import org.apache.kafka.clients.producer.Partitioner;
import org.apache.kafka.common.Cluster;

/**
 * The partitioners kbench's names map to: murmur2 is the producer's own (sticky for a message
 * without a key); hash (fnv-1a, sarama's default) and crc32 (librdkafka's consistent) hash the key
 * as those clients do; random draws a partition per message; manual leaves the partition kbench set
 * on the record (the producer uses a record's partition when it has one).
 */
final class Partitioners {
    private Partitioners() {}

    static String className(String name) {
        return switch (name == null ? "hash" : name) {
            case "murmur2", "manual" -> null;
            case "hash" -> Fnv1a.class.getName();
            case "crc32" -> Crc32.class.getName();
            case "random" -> Random.class.getName();
            default -> throw new IllegalArgumentException(
                    "partitioner \"" + name + "\": expected hash, murmur2, crc32, random or manual");
        };
    }

    /** A key's partition by a hash, or a random one for a message without a key. */
    abstract static class Hashing implements Partitioner {
        abstract long hash(byte[] key);

        @Override
        public int partition(String topic, Object key, byte[] keyBytes, Object value, byte[] valueBytes, Cluster cluster) {
            int n = cluster.partitionCountForTopic(topic);
            if (keyBytes == null) {
                return ThreadLocalRandom.current().nextInt(n);
            }
            return (int) Long.remainderUnsigned(hash(keyBytes), n);
        }

        @Override
        public void close() {}

        @Override
        public void configure(java.util.Map<String, ?> configs) {}
    }

    /** fnv-1a 32 as sarama's NewHashPartitioner (its absolute value, modulo the partitions). */
    public static final class Fnv1a extends Hashing {
        @Override
        long hash(byte[] key) {
            int h = 0x811c9dc5;
            for (byte b : key) {
                h ^= b & 0xff;
                h *= 0x01000193;
            }
            return Math.abs((long) h);
        }
    }

    /** crc32 as librdkafka's consistent partitioner. */
    public static final class Crc32 extends Hashing {
        @Override
        long hash(byte[] key) {
            CRC32 c = new CRC32();
            c.update(key);
            return c.getValue();
        }
    }

    /** A partition drawn per message. */
    public static final class Random extends Hashing {
        @Override
        long hash(byte[] key) {
            return ThreadLocalRandom.current().nextInt(Integer.MAX_VALUE);
        }
    }
}
