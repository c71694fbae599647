//! librdkafka's properties for the scenario's typed keys: the reference the other clients'
//! translations are read against (the typed keys mean what librdkafka's properties mean).

use super::{Scenario, Setting};

/// The typed keys as librdkafka properties (`crate::scenario::render` adds the connection,
/// security and raw properties).
pub fn settings(s: &Scenario) -> Vec<Setting> {
    let p = &s.producer;
    let mut out = vec![
        Setting::new("producer.acks", "acks", p.acks().as_rdkafka()),
        Setting::new(
            "producer.compression",
            "compression.codec",
            p.compression.as_rdkafka(),
        ),
        Setting::new("producer.linger", "linger.ms", millis(p.linger.0)),
        Setting::new(
            "producer.batch_size",
            "batch.size",
            p.batch_size.0.to_string(),
        ),
        Setting::new(
            "producer.idempotence",
            "enable.idempotence",
            p.idempotence.to_string(),
        ),
        Setting::new(
            "producer.max_in_flight",
            "max.in.flight.requests.per.connection",
            p.max_in_flight.to_string(),
        ),
        Setting::new("producer.retries", "retries", p.retries.to_string()),
        Setting::new(
            "producer.retry_backoff",
            "retry.backoff.ms",
            millis(p.retry_backoff.0),
        ),
        Setting::new(
            "producer.message_timeout",
            "message.timeout.ms",
            millis(p.message_timeout.0),
        ),
    ];
    if let Some(n) = p.batch_messages {
        out.push(Setting::new(
            "producer.batch_messages",
            "batch.num.messages",
            n.to_string(),
        ));
    }
    if let Some(t) = p.request_timeout {
        out.push(Setting::new(
            "producer.request_timeout",
            "request.timeout.ms",
            millis(t.0),
        ));
    }
    if let Some(b) = p.max_message_bytes {
        out.push(Setting::new(
            "producer.max_message_bytes",
            "message.max.bytes",
            b.0.to_string(),
        ));
    }
    if let super::Partitioner::Librdkafka(name) = &p.partitioner {
        out.push(Setting::new(
            "producer.partitioner",
            "partitioner",
            name.clone(),
        ));
    }
    if let Some(n) = p.queue_messages {
        out.push(Setting::new(
            "producer.queue_messages",
            "queue.buffering.max.messages",
            n.to_string(),
        ));
    }
    out
}

/// librdkafka's defaults the other clients are given where theirs differ and the scenario leaves
/// the key unset: the largest request (`message.max.bytes`), the broker's produce timeout
/// (`request.timeout.ms`) and the local queue (`queue.buffering.max.messages`).
pub const MESSAGE_MAX_BYTES: u64 = 1_000_000;
pub const REQUEST_TIMEOUT_MS: u64 = 30_000;
pub const QUEUE_MESSAGES: u32 = 100_000;

/// librdkafka takes whole milliseconds; sub-millisecond values round up so 500us is not 0 (= off).
pub fn millis(d: std::time::Duration) -> String {
    let ms = d.as_micros().div_ceil(1000);
    ms.to_string()
}
