//! The recorder: turns message outcomes into histograms, counters and a per-interval time series.
//!
//! Each message has three instants, all in microseconds since the run's start (`t0`):
//! - **due**: when the schedule wanted it sent (for `rate = "max"`, the enqueue instant);
//! - **enqueue**: when librdkafka accepted it;
//! - **done**: when its delivery report arrived (ack or failure).
//!
//! From these come three latencies: **corrected** = done - due (the headline at a fixed rate: it
//! includes any time the message waited because the generator or the client fell behind, so
//! coordinated omission cannot hide a stall), **service** = done - enqueue, and **send lag** =
//! enqueue - due (recorded by the worker at send time).
//!
//! A message whose due instant falls before the end of the warm-up is warm-up traffic: it is
//! counted apart and kept out of the totals and latency histograms, but it still appears in the
//! interval series (charts shade the warm-up).
//!
//! Outcomes are recorded by one [`Shard`] per producer instance, written only by that instance's
//! delivery-callback thread (so in time order and uncontended). Shards merge exactly at the end.

pub mod hist;

use std::collections::BTreeMap;

use hist::{new_hist, Hist};

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
}

/// Counters of outcomes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcomes {
    pub acked: u64,
    pub failed: u64,
    pub acked_bytes: u64,
    /// Failures by librdkafka error name.
    pub errors: BTreeMap<&'static str, u64>,
}

impl Outcomes {
    fn count(&mut self, s: &Sample) {
        match s.error {
            None => {
                self.acked += 1;
                self.acked_bytes += s.bytes;
            }
            Some(kind) => {
                self.failed += 1;
                *self.errors.entry(kind).or_insert(0) += 1;
            }
        }
    }

    pub fn merge(&mut self, other: &Outcomes) {
        self.acked += other.acked;
        self.failed += other.failed;
        self.acked_bytes += other.acked_bytes;
        for (k, v) in &other.errors {
            *self.errors.entry(k).or_insert(0) += v;
        }
    }
}

/// One finished interval of one shard.
#[derive(Debug, Clone, Default)]
pub struct IntervalCounts {
    pub acked: u64,
    pub failed: u64,
    pub acked_bytes: u64,
    /// Corrected latencies of messages acked in this interval (warm-up included).
    pub corrected: Option<Hist>,
}

/// The recorder state of one producer instance.
#[derive(Debug)]
pub struct Shard {
    interval_us: u64,
    warmup_end_us: u64,
    /// Outcomes of measured messages.
    pub measured: Outcomes,
    /// Outcomes of warm-up messages.
    pub warmup: Outcomes,
    pub corrected: Hist,
    pub service: Hist,
    /// Latencies above the histogram range, recorded as its maximum.
    pub clamped: u64,
    /// Done instant of the last measured outcome.
    pub last_measured_done_us: u64,
    /// Finished intervals, indexed by `done_us / interval_us`.
    pub intervals: Vec<IntervalCounts>,
    current: IntervalCounts,
    current_index: usize,
    current_hist: Hist,
}

impl Shard {
    pub fn new(interval_us: u64, warmup_end_us: u64) -> Self {
        Shard {
            interval_us: interval_us.max(1),
            warmup_end_us,
            measured: Outcomes::default(),
            warmup: Outcomes::default(),
            corrected: new_hist(),
            service: new_hist(),
            clamped: 0,
            last_measured_done_us: 0,
            intervals: Vec::new(),
            current: IntervalCounts::default(),
            current_index: 0,
            current_hist: new_hist(),
        }
    }

    /// Is a message due at `due_us` part of the measurement (not warm-up)?
    #[inline]
    pub fn is_measured(&self, due_us: u64) -> bool {
        due_us >= self.warmup_end_us
    }

    /// Records one outcome.
    pub fn record(&mut self, s: &Sample) {
        let index = (s.done_us / self.interval_us) as usize;
        if index > self.current_index {
            self.roll_to(index);
        }
        let corrected = s.done_us.saturating_sub(s.due_us);
        match s.error {
            None => {
                self.current.acked += 1;
                self.current.acked_bytes += s.bytes;
                hist::record(&mut self.current_hist, corrected);
            }
            Some(_) => self.current.failed += 1,
        }
        if self.is_measured(s.due_us) {
            self.measured.count(s);
            self.last_measured_done_us = self.last_measured_done_us.max(s.done_us);
            if s.error.is_none() {
                let service = s.done_us.saturating_sub(s.enqueue_us);
                let c1 = hist::record(&mut self.corrected, corrected);
                let c2 = hist::record(&mut self.service, service);
                self.clamped += c1 as u64 + c2 as u64;
            }
        } else {
            self.warmup.count(s);
        }
    }

    fn roll_to(&mut self, index: usize) {
        let mut done = std::mem::take(&mut self.current);
        if !self.current_hist.is_empty() {
            done.corrected = Some(self.current_hist.clone());
            self.current_hist.reset();
        }
        self.intervals
            .resize_with(self.current_index, IntervalCounts::default);
        self.intervals.push(done);
        self.current_index = index;
    }

    /// Closes the current interval; the shard takes no more samples after this.
    pub fn finish(&mut self) {
        let next = self.current_index + 1;
        self.roll_to(next);
    }

    /// The p99 of corrected latency in the last finished interval, for the live progress line.
    pub fn last_interval_p99(&self) -> Option<u64> {
        self.intervals
            .last()
            .and_then(|i| i.corrected.as_ref())
            .map(|h| h.value_at_quantile(0.99))
    }
}

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
    /// Enqueue instant of the last measured message.
    pub last_send_us: u64,
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
            last_send_us: 0,
        }
    }
}

