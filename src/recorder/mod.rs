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
//! A message that does not end acked is never left out of the latency picture: a failure report
//! and a purge report (a message still unresolved at the end of the grace, purged with a delivery
//! report, see `run`) record due -> report into the **failed** stream; a message that was due but
//! never sent (the run stopped first) records its lateness so far into **unsent** at send time
//! (`SendStats`). Purge reports count as unresolved, by where librdkafka held the message:
//! `_PURGE_QUEUE` (still queued) or `_PURGE_INFLIGHT` (sent, no response).
//!
//! A message whose due instant falls before the end of the warm-up is warm-up traffic: it is
//! counted apart and kept out of the totals and latency histograms, but it still appears in the
//! interval series (charts shade the warm-up).
//!
//! Outcomes are recorded by one [`InstanceRecorder`] per producer instance, written only by that
//! instance's delivery thread (so in time order and uncontended). The recorders merge exactly at
//! the end.

pub mod consumed;
pub mod hist;
mod outcome;
mod send;
pub mod series;
pub mod stats;
pub mod tally;
pub mod topics;

pub use consumed::{Backlog, Consumed, ConsumerRecorder, Reading};
use hist::{new_hist, Hist};
pub use outcome::{Outcome, Outcomes, Sample, PURGE_INFLIGHT, PURGE_QUEUE, TXN_ABORTED};
pub use send::SendStats;
pub use series::Series;
pub use tally::{PhaseBounds, PhaseTally, Phases, ProducedTally};

/// Counters of one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntervalCounts {
    pub acked: u64,
    pub failed: u64,
    pub acked_bytes: u64,
}

/// The recorder state of one producer instance.
#[derive(Debug)]
pub struct InstanceRecorder {
    interval_us: u64,
    warmup_end_us: u64,
    /// Outcomes of measured messages.
    pub measured: Outcomes,
    /// Outcomes of warm-up messages.
    pub warmup: Outcomes,
    pub corrected: Hist,
    pub service: Hist,
    /// due -> report of measured messages that failed or were purged unresolved.
    pub failed: Hist,
    /// Latencies above the histogram range, recorded as its maximum.
    pub clamped: u64,
    /// Done instant of the last measured outcome.
    pub last_measured_done_us: u64,
    /// Done instant of the last measured ack (failures never extend the measured window).
    pub last_measured_ack_us: u64,
    /// End of the measured window of a run by duration (`u64::MAX` otherwise): measured acks
    /// done after it are the drain, reported apart from the window's throughput.
    window_end_us: u64,
    /// Measured acks (and their bytes) done after the window's end.
    pub drain: IntervalCounts,
    /// Counters by interval (`done_us / interval_us`), warm-up included.
    pub intervals: Vec<IntervalCounts>,
    /// Corrected latency, service latency and send lag by interval (of the delivery report),
    /// warm-up included.
    pub corrected_series: Series,
    pub service_series: Series,
    pub lag_series: Series,
    /// Acked measured messages and bytes by topic and partition (and, with many topics, each
    /// topic's corrected latency).
    pub topics: Vec<topics::TopicTally>,
    /// Keep a histogram per topic (more than one topic).
    per_topic_latency: bool,
    /// Outcomes by phase of a rate profile.
    pub phases: Phases,
    /// Unpaced run (`rate = "max"`): due = enqueue by definition, so corrected latency is
    /// service latency and send lag is 0; only service latency is recorded (two histogram
    /// records per message instead of five) and [`InstanceRecorder::finish`] copies it.
    unpaced: bool,
}

impl InstanceRecorder {
    pub fn new(interval_us: u64, warmup_end_us: u64) -> Self {
        InstanceRecorder {
            interval_us: interval_us.max(1),
            warmup_end_us,
            measured: Outcomes::default(),
            warmup: Outcomes::default(),
            corrected: new_hist(),
            service: new_hist(),
            failed: new_hist(),
            clamped: 0,
            last_measured_done_us: 0,
            last_measured_ack_us: 0,
            window_end_us: u64::MAX,
            drain: IntervalCounts::default(),
            intervals: Vec::new(),
            corrected_series: Series::default(),
            service_series: Series::default(),
            lag_series: Series::default(),
            topics: Vec::new(),
            per_topic_latency: false,
            phases: Phases::default(),
            unpaced: false,
        }
    }

