//! What a run produced beyond latency: per-phase counts of a rate profile, payload sizes and the
//! distinct keys. Workers and shards each keep their own and merge at the end.
//!
//! A message belongs to the phase its **due** instant falls in (its latency and outcome count
//! there, so a burst's overload shows in the burst's latency); achieved rates come from when
//! messages were actually **enqueued** and **acked** within the phase's window, so a phase whose
//! target was out of reach shows a lower achieved rate.

use std::sync::Arc;

use hdrhistogram::Histogram;

use super::hist::{self, Hist};

pub use crate::pacing::PhaseBounds;

/// Counts of one phase.
#[derive(Debug, Clone, Default)]
pub struct PhaseTally {
    /// Messages due in the phase (sent, possibly late).
    pub sent: u64,
    /// Messages enqueued within the phase's window.
    pub enqueued: u64,
    /// Outcomes of messages due in the phase.
    pub acked: u64,
    pub failed: u64,
    /// Acks that arrived within the phase's window.
    pub acked_in_window: u64,
    /// Corrected latency of acked messages due in the phase.
    pub corrected: Option<Hist>,
}

impl PhaseTally {
    pub fn merge(&mut self, o: &PhaseTally) {
        self.sent += o.sent;
        self.enqueued += o.enqueued;
        self.acked += o.acked;
        self.failed += o.failed;
        self.acked_in_window += o.acked_in_window;
        if let Some(h) = &o.corrected {
            hist::add(self.corrected.get_or_insert_with(hist::new_hist), h);
        }
    }
}

/// Per-phase tallies, indexed like [`PhaseBounds::windows`].
#[derive(Debug, Clone, Default)]
pub struct Phases {
    pub bounds: Arc<PhaseBounds>,
    pub tallies: Vec<PhaseTally>,
}

impl Phases {
    pub fn new(bounds: Arc<PhaseBounds>) -> Self {
        let n = bounds.windows.len();
        Phases {
            bounds,
            tallies: vec![PhaseTally::default(); n],
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.tallies.is_empty()
    }

    /// Counts a send (by due and enqueue instants).
    #[inline]
    pub fn sent(&mut self, due_us: u64, enqueue_us: u64) {
        if self.is_empty() {
            return;
        }
        if let Some(i) = self.bounds.of(due_us) {
            self.tallies[i].sent += 1;
        }
        if let Some(i) = self.bounds.of(enqueue_us) {
            self.tallies[i].enqueued += 1;
        }
    }

    /// Counts an outcome; `corrected` is `Some` for an ack.
    #[inline]
    pub fn outcome(&mut self, due_us: u64, done_us: u64, corrected: Option<u64>) {
        if self.is_empty() {
            return;
        }
        if let Some(i) = self.bounds.of(due_us) {
            let t = &mut self.tallies[i];
            match corrected {
                Some(c) => {
                    t.acked += 1;
                    hist::record(t.corrected.get_or_insert_with(hist::new_hist), c);
                }
                None => t.failed += 1,
            }
        }
        if corrected.is_some() {
            if let Some(i) = self.bounds.of(done_us) {
                self.tallies[i].acked_in_window += 1;
            }
        }
    }

    pub fn merge(&mut self, o: &Phases) {
        if self.tallies.len() < o.tallies.len() {
            self.tallies.resize(o.tallies.len(), PhaseTally::default());
            self.bounds = o.bounds.clone();
        }
        for (a, b) in self.tallies.iter_mut().zip(&o.tallies) {
            a.merge(b);
        }
    }
}

/// Keys above this cardinality are not tracked (the set would cost more than it tells).
pub const MAX_TRACKED_KEYS: u64 = 1 << 24;

/// Payload sizes and keys a worker produced (measured messages).
#[derive(Debug, Clone)]
pub struct ProducedTally {
    /// Payload sizes in bytes.
    pub sizes: Histogram<u64>,
    /// One bit per key number; empty without keys or above [`MAX_TRACKED_KEYS`].
    pub keys: Vec<u64>,
    /// A run of equal sizes not yet in `sizes` (size, count): a fixed size costs one add.
    pub run: (u64, u64),
}

/// A histogram of payload sizes in bytes: 2 significant digits, up to 4 GiB.
pub fn new_size_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 1 << 32, 2).expect("constant histogram bounds are valid")
}

