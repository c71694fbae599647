//! sarama.Config fields for the scenario's typed keys, by their Go path, in the order the engine
//! applies them; `[producer.sarama]` follows and wins.

use super::{Scenario, Setting};
use crate::scenario::{Acks, Producer};

use super::go_duration as us;

/// The typed keys as sarama.Config fields.
pub fn settings(s: &Scenario) -> Vec<Setting> {
    let p = &s.producer;
    let acks = match super::sent_acks(p) {
        Acks::None => "0",
        Acks::Leader => "1",
        Acks::All => "-1",
    };
    let mut out = Vec::new();
    if s.cluster.is_embedded() {
        out.push(super::embedded_protocol("Version"));
    }
    out.extend([
        Setting::new("producer.acks", "Producer.RequiredAcks", acks),
        Setting::new("producer.compression", "Producer.Compression", p.compression.as_rdkafka()),
        retries(p),
        Setting::new("producer.retry_backoff", "Producer.Retry.Backoff", us(p.retry_backoff)),
        Setting::new("producer.message_timeout", "Producer.Timeout", us(p.message_timeout))
            .differs("sarama has no delivery timeout: Producer.Timeout is how long the broker waits for the acks"),
        Setting::new("producer.idempotence", "Producer.Idempotent", p.idempotence.to_string()),
        in_flight(p),
    ]);
    out.extend(batching(p));
    if let Some(b) = p.max_message_bytes {
        out.push(Setting::new(
            "producer.max_message_bytes",
            "Producer.MaxMessageBytes",
            b.0.to_string(),
        ));
    }
    if let Some(t) = p.request_timeout {
        out.push(
            Setting::new("producer.request_timeout", "Net.ReadTimeout", us(t))
                .differs("a socket read timeout, not the broker's produce timeout"),
        );
    }
    if let Some(q) = p.queue_messages {
        out.push(
            Setting::new(
                "producer.queue_messages",
                "ChannelBufferSize",
                q.to_string(),
            )
            .differs(
                "the capacity of each of sarama's channels, not one bound on buffered messages",
            ),
        );
    }
    out
}

/// `retries`: librdkafka retries until `message_timeout` (its default `retries` is 2^31 - 1);
/// sarama counts retries and keeps state per retry level, so 2^31 of them do not fit in memory:
/// as many as fit in `message_timeout` at `retry_backoff`, at most `retries`.
fn retries(p: &Producer) -> Setting {
    let backoff = p.retry_backoff.0.as_micros().max(1);
    let fit = (p.message_timeout.0.as_micros() / backoff).max(1) as u64;
    let n = fit.min(p.retries as u64);
    let setting = Setting::new("producer.retries", "Producer.Retry.Max", n.to_string());
    match n < p.retries as u64 {
        true => setting
            .differs("sarama counts retries: as many as fit in message_timeout at retry_backoff"),
        false => setting,
    }
}

/// `max_in_flight`: sarama requires one open request for idempotence.
fn in_flight(p: &Producer) -> Setting {
    match p.idempotence {
        true => Setting::new("producer.max_in_flight", "Net.MaxOpenRequests", "1")
            .differs("sarama allows one request in flight with idempotence"),
        false => Setting::new(
            "producer.max_in_flight",
            "Net.MaxOpenRequests",
            p.max_in_flight.to_string(),
        ),
    }
}

/// librdkafka sends a batch when it is `batch_size` full or `linger` old; sarama flushes when
/// `Flush.Bytes` (or `Flush.Messages`) accumulated or every `Flush.Frequency`. With no linger,
/// librdkafka sends at once: sarama does too when no flush rule is set (a byte rule alone would
/// hold messages until it is met).
fn batching(p: &Producer) -> Vec<Setting> {
    let mut out = Vec::new();
    if p.linger.0.is_zero() {
        out.push(Setting::new(
            "producer.linger",
            "Producer.Flush.Frequency",
            "0s",
        ));
    } else {
        out.push(Setting::new(
            "producer.linger",
            "Producer.Flush.Frequency",
            us(p.linger),
        ));
        out.push(
            Setting::new("producer.batch_size", "Producer.Flush.Bytes", p.batch_size.0.to_string())
                .differs("a flush trigger, not a bound on a batch (Producer.MaxMessageBytes bounds a request)"),
        );
        if let Some(n) = p.batch_messages {
            out.push(Setting::new(
                "producer.batch_messages",
                "Producer.Flush.Messages",
                n.to_string(),
            ));
        }
    }
    if let Some(n) = p.batch_messages {
        out.push(Setting::new(
            "producer.batch_messages",
            "Producer.Flush.MaxMessages",
            n.to_string(),
        ));
    }
    out
}