    /// For unpaced runs (see the field).
    pub fn unpaced(mut self, unpaced: bool) -> Self {
        self.unpaced = unpaced;
        self
    }

    /// Completes what an unpaced shard left out: corrected = service, send lag = 0.
    pub fn finish(&mut self) {
        if !self.unpaced {
            return;
        }
        self.corrected = self.service.clone();
        self.corrected_series = self.service_series.clone();
        self.lag_series = self.service_series.zeroed();
        self.unpaced = false;
    }

    /// Ends the measured window at `end_us` (a run by duration): later measured acks are drain.
    pub fn window_end(mut self, end_us: Option<u64>) -> Self {
        self.window_end_us = end_us.unwrap_or(u64::MAX);
        self
    }

    /// Keeps each topic's corrected latency too (runs with more than one topic).
    pub fn per_topic(mut self, on: bool) -> Self {
        self.per_topic_latency = on;
        self
    }

    /// Also counts outcomes by the phases of a rate profile.
    pub fn with_phases(mut self, bounds: std::sync::Arc<PhaseBounds>) -> Self {
        self.phases = Phases::new(bounds);
        self
    }

    /// Is a message due at `due_us` part of the measurement (not warm-up)?
    #[inline]
    pub fn is_measured(&self, due_us: u64) -> bool {
        due_us >= self.warmup_end_us
    }

    /// Records one outcome.
    pub fn record(&mut self, s: &Sample) {
        let corrected = s.done_us.saturating_sub(s.due_us);
        let service = s.done_us.saturating_sub(s.enqueue_us);
        let outcome = Outcome::of(s.error);
        // Purge reports come at the end of the grace, and aborted messages were never meant to
        // arrive: both are counted, not put in the series.
        if !matches!(outcome, Outcome::Unresolved { .. } | Outcome::Aborted) {
            let index = (s.done_us / self.interval_us) as usize;
            if index >= self.intervals.len() {
                self.intervals.resize(index + 1, IntervalCounts::default());
            }
            let counts = &mut self.intervals[index];
            if outcome == Outcome::Acked {
                counts.acked += 1;
                counts.acked_bytes += s.bytes;
                self.service_series.record(index, service);
                if !self.unpaced {
                    self.corrected_series.record(index, corrected);
                    self.lag_series
                        .record(index, s.enqueue_us.saturating_sub(s.due_us));
                }
            } else {
                counts.failed += 1;
            }
        }
        if !self.is_measured(s.due_us) {
            self.warmup.count(s);
            return;
        }
        self.measured.count(s);
        self.last_measured_done_us = self.last_measured_done_us.max(s.done_us);
        if outcome == Outcome::Aborted {
            return;
        }
        if outcome != Outcome::Acked {
            self.phases.outcome(s.due_us, s.done_us, None);
            self.clamped += hist::record(&mut self.failed, corrected) as u64;
            return;
        }
        self.last_measured_ack_us = self.last_measured_ack_us.max(s.done_us);
        if s.done_us > self.window_end_us {
            self.drain.acked += 1;
            self.drain.acked_bytes += s.bytes;
        }
        let t = s.topic as usize;
        if t >= self.topics.len() {
            self.topics.resize(t + 1, topics::TopicTally::default());
        }
        let latency = self.per_topic_latency.then_some(corrected);
        self.topics[t].ack(s.partition, s.bytes, latency);
        self.phases.outcome(s.due_us, s.done_us, Some(corrected));
        let c1 = !self.unpaced && hist::record(&mut self.corrected, corrected);
        let c2 = hist::record(&mut self.service, service);
        self.clamped += c1 as u64 + c2 as u64 * (1 + self.unpaced as u64);
    }

    /// The last finished interval's histograms of corrected latency, service latency and send
    /// lag (live metrics); an unpaced run's corrected latency is its service latency.
    pub fn last_interval(&self) -> [Option<Hist>; 3] {
        let service = self.service_series.last();
        if self.unpaced {
            let zero = service.as_ref().map(|h| {
                let mut z = hist::new_interval_hist();
                let _ = z.record_n(0, h.len());
                z
            });
            return [service.clone(), service, zero];
        }
        [
            self.corrected_series.last(),
            service,
            self.lag_series.last(),
        ]
    }

    /// The p99 of corrected latency in the last finished interval, for the live progress line.
    pub fn last_interval_p99(&self) -> Option<u64> {
        if self.unpaced {
            return self.service_series.last_p99();
        }
        self.corrected_series.last_p99()
    }
}

