//! The Java producer's properties (ProducerConfig names) for the scenario's typed keys, in the
//! order the engine applies them; `[producer.java]` follows and wins.

use super::{Scenario, Setting};
use crate::scenario::engine::librdkafka::millis;

// librdkafka's defaults where this client's differ and the scenario leaves the key unset.
use super::librdkafka::{MESSAGE_MAX_BYTES as MAX_MESSAGE_BYTES, REQUEST_TIMEOUT_MS};
/// What a message costs the Java producer's buffer beyond its payload (record overhead, key,
/// headers), for `queue_messages` as `buffer.memory`.
const PER_MESSAGE: u64 = 64;

/// The typed keys as ProducerConfig properties.
pub fn settings(s: &Scenario) -> Vec<Setting> {
    let p = &s.producer;
    let acks = super::sent_acks(p).as_rdkafka();
    let linger_ms = p.linger.0.as_millis() as u64;
    let message_ms = p.message_timeout.0.as_millis() as u64;
    let wanted = p
        .request_timeout
        .map_or(REQUEST_TIMEOUT_MS, |t| t.0.as_millis() as u64);
    // The Java producer refuses delivery.timeout.ms below linger.ms + request.timeout.ms.
    let request_ms = wanted.min(message_ms.saturating_sub(linger_ms)).max(1);
    let request = Setting::new(
        "producer.request_timeout",
        "request.timeout.ms",
        request_ms.to_string(),
    );
    let mut out = vec![
        Setting::new("producer.acks", "acks", acks),
        Setting::new("producer.idempotence", "enable.idempotence", p.idempotence.to_string()),
        Setting::new("producer.compression", "compression.type", p.compression.as_rdkafka()),
        Setting::new("producer.linger", "linger.ms", millis(p.linger.0)),
        Setting::new("producer.batch_size", "batch.size", p.batch_size.0.min(i32::MAX as u64).to_string()),
        Setting::new(
            "producer.max_in_flight",
            "max.in.flight.requests.per.connection",
            p.max_in_flight.to_string(),
        ),
        Setting::new("producer.retries", "retries", p.retries.to_string()),
        Setting::new("producer.retry_backoff", "retry.backoff.ms", millis(p.retry_backoff.0)),
        Setting::new("producer.message_timeout", "delivery.timeout.ms", millis(p.message_timeout.0)),
        match request_ms < wanted {
            true => request.differs("shortened: the Java producer requires delivery.timeout.ms >= linger.ms + request.timeout.ms"),
            false => request,
        },
        Setting::new(
            "producer.max_message_bytes",
            "max.request.size",
            p.max_message_bytes.map_or(MAX_MESSAGE_BYTES, |b| b.0).to_string(),
        ),
    ];
    out.push(match p.queue_messages {
        Some(q) => {
            let mean = crate::scenario::validate::mean_payload(&s.message).unwrap_or(1024);
            let bytes = (q as u64 * (mean + PER_MESSAGE)).clamp(1 << 20, i64::MAX as u64);
            Setting::new("producer.queue_messages", "buffer.memory", bytes.to_string())
                .differs("the Java producer bounds its buffer in bytes: queue_messages times the mean message")
        }
        None => Setting::new("producer.queue_messages", "-", "33554432 (buffer.memory's default)")
            .differs("the Java producer bounds its buffer in bytes, and blocks send() while it is full"),
    });
    out
}

/// A typed key the Java producer has no equivalent for: (key, why).
pub fn refused(s: &Scenario) -> Option<(&'static str, &'static str)> {
    s.producer.batch_messages.map(|_| {
        (
            "producer.batch_messages",
            "has no bound on messages per batch (the Java producer bounds a batch by bytes: producer.batch_size)",
        )
    })
}
