//! `producer.engine`: which client sends what kbench schedules. `librdkafka` (the default) runs in
//! process; `sarama`, `franz-go` and `java` are external engines (`crate::engine`): Go programs on
//! `github.com/IBM/sarama` and `github.com/twmb/franz-go`, and a Java program on the Kafka Java
//! producer (`org.apache.kafka:kafka-clients`), that kbench builds and drives.
//!
//! Each client's module translates the scenario's typed keys into that client's own settings,
//! one [`Setting`] per key, naming the key it came from; a setting whose meaning the client
//! cannot match carries why ([`Setting::differs`]), so a comparison shows where it was not like
//! for like. The engine's raw table (`[producer.sarama]`, `[producer.franz-go]`) follows the
//! typed keys and wins. A key the client has no equivalent for is an error naming the key and the
//! engine, never dropped.

pub mod franz_go;
pub mod java;
pub mod librdkafka;
pub mod sarama;

use serde::{Deserialize, Serialize};

use super::{Partitioner, Scenario};
use crate::input::FieldError;

/// The client that sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Engine {
    /// librdkafka, in process (rdkafka's vendored build).
    #[default]
    #[serde(rename = "librdkafka")]
    Librdkafka,
    /// IBM/sarama, the Go client, as an external engine.
    #[serde(rename = "sarama")]
    Sarama,
    /// twmb/franz-go (kgo), the Go client, as an external engine.
    #[serde(rename = "franz-go")]
    FranzGo,
    /// The Kafka Java producer (kafka-clients), as an external engine on a JVM.
    #[serde(rename = "java")]
    Java,
}

impl Engine {
    pub const ALL: [Engine; 4] = [
        Engine::Librdkafka,
        Engine::Sarama,
        Engine::FranzGo,
        Engine::Java,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Librdkafka => "librdkafka",
            Engine::Sarama => "sarama",
            Engine::FranzGo => "franz-go",
            Engine::Java => "java",
        }
    }

    /// An external engine (a process kbench starts).
    pub fn is_external(self) -> bool {
        self != Engine::Librdkafka
    }

    /// The client's package: a Go module, or the Maven artifact (external engines).
    pub fn module(self) -> Option<&'static str> {
        match self {
            Engine::Librdkafka => None,
            Engine::Sarama => Some("github.com/IBM/sarama"),
            Engine::FranzGo => Some("github.com/twmb/franz-go"),
            Engine::Java => Some("org.apache.kafka:kafka-clients"),
        }
    }

    /// The scenario table of the engine's raw settings, by the client's own names.
    pub fn raw_table(self) -> &'static str {
        match self {
            Engine::Librdkafka => "producer.properties",
            Engine::Sarama => "producer.sarama",
            Engine::FranzGo => "producer.franz-go",
            Engine::Java => "producer.java",
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Engine, String> {
        Engine::ALL
            .into_iter()
            .find(|e| e.as_str() == s.trim())
            .ok_or_else(|| format!("expected librdkafka, sarama, franz-go or java, found {s:?}"))
    }
}

/// One client setting a scenario key becomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    /// The scenario key it comes from (`producer.linger`), or the engine's raw table.
    pub key: String,
    /// The client's name for it (`Producer.Flush.Frequency`, `ProducerLinger`, `linger.ms`).
    pub name: String,
    pub value: String,
    /// Why the client's setting does not mean exactly what the key says (a marked row in a
    /// comparison); absent when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub differs: Option<String>,
}

impl Setting {
    pub fn new(key: &str, name: &str, value: impl Into<String>) -> Setting {
        Setting {
            key: key.into(),
            name: name.into(),
            value: value.into(),
            differs: None,
        }
    }

    /// The same setting, marked: the client cannot match the key's meaning exactly.
    pub fn differs(mut self, why: impl Into<String>) -> Setting {
        self.differs = Some(why.into());
        self
    }
}

/// The engine's settings for scenario `s`: the typed keys' translation, then the raw table's
/// entries (which the client applies last, so they win). A setting named `-` is shown in a
/// comparison and not sent: what the client does on its own for that key.
pub fn settings(s: &Scenario) -> Vec<Setting> {
    let engine = s.producer.engine;
    let mut out = match engine {
        Engine::Librdkafka => librdkafka::settings(s),
        Engine::Sarama => sarama::settings(s),
        Engine::FranzGo => franz_go::settings(s),
        Engine::Java => java::settings(s),
    };
    let table = engine.raw_table();
    out.extend(
        raw(s, engine)
            .iter()
            .map(|(k, v)| Setting::new(table, k, v.clone())),
    );
    out
}

