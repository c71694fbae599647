//! The one derivation of a result's headline figures: counts, loss, throughput inside the
//! measured window, the achieved share of the target, latency summaries and encoded histograms.
//! A run ([`super::build`]) and a merge of shards (`crate::merge`) both gather [`Totals`] (a
//! merge by adding the shards' with `+=`) and call [`derive`], so a figure means the same on
//! both paths and is written once.

use std::collections::BTreeMap;
use std::ops::AddAssign;

use super::{loss_rate, round, Backpressure, Counts, Streams, Throughput, UnresolvedBy};
use crate::recorder::hist::{self, Hist, LatencyStats};

/// The full histograms of every latency stream.
pub type Hists = Streams<Hist>;

impl Hists {
    /// Empty histograms (3 significant digits).
    pub fn empty() -> Hists {
        Streams {
            corrected: hist::new_hist(),
            service: hist::new_hist(),
            send_lag: hist::new_hist(),
            failed: hist::new_hist(),
            commit: hist::new_hist(),
            unsent: hist::new_hist(),
            e2e: hist::new_hist(),
            e2e_service: hist::new_hist(),
        }
    }

    /// A result's encoded histograms, decoded.
    pub fn decode(e: &Streams<String>) -> Result<Hists, hist::HistError> {
        Ok(Streams {
            corrected: hist::decode(&e.corrected)?,
            service: hist::decode(&e.service)?,
            send_lag: hist::decode(&e.send_lag)?,
            failed: hist::decode(&e.failed)?,
            commit: hist::decode(&e.commit)?,
            unsent: hist::decode(&e.unsent)?,
            e2e: hist::decode(&e.e2e)?,
            e2e_service: hist::decode(&e.e2e_service)?,
        })
    }

    fn map<T>(&self, f: impl Fn(&Hist) -> T) -> Streams<T> {
        Streams {
            corrected: f(&self.corrected),
            service: f(&self.service),
            send_lag: f(&self.send_lag),
            failed: f(&self.failed),
            commit: f(&self.commit),
            unsent: f(&self.unsent),
            e2e: f(&self.e2e),
            e2e_service: f(&self.e2e_service),
        }
    }
}

/// Stream by stream; HdrHistogram's `add` is exact.
impl AddAssign<&Hists> for Hists {
    fn add_assign(&mut self, o: &Hists) {
        hist::add(&mut self.corrected, &o.corrected);
        hist::add(&mut self.service, &o.service);
        hist::add(&mut self.send_lag, &o.send_lag);
        hist::add(&mut self.failed, &o.failed);
        hist::add(&mut self.commit, &o.commit);
        hist::add(&mut self.unsent, &o.unsent);
        hist::add(&mut self.e2e, &o.e2e);
        hist::add(&mut self.e2e_service, &o.e2e_service);
    }
}

fn add_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x + y),
        (x, y) => x.or(y),
    }
}

/// Every count adds; an absent (`None`) count on one side takes the other's.
impl AddAssign for Counts {
    fn add_assign(&mut self, c: Counts) {
        self.scheduled = add_opt(self.scheduled, c.scheduled);
        self.sent += c.sent;
        self.unsent += c.unsent;
        self.acked += c.acked;
        self.failed += c.failed;
        self.unresolved += c.unresolved;
        self.unresolved_by = UnresolvedBy {
            queued: self.unresolved_by.queued + c.unresolved_by.queued,
            in_flight: self.unresolved_by.in_flight + c.unresolved_by.in_flight,
        };
        self.aborted += c.aborted;
        self.consumed = add_opt(self.consumed, c.consumed);
        self.duplicates = add_opt(self.duplicates, c.duplicates);
        self.missing = add_opt(self.missing, c.missing);
    }
}

/// What the headline figures come from: one run's recorder, or the sum of shards'.
#[derive(Debug, Clone)]
pub struct Totals {
    pub counts: Counts,
    pub warmup_counts: Counts,
    /// Failed deliveries by Kafka error name.
    pub errors: BTreeMap<String, u64>,
    /// Measured messages acked inside the measured window.
    pub in_window_messages: u64,
    /// Their payload+key bytes.
    pub in_window_bytes: u64,
    pub queue_full: u64,
    /// Latencies above the histograms' range, recorded at its top.
    pub clamped: u64,
    pub hists: Hists,
}