/// One interval of a run, all shards and workers merged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IntervalRow {
    pub sent: u64,
    pub counts: IntervalCounts,
    /// Encoded histograms (µs) of the interval; `None` without samples.
    pub corrected: Option<String>,
    pub service: Option<String>,
    pub send_lag: Option<String>,
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
    /// due -> report of measured messages that failed or stayed unresolved.
    pub failed: Hist,
    pub clamped: u64,
    pub last_measured_done_us: u64,
    pub last_measured_ack_us: u64,
    /// Measured acks done after the end of a duration run's window (see [`InstanceRecorder`]).
    pub drain: IntervalCounts,
    pub intervals: Vec<IntervalRow>,
    /// Acked measured messages by topic and partition (and per-topic latency).
    pub topics: Vec<topics::TopicTally>,
    /// Sends and outcomes by phase of a rate profile.
    pub phases: Phases,
    /// What the run's consumers read back (`[consume]`).
    pub consumed: Option<Consumed>,
}

/// kbench's own tallies of a run disagree: which identity, with its numbers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AccountingError(pub String);

impl From<String> for AccountingError {
    fn from(message: String) -> AccountingError {
        AccountingError(message)
    }
}

impl Recorded {
    /// Merges finished shards and the workers' send statistics. Interval histograms are merged
    /// one interval at a time, so only a few are ever decoded at once.
    pub fn merge(
        interval_us: u64,
        warmup_end_us: u64,
        shards: Vec<InstanceRecorder>,
        mut send: SendStats,
    ) -> Self {
        send.flush();
        let mut r = Recorded {
            interval_us,
            warmup_end_us,
            measured: send.local_failures.clone(),
            warmup: send.local_failures_warmup.clone(),
            clamped: send.clamped,
            corrected: new_hist(),
            service: new_hist(),
            failed: send.rejected_latency.clone(),
            last_measured_done_us: 0,
            last_measured_ack_us: 0,
            drain: IntervalCounts::default(),
            intervals: Vec::new(),
            topics: Vec::new(),
            phases: send.phases.clone(),
            consumed: None,
            send,
        };
        let mut counts: Vec<IntervalCounts> = Vec::new();
        let (mut corrected, mut service, mut lag) = (Vec::new(), Vec::new(), Vec::new());
        for mut shard in shards {
            shard.finish();
            r.measured.merge(&shard.measured);
            r.warmup.merge(&shard.warmup);
            hist::add(&mut r.corrected, &shard.corrected);
            hist::add(&mut r.service, &shard.service);
            hist::add(&mut r.failed, &shard.failed);
            r.clamped += shard.clamped;
            r.last_measured_done_us = r.last_measured_done_us.max(shard.last_measured_done_us);
            r.last_measured_ack_us = r.last_measured_ack_us.max(shard.last_measured_ack_us);
            r.drain.acked += shard.drain.acked;
            r.drain.acked_bytes += shard.drain.acked_bytes;
            if shard.intervals.len() > counts.len() {
                counts.resize(shard.intervals.len(), IntervalCounts::default());
            }
            for (into, from) in counts.iter_mut().zip(&shard.intervals) {
                into.acked += from.acked;
                into.failed += from.failed;
                into.acked_bytes += from.acked_bytes;
            }
            topics::merge_all(&mut r.topics, &shard.topics);
            r.phases.merge(&shard.phases);
            corrected.push(shard.corrected_series.finish());
            service.push(shard.service_series.finish());
            lag.push(shard.lag_series.finish());
        }
        // Every interval that saw a send or an outcome; trailing empty ones carry nothing.
        let n = counts.len().max(r.send.interval_sent.len());
        r.intervals = (0..n)
            .map(|i| IntervalRow {
                sent: r.send.interval_sent.get(i).copied().unwrap_or(0),
                counts: counts.get(i).copied().unwrap_or_default(),
                corrected: series::merged_at(&corrected, i),
                service: series::merged_at(&service, i),
                send_lag: series::merged_at(&lag, i),
            })
            .collect();
        r
    }

