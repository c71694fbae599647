//! `producer.engine`: which client sends what kbench schedules. `librdkafka` (the default) runs in
//! process; `sarama` is an external engine (`crate::engine`), a Go program on
//! `github.com/IBM/sarama` that kbench builds and drives. The scenario's typed keys map to the
//! engine's own settings here, and `[producer.sarama]` passes sarama.Config fields through by
//! their Go names; a key the engine has no equivalent for is an error naming the key and the
//! engine, never dropped.

use serde::{Deserialize, Serialize};

use super::{Acks, Mode, Partitioner, Scenario};
use crate::input::FieldError;

/// The client that sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// librdkafka, in process (rdkafka's vendored build).
    #[default]
    Librdkafka,
    /// IBM/sarama, the Go client, as an external engine.
    Sarama,
}

impl Engine {
    pub const ALL: [Engine; 2] = [Engine::Librdkafka, Engine::Sarama];

    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Librdkafka => "librdkafka",
            Engine::Sarama => "sarama",
        }
    }

    /// An external engine (a process kbench starts).
    pub fn is_external(self) -> bool {
        self != Engine::Librdkafka
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
            .ok_or_else(|| format!("expected librdkafka or sarama, found {s:?}"))
    }
}

/// What an external engine cannot do (dotted key, message), checked with the other rules.
pub fn check(s: &Scenario) -> Result<(), FieldError> {
    let engine = s.producer.engine;
    if !engine.is_external() {
        if !s.producer.sarama.is_empty() {
            return Err(FieldError::new(
                "producer.sarama",
                "sarama settings apply to producer.engine = \"sarama\", not librdkafka",
            ));
        }
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
        return none(key, "does not take librdkafka properties: set sarama.Config fields in [producer.sarama] (e.g. \"Flush.Frequency\" = \"10ms\")");
    }
    if s.producer.transaction.is_some() {
        return none(
            "producer.transaction",
            "does not drive transactions yet: use producer.engine = \"librdkafka\"",
        );
    }
    for key in s.producer.sarama.keys() {
        if key.trim().is_empty() || key.contains(char::is_whitespace) {
            return Err(FieldError::new(
                "producer.sarama",
                format!("invalid sarama.Config field name {key:?}"),
            ));
        }
    }
    Ok(())
}

/// sarama.Config fields from the scenario's typed keys, by their Go path, in the order they are
/// applied; `[producer.sarama]` follows and wins.
pub fn sarama_settings(s: &Scenario) -> Vec<(String, String)> {
    let p = &s.producer;
    let us = |d: crate::units::Dur| format!("{}us", d.0.as_micros());
    let acks = match p.acks() {
        Acks::None => "0",
        Acks::Leader => "1",
        Acks::All => "-1",
    };
    let mut out: Vec<(&str, String)> = vec![
        ("Producer.RequiredAcks", acks.into()),
        ("Producer.Compression", p.compression.as_rdkafka().into()),
        ("Producer.Retry.Max", sarama_retries(p).to_string()),
        ("Producer.Retry.Backoff", us(p.retry_backoff)),
        ("Producer.Timeout", us(p.message_timeout)),
        ("Producer.Idempotent", p.idempotence.to_string()),
        // sarama requires one open request for idempotence.
        (
            "Net.MaxOpenRequests",
            match p.idempotence {
                true => "1".into(),
                false => p.max_in_flight.to_string(),
            },
        ),
    ];
    // librdkafka sends a batch when it is `batch_size` full or `linger` old; sarama flushes when
    // `Flush.Bytes` (or `Flush.Messages`) accumulated or every `Flush.Frequency`. With no
    // linger, librdkafka sends at once: sarama does too when no flush rule is set (a byte rule
    // alone would hold messages until it is met).
    if !p.linger.0.is_zero() {
        out.push(("Producer.Flush.Frequency", us(p.linger)));
        out.push(("Producer.Flush.Bytes", p.batch_size.0.to_string()));
        if let Some(n) = p.batch_messages {
            out.push(("Producer.Flush.Messages", n.to_string()));
        }
    }
    if let Some(n) = p.batch_messages {
        out.push(("Producer.Flush.MaxMessages", n.to_string()));
    }
    if s.cluster.is_embedded() {
        // librdkafka's mock cluster answers sarama's flexible-version requests (Kafka 2.4 and
        // up) in a form sarama cannot decode; 2.3 is the newest protocol both speak.
        out.insert(0, ("Version", "2.3.0".into()));
    }
    if let Some(b) = p.max_message_bytes {
        out.push(("Producer.MaxMessageBytes", b.0.to_string()));
    }
    if let Some(t) = p.request_timeout {
        out.push(("Net.ReadTimeout", us(t)));
    }
    if let Some(q) = p.queue_messages {
        out.push(("ChannelBufferSize", q.to_string()));
    }
    if p.mode == Mode::FireAndForget {
        if let Some(a) = out.iter_mut().find(|(k, _)| *k == "Producer.RequiredAcks") {
            a.1 = "0".into();
        }
    }
    out.into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .chain(p.sarama.iter().map(|(k, v)| (k.clone(), v.clone())))
        .collect()
}

/// `retries` for sarama: librdkafka retries until `message_timeout` (its default `retries` is
/// 2^31 - 1), sarama counts retries (and keeps state per retry level, so 2^31 of them do not fit
/// in memory): as many as fit in `message_timeout` at `retry_backoff`, at most `retries`.
pub fn sarama_retries(p: &super::Producer) -> u64 {
    let backoff = p.retry_backoff.0.as_micros().max(1);
    let fit = (p.message_timeout.0.as_micros() / backoff).max(1) as u64;
    fit.min(p.retries as u64)
}

/// sarama's partitioner for the scenario's: kbench's own choices (round-robin, manual) arrive
/// with their partition set.
pub fn sarama_partitioner(p: &Partitioner) -> &'static str {
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