/// The raw table that goes to the engine's client.
fn raw(s: &Scenario, engine: Engine) -> &std::collections::BTreeMap<String, String> {
    match engine {
        Engine::Librdkafka => &s.producer.properties,
        Engine::Sarama => &s.producer.sarama,
        Engine::FranzGo => &s.producer.franz_go,
        Engine::Java => &s.producer.java,
    }
}

/// The partitioner an external engine uses for the scenario's: kbench's own choices
/// (round-robin, manual) arrive with their partition set (`manual`); librdkafka's names go to the
/// same hash: `hash` (fnv-1a), `murmur2` (the Java client's), `crc32` (librdkafka's
/// consistent), `random`.
pub fn partitioner(p: &Partitioner) -> &'static str {
    match p {
        Partitioner::RoundRobin | Partitioner::Manual(_) => "manual",
        Partitioner::Librdkafka(name) => match name.as_str() {
            "murmur2" | "murmur2_random" => "murmur2",
            "consistent" | "consistent_random" => "crc32",
            "random" => "random",
            _ => "hash",
        },
    }
}

/// What an engine cannot do (dotted key, message), checked with the other rules.
pub fn check(s: &Scenario) -> Result<(), FieldError> {
    let engine = s.producer.engine;
    for other in Engine::ALL {
        if other != engine && other.is_external() && !raw(s, other).is_empty() {
            return Err(FieldError::new(
                other.raw_table(),
                format!(
                    "[{}] applies to producer.engine = \"{other}\", not {engine}",
                    other.raw_table()
                ),
            ));
        }
    }
    if !engine.is_external() {
        return Ok(());
    }
    let none = |key: &str, why: &str| {
        Err(FieldError::new(
            key,
            format!("producer.engine = \"{engine}\" {why}"),
        ))
    };
    if !s.producer.properties.is_empty() || !s.cluster.properties.is_empty() {
        let key = match s.producer.properties.is_empty() {
            true => "cluster.properties",
            false => "producer.properties",
        };
        let hint = format!(
            "does not take librdkafka properties: set the client's own in [{}]",
            engine.raw_table()
        );
        return none(key, &hint);
    }
    if engine == Engine::Java && s.cluster.is_embedded() {
        return none(
            "cluster.bootstrap",
            "needs a real cluster: the Java producer cannot talk to the embedded broker (librdkafka's mock cluster answers its requests in a form it cannot decode, and it cannot cap its protocol version as sarama and franz-go do); give cluster.bootstrap (scripts/kafka.sh starts a Kafka)",
        );
    }
    if s.producer.transaction.is_some() {
        return none(
            "producer.transaction",
            "does not drive transactions yet: use producer.engine = \"librdkafka\"",
        );
    }
    if let Some((key, why)) = match engine {
        Engine::FranzGo => franz_go::refused(s),
        Engine::Java => java::refused(s),
        _ => None,
    } {
        return none(key, why);
    }
    for key in raw(s, engine).keys() {
        if key.trim().is_empty() || key.contains(char::is_whitespace) {
            return Err(FieldError::new(
                engine.raw_table(),
                format!("invalid {engine} setting name {key:?}"),
            ));
        }
    }
    Ok(())
}

/// The acks a client is set to: fire-and-forget mode sends with none, whatever `acks` says.
pub fn sent_acks(p: &super::Producer) -> super::Acks {
    match p.mode {
        super::Mode::FireAndForget => super::Acks::None,
        _ => p.acks(),
    }
}

/// A duration as Go writes one: whole milliseconds as `ms`, else microseconds.
pub fn go_duration(d: crate::units::Dur) -> String {
    let us = d.0.as_micros();
    match us % 1000 {
        0 => format!("{}ms", us / 1000),
        _ => format!("{us}us"),
    }
}

/// The protocol cap of a Go client on the embedded broker: librdkafka's mock cluster answers the
/// flexible-version requests of Kafka 2.4 and up in a form sarama and kgo cannot decode; 2.3 is
/// the newest protocol they share.
fn embedded_protocol(name: &str) -> Setting {
    Setting::new("cluster (embedded broker)", name, "2.3.0").differs(
        "the embedded broker answers newer requests in a form this client cannot decode: Kafka 2.3's protocol",
    )
}

