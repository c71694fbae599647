//! What the workers count at send time: sent messages by interval and phase, local rejections,
//! back-pressure, send lag, the sizes and keys produced, and the messages that were due but never
//! sent. One per worker, merged at the end.

use super::hist::{self, new_hist, Hist};
use super::{Outcomes, Phases, ProducedTally};

/// What the workers of one run counted at send time.
#[derive(Debug, Clone)]
pub struct SendStats {
    /// Messages handed to librdkafka (or rejected by it locally) after the warm-up.
    pub sent: u64,
    /// Messages sent during the warm-up.
    pub warmup_sent: u64,
    pub sent_bytes: u64,
    /// Messages rejected by librdkafka at send time (never enqueued), by error name; also in `sent`.
    pub local_failures: Outcomes,
    pub local_failures_warmup: Outcomes,
    /// `QueueFull` answers: the local queue was full and the send was retried after a pause.
    pub queue_full: u64,
    /// Send lag (enqueue - due) of measured messages.
    pub send_lag: Hist,
    pub clamped: u64,
    /// Sent messages per interval (by enqueue instant), warm-up included.
    pub interval_sent: Vec<u64>,
    pub interval_sent_bytes: Vec<u64>,
    /// Enqueue instants of the first and the last measured message.
    pub first_send_us: Option<u64>,
    pub last_send_us: u64,
    /// Sends by phase of a rate profile.
    pub phases: Phases,
    /// Sizes and keys of measured messages.
    pub produced: ProducedTally,
    /// Measured sends with no lag, not yet in `send_lag`.
    pub zero_lags: u64,
    /// Messages that were due but never sent (the run stopped first), measured and warm-up.
    pub unsent: u64,
    pub warmup_unsent: u64,
    /// How late each measured unsent message was when sending stopped: a lower bound of its
    /// lateness (µs).
    pub unsent_lateness: Hist,
    /// due -> rejection of measured messages librdkafka refused at send (µs): part of the failed
    /// stream.
    pub rejected_latency: Hist,
}

impl Default for SendStats {
    fn default() -> Self {
        SendStats {
            sent: 0,
            warmup_sent: 0,
            sent_bytes: 0,
            local_failures: Outcomes::default(),
            local_failures_warmup: Outcomes::default(),
            queue_full: 0,
            send_lag: new_hist(),
            clamped: 0,
            interval_sent: Vec::new(),
            interval_sent_bytes: Vec::new(),
            first_send_us: None,
            last_send_us: 0,
            phases: Phases::default(),
            produced: ProducedTally::default(),
            zero_lags: 0,
            unsent: 0,
            warmup_unsent: 0,
            unsent_lateness: new_hist(),
            rejected_latency: new_hist(),
        }
    }
}

impl SendStats {
    /// Counts a message librdkafka refused at send (never enqueued): failed at once, by its
    /// error name, `late_us` after it was due (its place in the failed stream). It was counted
    /// as sent too.
    pub fn rejected(&mut self, measured: bool, kind: &'static str, late_us: u64) {
        let outcomes = if measured {
            self.clamped += hist::record(&mut self.rejected_latency, late_us) as u64;
            &mut self.local_failures
        } else {
            &mut self.local_failures_warmup
        };
        outcomes.failed += 1;
        *outcomes.errors.entry(kind).or_insert(0) += 1;
    }

    /// Counts one message at its enqueue instant.
    #[inline]
    pub fn count_sent(
        &mut self,
        measured: bool,
        enqueue_us: u64,
        lag_us: u64,
        bytes: u64,
        interval_us: u64,
    ) {
        let index = (enqueue_us / interval_us) as usize;
        if index >= self.interval_sent.len() {
            self.interval_sent.resize(index + 1, 0);
            self.interval_sent_bytes.resize(index + 1, 0);
        }
        self.interval_sent[index] += 1;
        self.interval_sent_bytes[index] += bytes;
        if measured {
            self.sent += 1;
            self.sent_bytes += bytes;
            self.last_send_us = self.last_send_us.max(enqueue_us);
            if self.first_send_us.map_or(true, |f| enqueue_us < f) {
                self.first_send_us = Some(enqueue_us);
            }
            if lag_us == 0 {
                // The common case, counted and added in one go by `flush`.
                self.zero_lags += 1;
            } else {
                self.clamped += hist::record(&mut self.send_lag, lag_us) as u64;
            }
        } else {
            self.warmup_sent += 1;
        }
    }

    /// Counts a message that was due but is never sent, `late_us` late when sending stopped.
    pub fn count_unsent(&mut self, measured: bool, late_us: u64) {
        if measured {
            self.unsent += 1;
            self.clamped += hist::record(&mut self.unsent_lateness, late_us) as u64;
        } else {
            self.warmup_unsent += 1;
        }
    }

    /// Adds what is counted but not yet recorded into the histograms.
    pub fn flush(&mut self) {
        let _ = self
            .send_lag
            .record_n(0, std::mem::take(&mut self.zero_lags));
        self.produced.flush();
    }

    /// Adds a finished worker's statistics.
    pub fn merge(&mut self, mut o: SendStats) {
        o.flush();
        self.sent += o.sent;
        self.warmup_sent += o.warmup_sent;
        self.sent_bytes += o.sent_bytes;
        self.local_failures.merge(&o.local_failures);
        self.local_failures_warmup.merge(&o.local_failures_warmup);
        self.queue_full += o.queue_full;
        hist::add(&mut self.send_lag, &o.send_lag);
        self.clamped += o.clamped;
        add_series(&mut self.interval_sent, &o.interval_sent);
        add_series(&mut self.interval_sent_bytes, &o.interval_sent_bytes);
        self.last_send_us = self.last_send_us.max(o.last_send_us);
        self.first_send_us = match (self.first_send_us, o.first_send_us) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.phases.merge(&o.phases);
        self.produced.merge(&o.produced);
        self.unsent += o.unsent;
        self.warmup_unsent += o.warmup_unsent;
        hist::add(&mut self.unsent_lateness, &o.unsent_lateness);
        hist::add(&mut self.rejected_latency, &o.rejected_latency);
    }
}

fn add_series(into: &mut Vec<u64>, from: &[u64]) {
    if from.len() > into.len() {
        into.resize(from.len(), 0);
    }
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}