impl Default for ProducedTally {
    fn default() -> Self {
        ProducedTally {
            sizes: new_size_hist(),
            keys: Vec::new(),
            run: (0, 0),
        }
    }
}

impl ProducedTally {
    /// Tracks keys below `cardinality` (0: none).
    pub fn with_keys(cardinality: u64) -> Self {
        let mut p = ProducedTally::default();
        if cardinality > 0 && cardinality <= MAX_TRACKED_KEYS {
            p.keys = vec![0; cardinality.div_ceil(64) as usize];
        }
        p
    }

    #[inline]
    pub fn count(&mut self, size: u64, key: Option<u64>) {
        if size == self.run.0 {
            self.run.1 += 1;
        } else {
            self.flush();
            self.run = (size, 1);
        }
        if let Some(k) = key {
            if let Some(w) = self.keys.get_mut((k / 64) as usize) {
                *w |= 1 << (k % 64);
            }
        }
    }

    /// Adds the pending run of equal sizes to the histogram.
    pub fn flush(&mut self) {
        let (size, n) = std::mem::take(&mut self.run);
        if n > 0 {
            let _ = self.sizes.record_n(size, n);
        }
    }

    /// Adds another's counts (flush both first).
    pub fn merge(&mut self, o: &ProducedTally) {
        self.flush();
        let _ = self.sizes.add(&o.sizes);
        if self.keys.len() < o.keys.len() {
            self.keys.resize(o.keys.len(), 0);
        }
        for (a, b) in self.keys.iter_mut().zip(&o.keys) {
            *a |= b;
        }
    }

    /// Distinct keys produced, when tracked.
    pub fn distinct_keys(&self) -> Option<u64> {
        (!self.keys.is_empty()).then(|| self.keys.iter().map(|w| w.count_ones() as u64).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_count_by_due_enqueue_and_done() {
        let bounds = Arc::new(PhaseBounds {
            windows: vec![(1_000, 2_000), (2_000, 4_000)],
        });
        assert_eq!(bounds.of(999), None);
        assert_eq!(bounds.of(1_000), Some(0));
        assert_eq!(bounds.of(2_000), Some(1));
        assert_eq!(bounds.of(4_000), None);
        let mut p = Phases::new(bounds.clone());
        p.sent(1_500, 2_500); // due in phase 0, sent late in phase 1
        p.outcome(1_500, 4_500, Some(3_000));
        p.outcome(3_000, 3_100, None);
        let mut q = Phases::new(bounds);
        q.sent(3_000, 3_000);
        q.outcome(3_000, 3_500, Some(500));
        p.merge(&q);
        let t = &p.tallies;
        assert_eq!((t[0].sent, t[0].enqueued, t[0].acked), (1, 0, 1));
        assert_eq!(
            (t[1].sent, t[1].enqueued, t[1].failed, t[1].acked),
            (1, 2, 1, 1)
        );
        assert_eq!(
            t[1].acked_in_window, 1,
            "the late ack of phase 0 came after the end"
        );
        assert_eq!(t[0].corrected.as_ref().unwrap().len(), 1);
    }

    #[test]
    fn produced_counts_sizes_and_distinct_keys() {
        let mut a = ProducedTally::with_keys(100);
        let mut b = ProducedTally::with_keys(100);
        a.count(10, Some(3));
        a.count(20, Some(3));
        a.count(20, None);
        b.count(30, Some(99));
        b.flush();
        a.merge(&b);
        a.flush();
        assert_eq!(a.distinct_keys(), Some(2));
        assert_eq!(a.sizes.len(), 4);
        assert_eq!(ProducedTally::with_keys(0).distinct_keys(), None);
    }
}
