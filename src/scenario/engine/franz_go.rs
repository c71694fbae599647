//! kgo options for the scenario's typed keys, by their kgo names, in the order the engine applies
//! them; `[producer.franz-go]` follows and wins.

use super::{Scenario, Setting};

use super::go_duration as dur;

// librdkafka's defaults where this client's differ and the scenario leaves the key unset.
use super::librdkafka::QUEUE_MESSAGES;
use super::librdkafka::{MESSAGE_MAX_BYTES as MAX_MESSAGE_BYTES, REQUEST_TIMEOUT_MS};

/// The typed keys as kgo options.
pub fn settings(s: &Scenario) -> Vec<Setting> {
    let p = &s.producer;
    let acks = super::sent_acks(p).as_rdkafka();
    // kgo bounds a batch by bytes only, and refuses a record larger than a batch.
    let batch = p
        .batch_size
        .0
        .min(p.max_message_bytes.map_or(MAX_MESSAGE_BYTES, |b| b.0));
    let mut out = vec![
        Setting::new("producer.acks", "RequiredAcks", acks),
        Setting::new(
            "producer.idempotence",
            "DisableIdempotentWrite",
            (!p.idempotence).to_string(),
        ),
        Setting::new("producer.compression", "ProducerBatchCompression", p.compression.as_rdkafka()),
        Setting::new("producer.linger", "ProducerLinger", dur(p.linger)),
        Setting::new("producer.batch_size", "ProducerBatchMaxBytes", batch.to_string()),
        Setting::new("producer.retries", "RecordRetries", p.retries.to_string()),
        Setting::new("producer.retry_backoff", "RetryBackoff", dur(p.retry_backoff)),
        Setting::new("producer.message_timeout", "RecordDeliveryTimeout", dur(p.message_timeout)),
        Setting::new(
            "producer.request_timeout",
            "ProduceRequestTimeout",
            p.request_timeout
                .map_or(format!("{REQUEST_TIMEOUT_MS}ms"), dur),
        ),
        Setting::new(
            "producer.queue_messages",
            "MaxBufferedRecords",
            p.queue_messages.unwrap_or(QUEUE_MESSAGES).to_string(),
        )
        .differs("kgo blocks Produce while the buffer is full, where librdkafka fails the send with QueueFull"),
    ];
    if p.max_message_bytes.is_some() {
        out.push(Setting::new(
            "producer.max_message_bytes",
            "ProducerBatchMaxBytes",
            batch.to_string(),
        ));
    }
    // kgo keeps 5 requests in flight per broker with idempotence and refuses the option then:
    // the row is shown, not sent.
    out.push(match p.idempotence {
        false => Setting::new(
            "producer.max_in_flight",
            "MaxProduceRequestsInflightPerBroker",
            p.max_in_flight.to_string(),
        ),
        true if p.max_in_flight == 5 => {
            Setting::new("producer.max_in_flight", "-", "5 (kgo's with idempotence)")
        }
        true => Setting::new("producer.max_in_flight", "-", "5 (kgo's with idempotence)")
            .differs("kgo keeps 5 requests in flight per broker with idempotence"),
    });
    if p.max_message_bytes.is_none() {
        out.push(Setting::new(
            "producer.max_message_bytes",
            "-",
            format!("{batch} (ProducerBatchMaxBytes)"),
        ));
    }
    if s.cluster.is_embedded() {
        out.insert(0, super::embedded_protocol("MaxVersions"));
    }
    out
}

/// A typed key kgo has no equivalent for: (key, why).
pub fn refused(s: &Scenario) -> Option<(&'static str, &'static str)> {
    s.producer.batch_messages.map(|_| {
        (
            "producer.batch_messages",
            "has no bound on messages per batch (kgo bounds a batch by bytes: producer.batch_size)",
        )
    })
}