impl Default for Totals {
    fn default() -> Totals {
        Totals {
            counts: Counts::default(),
            warmup_counts: Counts::default(),
            errors: BTreeMap::new(),
            in_window_messages: 0,
            in_window_bytes: 0,
            queue_full: 0,
            clamped: 0,
            hists: Hists::empty(),
        }
    }
}

impl AddAssign<&Totals> for Totals {
    fn add_assign(&mut self, t: &Totals) {
        self.counts += t.counts;
        self.warmup_counts += t.warmup_counts;
        for (k, v) in &t.errors {
            *self.errors.entry(k.clone()).or_insert(0) += v;
        }
        self.in_window_messages += t.in_window_messages;
        self.in_window_bytes += t.in_window_bytes;
        self.queue_full += t.queue_full;
        self.clamped += t.clamped;
        self.hists += &t.hists;
    }
}

/// The headline figures of a result.
#[derive(Debug, Clone)]
pub struct Derived {
    pub counts: Counts,
    pub warmup_counts: Counts,
    pub errors: BTreeMap<String, u64>,
    pub loss_rate: f64,
    pub duration_s: f64,
    pub throughput: Throughput,
    pub target_rate: Option<f64>,
    pub achieved_rate_ratio: Option<f64>,
    pub backpressure: Backpressure,
    pub clamped_samples: u64,
    pub latency_us: Streams<LatencyStats>,
    pub histograms: Streams<String>,
}

/// The figures of `t` over a measured window of `window_s` seconds against `target_rate`
/// (msg/s; `None` at `rate = "max"`): throughput is what was acked inside the window, per
/// second of it, and the achieved ratio is that over the target.
pub fn derive(t: Totals, window_s: f64, target_rate: Option<f64>) -> Derived {
    let per_sec = |v: u64| {
        if window_s > 0.0 {
            v as f64 / window_s
        } else {
            0.0
        }
    };
    let msgs_per_sec = per_sec(t.in_window_messages);
    Derived {
        loss_rate: round(loss_rate(&t.counts), 6),
        duration_s: round(window_s, 6),
        throughput: Throughput {
            msgs_per_sec: round(msgs_per_sec, 2),
            bytes_per_sec: round(per_sec(t.in_window_bytes), 2),
        },
        achieved_rate_ratio: target_rate.map(|r| round(msgs_per_sec / r, 4)),
        target_rate,
        backpressure: Backpressure {
            queue_full: t.queue_full,
        },
        clamped_samples: t.clamped,
        latency_us: t.hists.map(LatencyStats::of),
        histograms: t.hists.map(hist::encode),
        counts: t.counts,
        warmup_counts: t.warmup_counts,
        errors: t.errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_and_derive_the_same_figures_as_one_run() {
        let mut one = Totals {
            counts: Counts {
                scheduled: Some(100),
                sent: 100,
                acked: 98,
                failed: 2,
                ..Counts::default()
            },
            in_window_messages: 90,
            in_window_bytes: 9_000,
            ..Totals::default()
        };
        one.errors.insert("REQUEST_TIMED_OUT".into(), 2);
        for v in [100, 200, 300] {
            hist::record(&mut one.hists.corrected, v);
        }
        let mut two = Totals::default();
        two += &one;
        two += &one;
        assert_eq!(two.counts.sent, 200);
        assert_eq!(two.counts.scheduled, Some(200));
        assert_eq!(two.errors["REQUEST_TIMED_OUT"], 4);
        assert_eq!(two.hists.corrected.len(), 6);
        let d1 = derive(one, 1.0, Some(100.0));
        let d2 = derive(two, 2.0, Some(100.0));
        // Twice the messages over twice the window against the same target: the same figures.
        assert_eq!(d1.throughput, d2.throughput);
        assert_eq!(d2.throughput.msgs_per_sec, 90.0);
        assert_eq!(d2.achieved_rate_ratio, Some(0.9));
        assert_eq!(d1.loss_rate, d2.loss_rate);
        assert_eq!(d1.latency_us.corrected.p50, d2.latency_us.corrected.p50);
    }
}