impl SendStats {
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
            self.clamped += hist::record(&mut self.send_lag, lag_us) as u64;
        } else {
            self.warmup_sent += 1;
        }
    }

    pub fn merge(&mut self, o: &SendStats) {
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

/// Everything recorded in one run: all shards and workers merged.
#[derive(Debug)]
pub struct Recorded {
    pub interval_us: u64,
    pub warmup_end_us: u64,
    pub send: SendStats,
    pub measured: Outcomes,
    pub warmup: Outcomes,
    pub corrected: Hist,
    pub service: Hist,
    pub clamped: u64,
    pub last_measured_done_us: u64,
    pub intervals: Vec<IntervalCounts>,
}

impl Recorded {
    /// Merges finished shards and the workers' send statistics.
    pub fn merge(
        interval_us: u64,
        warmup_end_us: u64,
        shards: Vec<Shard>,
        send: SendStats,
    ) -> Self {
        let mut r = Recorded {
            interval_us,
            warmup_end_us,
            measured: send.local_failures.clone(),
            warmup: send.local_failures_warmup.clone(),
            clamped: send.clamped,
            send,
            corrected: new_hist(),
            service: new_hist(),
            last_measured_done_us: 0,
            intervals: Vec::new(),
        };
        for shard in shards {
            r.measured.merge(&shard.measured);
            r.warmup.merge(&shard.warmup);
            hist::add(&mut r.corrected, &shard.corrected);
            hist::add(&mut r.service, &shard.service);
            r.clamped += shard.clamped;
            r.last_measured_done_us = r.last_measured_done_us.max(shard.last_measured_done_us);
            if shard.intervals.len() > r.intervals.len() {
                r.intervals
                    .resize_with(shard.intervals.len(), IntervalCounts::default);
            }
            for (into, from) in r.intervals.iter_mut().zip(shard.intervals) {
                into.acked += from.acked;
                into.failed += from.failed;
                into.acked_bytes += from.acked_bytes;
                match (&mut into.corrected, from.corrected) {
                    (Some(a), Some(b)) => hist::add(a, &b),
                    (slot @ None, b) => *slot = b,
                    (_, None) => {}
                }
            }
        }
        // Local send failures count in their interval too.
        let n = r.send.interval_sent.len().max(r.intervals.len());
        r.intervals.resize_with(n, IntervalCounts::default);
        // Trailing empty intervals (after the last event) carry no information.
        while r
            .intervals
            .last()
            .is_some_and(|i| i.acked == 0 && i.failed == 0 && i.corrected.is_none())
            && r.intervals.len() > r.send.interval_sent.len()
        {
            r.intervals.pop();
        }
        r
    }

    /// Sent = acked + failed + unresolved, for measured messages.
    pub fn unresolved(&self) -> u64 {
        self.send
            .sent
            .saturating_sub(self.measured.acked + self.measured.failed)
    }

    pub fn warmup_unresolved(&self) -> u64 {
        self.send
            .warmup_sent
            .saturating_sub(self.warmup.acked + self.warmup.failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(due: u64, enq: u64, done: u64) -> Sample {
        Sample {
            due_us: due,
            enqueue_us: enq,
            done_us: done,
            bytes: 100,
            error: None,
        }
    }

    #[test]
    fn shard_separates_warmup_and_rolls_intervals() {
        let mut s = Shard::new(1_000_000, 1_000_000);
        s.record(&ack(500_000, 500_010, 501_000)); // warm-up
        s.record(&ack(1_000_000, 1_000_100, 1_002_000));
        s.record(&ack(2_000_000, 2_000_000, 2_500_000));
        s.record(&Sample {
            error: Some("MessageTimedOut"),
            ..ack(3_000_000, 3_000_000, 3_100_000)
        });
        s.finish();
        assert_eq!(s.warmup.acked, 1);
        assert_eq!(s.measured.acked, 2);
        assert_eq!(s.measured.failed, 1);
        assert_eq!(s.measured.errors["MessageTimedOut"], 1);
        assert_eq!(s.corrected.len(), 2);
        assert_eq!(s.corrected.max(), s.corrected.highest_equivalent(500_000));
        assert_eq!(s.service.min(), 1_900);
        assert_eq!(s.intervals.len(), 4);
        assert_eq!(s.intervals[0].acked, 1);
        assert_eq!(s.intervals[3].failed, 1);
        assert!(s.intervals[3].corrected.is_none());
    }

    #[test]
    fn merge_adds_shards_and_accounts_for_everything() {
        let mut a = Shard::new(1_000_000, 0);
        let mut b = Shard::new(1_000_000, 0);
        a.record(&ack(0, 0, 1_000));
        b.record(&ack(0, 0, 3_000));
        b.record(&ack(1_500_000, 1_500_000, 1_600_000));
        a.finish();
        b.finish();
        let mut send = SendStats::default();
        for (t, lag) in [(0, 0), (0, 5), (1_500_000, 0), (1_700_000, 0)] {
            send.count_sent(true, t, lag, 100, 1_000_000);
        }
        let r = Recorded::merge(1_000_000, 0, vec![a, b], send);
        assert_eq!(r.send.sent, 4);
        assert_eq!(r.measured.acked, 3);
        assert_eq!(r.unresolved(), 1);
        assert_eq!(r.intervals[0].acked, 2);
        assert_eq!(r.intervals[0].corrected.as_ref().unwrap().len(), 2);
        assert_eq!(r.intervals[1].acked, 1);
        assert_eq!(r.send.interval_sent, vec![2, 2]);
    }
}