/// What the client does for scenario `s`, key by key, for a comparison's settings table: the
/// settings it gets ([`settings`]), how it sends in the scenario's mode, how it picks
/// partitions, and what it does for the keys the scenario leaves unset, each marked where it
/// differs from librdkafka's meaning.
pub fn described(s: &Scenario) -> Vec<Setting> {
    let p = &s.producer;
    let engine = p.engine;
    let mut out = vec![mode(s), partitioning(s)];
    out.extend(
        settings(s)
            .into_iter()
            .filter(|t| t.key != "producer.partitioner")
            .map(|t| match t.key == engine.raw_table() {
                true => t.differs("set for this client only"),
                false => t,
            }),
    );
    let unset = |key: &str| !out.iter().any(|t| t.key == key);
    let mut defaults = Vec::new();
    if unset("producer.batch_messages") {
        defaults.push(match engine {
            Engine::Librdkafka => Setting::new(
                "producer.batch_messages",
                "batch.num.messages",
                "10000 (default)",
            ),
            Engine::Sarama => Setting::new(
                "producer.batch_messages",
                "Producer.Flush.MaxMessages",
                "0 (default: no bound)",
            )
            .differs("no bound on messages per request"),
            Engine::FranzGo => Setting::new("producer.batch_messages", "-", "-")
                .differs("kgo has no bound on messages per batch"),
            Engine::Java => Setting::new("producer.batch_messages", "-", "-")
                .differs("the Java producer has no bound on messages per batch"),
        });
    }
    // franz-go's translation sets the rest itself (librdkafka's defaults where kgo's differ).
    if unset("producer.request_timeout") {
        defaults.push(match engine {
            Engine::Sarama => Setting::new(
                "producer.request_timeout",
                "Net.ReadTimeout",
                "30s (default)",
            )
            .differs("a socket read timeout, not the broker's produce timeout"),
            _ => Setting::new(
                "producer.request_timeout",
                "request.timeout.ms",
                "30000 (default)",
            ),
        });
    }
    if unset("producer.queue_messages") {
        defaults.push(match engine {
            Engine::Sarama => Setting::new(
                "producer.queue_messages",
                "ChannelBufferSize",
                "256 (default)",
            )
            .differs(
                "the capacity of each of sarama's channels, not one bound on buffered messages",
            ),
            _ => Setting::new(
                "producer.queue_messages",
                "queue.buffering.max.messages",
                "100000 (default)",
            ),
        });
    }
    if unset("producer.max_message_bytes") {
        defaults.push(match engine {
            Engine::Sarama => Setting::new(
                "producer.max_message_bytes",
                "Producer.MaxMessageBytes",
                "1000000 (default)",
            ),
            _ => Setting::new(
                "producer.max_message_bytes",
                "message.max.bytes",
                "1000000 (default)",
            ),
        });
    }
    out.extend(defaults);
    out
}

/// How the client sends in the scenario's mode.
fn mode(s: &Scenario) -> Setting {
    use super::Mode;
    let p = &s.producer;
    let batch = p.sync_batch;
    let (name, value) = match (p.engine, p.mode) {
        (Engine::Librdkafka, m) => ("worker", m.to_string()),
        (Engine::Sarama, Mode::Sync) if batch > 1 => {
            ("SyncProducer", format!("SendMessages of {batch}"))
        }
        (Engine::Sarama, Mode::Sync) => ("SyncProducer", "SendMessage".into()),
        (Engine::Sarama, _) => ("AsyncProducer", "Input(), Successes(), Errors()".into()),
        (Engine::FranzGo, Mode::Sync) => ("Client", format!("ProduceSync of {batch}")),
        (Engine::FranzGo, _) => ("Client", "Produce with a promise".into()),
        (Engine::Java, Mode::Sync) => (
            "KafkaProducer",
            format!("send of {batch}, then each Future's get()"),
        ),
        (Engine::Java, _) => ("KafkaProducer", "send with a Callback".into()),
    };
    Setting::new("producer.mode", name, value)
}

/// How the client picks partitions.
fn partitioning(s: &Scenario) -> Setting {
    let p = &s.producer.partitioner;
    let picked = matches!(p, Partitioner::RoundRobin | Partitioner::Manual(_));
    let (name, value) = match s.producer.engine {
        _ if picked => ("-", "kbench picks the partition".to_string()),
        Engine::Librdkafka => match p {
            Partitioner::Librdkafka(name) => ("partitioner", name.clone()),
            _ => ("-", String::new()),
        },
        Engine::Sarama => ("Producer.Partitioner", partitioner(p).to_string()),
        Engine::FranzGo => ("RecordPartitioner", partitioner(p).to_string()),
        Engine::Java => ("partitioner.class", partitioner(p).to_string()),
    };
    Setting::new("producer.partitioner", name, value)
}
