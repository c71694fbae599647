//! What one delivery report says (a [`Sample`] and its [`Outcome`]), and the counters of
//! outcomes: acked, failed by error name, unresolved (purged at the end of the grace, queued or
//! in flight) and aborted (transactions).

use std::collections::BTreeMap;

/// The outcome of one message as seen by a delivery report.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub due_us: u64,
    pub enqueue_us: u64,
    pub done_us: u64,
    /// Payload plus key bytes.
    pub bytes: u64,
    /// `None` for an ack, or the librdkafka error name for a failure.
    pub error: Option<&'static str>,
    /// The partition it went to (acks), or -1 when unknown.
    pub partition: i32,
    /// The index of its topic (0 with one topic).
    pub topic: u32,
}

/// librdkafka's report of a message purged from its queues (never sent) at the end of the grace.
pub const PURGE_QUEUE: &str = "_PURGE_QUEUE";
/// librdkafka's report of a message purged while in flight (sent, no response yet).
pub const PURGE_INFLIGHT: &str = "_PURGE_INFLIGHT";
/// kbench's mark on a report of a message whose transaction was aborted (see `producer::txn`).
pub const TXN_ABORTED: &str = "_TXN_ABORTED";

/// What a delivery report says happened to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Acked,
    Failed(&'static str),
    /// Purged at the end of the grace: still queued (`true`) or in flight.
    Unresolved {
        queued: bool,
    },
    /// Its transaction was aborted: never delivered, by design.
    Aborted,
}

impl Outcome {
    #[inline]
    pub fn of(error: Option<&'static str>) -> Outcome {
        match error {
            None => Outcome::Acked,
            Some(PURGE_QUEUE) => Outcome::Unresolved { queued: true },
            Some(PURGE_INFLIGHT) => Outcome::Unresolved { queued: false },
            Some(TXN_ABORTED) => Outcome::Aborted,
            Some(kind) => Outcome::Failed(kind),
        }
    }
}

/// Counters of outcomes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcomes {
    pub acked: u64,
    pub failed: u64,
    pub acked_bytes: u64,
    /// Failures by librdkafka error name.
    pub errors: BTreeMap<&'static str, u64>,
    /// Unresolved at the end of the grace, by purge report: still queued, or in flight.
    pub unresolved_queued: u64,
    pub unresolved_in_flight: u64,
    /// Messages of aborted transactions.
    pub aborted: u64,
}

impl Outcomes {
    pub(super) fn count(&mut self, s: &Sample) {
        match Outcome::of(s.error) {
            Outcome::Acked => {
                self.acked += 1;
                self.acked_bytes += s.bytes;
            }
            Outcome::Failed(kind) => {
                self.failed += 1;
                *self.errors.entry(kind).or_insert(0) += 1;
            }
            Outcome::Unresolved { queued: true } => self.unresolved_queued += 1,
            Outcome::Unresolved { queued: false } => self.unresolved_in_flight += 1,
            Outcome::Aborted => self.aborted += 1,
        }
    }

    /// Messages with a purge report: unresolved when the grace ended.
    pub fn unresolved(&self) -> u64 {
        self.unresolved_queued + self.unresolved_in_flight
    }

    /// Every outcome counted (acked, failed, unresolved, aborted).
    pub fn resolved_or_purged(&self) -> u64 {
        self.acked + self.failed + self.unresolved() + self.aborted
    }

    pub fn merge(&mut self, other: &Outcomes) {
        self.acked += other.acked;
        self.failed += other.failed;
        self.acked_bytes += other.acked_bytes;
        for (k, v) in &other.errors {
            *self.errors.entry(k).or_insert(0) += v;
        }
        self.unresolved_queued += other.unresolved_queued;
        self.unresolved_in_flight += other.unresolved_in_flight;
        self.aborted += other.aborted;
    }
}