    /// The accounting identity, checked from independent counts: what the workers sent against
    /// what the delivery reports (acks, failures, purge reports) say, for measured and warm-up
    /// messages. `Err` names the side that does not add up: a kbench bug, never a broker's.
    pub fn check_accounting(&self) -> Result<(), AccountingError> {
        let sides = [
            ("measured", self.send.sent, &self.measured),
            ("warm-up", self.send.warmup_sent, &self.warmup),
        ];
        for (name, sent, o) in sides {
            if sent != o.resolved_or_purged() {
                return Err(format!(
                    "{name} messages: sent {sent} != acked {} + failed {} + unresolved {} + aborted {} (= {}): {} reports missing or extra",
                    o.acked,
                    o.failed,
                    o.unresolved(),
                    o.aborted,
                    o.resolved_or_purged(),
                    sent as i128 - o.resolved_or_purged() as i128
                ).into());
            }
        }
        Ok(())
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
            partition: 0,
            topic: 0,
        }
    }

    #[test]
    fn shard_separates_warmup_and_counts_intervals() {
        let mut s = InstanceRecorder::new(1_000_000, 1_000_000);
        s.record(&ack(500_000, 500_010, 501_000)); // warm-up
        s.record(&ack(1_000_000, 1_000_100, 1_002_000));
        s.record(&ack(2_000_000, 2_000_000, 2_500_000));
        s.record(&Sample {
            error: Some("MessageTimedOut"),
            ..ack(3_000_000, 3_000_000, 3_100_000)
        });
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
        let corrected = s.corrected_series.finish();
        assert!(corrected[0].is_some() && corrected.get(3).map_or(true, Option::is_none));
    }

    #[test]
    fn merge_adds_shards_and_accounts_for_everything() {
        let mut a = InstanceRecorder::new(1_000_000, 0);
        let mut b = InstanceRecorder::new(1_000_000, 0);
        a.record(&ack(0, 0, 1_000));
        b.record(&ack(0, 5, 3_000)); // sent 5 µs late
        b.record(&ack(1_500_000, 1_500_000, 1_600_000));
        // The fourth was still in flight at the end of the grace: its purge report.
        b.record(&Sample {
            error: Some(PURGE_INFLIGHT),
            ..ack(1_700_000, 1_700_000, 11_700_000)
        });
        let mut w1 = SendStats::default();
        let mut w2 = SendStats::default();
        w1.count_sent(true, 0, 0, 100, 1_000_000);
        w2.count_sent(true, 0, 5, 100, 1_000_000);
        w1.count_sent(true, 1_500_000, 0, 100, 1_000_000);
        w2.count_sent(true, 1_700_000, 0, 100, 1_000_000);
        let mut send = SendStats::default();
        send.merge(w1);
        send.merge(w2);
        let r = Recorded::merge(1_000_000, 0, vec![a, b], send);
        assert_eq!(r.send.sent, 4);
        assert_eq!(r.measured.acked, 3);
        assert_eq!(r.measured.failed, 0);
        assert_eq!(r.measured.unresolved_in_flight, 1);
        assert_eq!(r.check_accounting(), Ok(()));
        // In the latency picture: due -> purge, 10 s.
        assert_eq!(r.failed.len(), 1);
        assert_eq!(r.failed.max(), r.failed.highest_equivalent(10_000_000));
        // Failed outcomes never extend the acked window.
        assert_eq!(r.last_measured_ack_us, 1_600_000);
        assert_eq!(r.last_measured_done_us, 11_700_000);
        assert_eq!(r.intervals.len(), 2);
        assert_eq!(r.intervals[0].counts.acked, 2);
        assert_eq!(r.intervals[0].sent, 2);
        let h = hist::decode(r.intervals[0].corrected.as_ref().unwrap()).unwrap();
        assert_eq!(h.len(), 2);
        // Per-interval send lag comes from the delivery reports (due and enqueue instants).
        let lag = hist::decode(r.intervals[0].send_lag.as_ref().unwrap()).unwrap();
        assert_eq!((lag.len(), lag.max()), (2, 5));
        assert_eq!(r.intervals[1].counts.acked, 1);
    }

    #[test]
    fn a_missing_report_is_an_accounting_error() {
        let mut a = InstanceRecorder::new(1_000_000, 0);
        a.record(&ack(0, 0, 1_000));
        let mut send = SendStats::default();
        send.count_sent(true, 0, 0, 100, 1_000_000);
        send.count_sent(true, 10, 0, 100, 1_000_000);
        let r = Recorded::merge(1_000_000, 0, vec![a], send);
        let e = r.check_accounting().unwrap_err();
        assert!(
            e.0.contains("sent 2 != acked 1 + failed 0 + unresolved 0"),
            "{e}"
        );
    }
}
