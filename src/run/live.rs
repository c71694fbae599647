//! The run's live counters ([`Live`]): what the progress line and the metrics endpoint read
//! while the run goes on, straight from the atomics the workers, delivery threads and consumers
//! keep (nothing here is on a hot path).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::Instance;
use crate::pacing::Clock;
use crate::producer::worker::LiveCounter;

/// Live counters, read by the progress line while the run goes on.
#[derive(Clone)]
pub struct Live {
    pub(super) sent: Vec<Arc<LiveCounter>>,
    pub(super) contexts: Vec<Instance>,
    pub clock: Clock,
    /// This shard's mean target rate (msg/s), `None` at `rate = "max"` (from the plan).
    pub target_rate: Option<f64>,
    /// The `[consume]` consumers, if any.
    pub(super) consumers: Option<Arc<crate::consumer::Consumers>>,
}

/// Successful delivery reports so far over the instances (warm-up included).
pub(super) fn acked_total(clients: &[Instance]) -> u64 {
    clients
        .iter()
        .map(|c| c.context().acked.load(Ordering::Acquire))
        .sum()
}

impl Live {
    pub fn sent(&self) -> u64 {
        self.sent.iter().map(|c| c.0.load(Ordering::Relaxed)).sum()
    }
    pub fn acked(&self) -> u64 {
        acked_total(&self.contexts)
    }
    pub fn failed(&self) -> u64 {
        self.contexts
            .iter()
            .map(|c| c.context().failed.load(Ordering::Relaxed))
            .sum()
    }
    /// `QueueFull` answers so far (all instances).
    pub fn queue_full(&self) -> u64 {
        self.contexts
            .iter()
            .map(|c| c.context().queue_full.load(Ordering::Relaxed))
            .sum()
    }

    /// Enqueued messages without a report yet (all instances).
    pub fn in_flight(&self) -> u64 {
        let reports: u64 = self.contexts.iter().map(|c| c.context().reports()).sum();
        self.sent().saturating_sub(reports)
    }

    /// The last finished interval's corrected, service and send-lag histograms, over every
    /// instance.
    pub fn last_interval(&self) -> [Option<crate::recorder::hist::Hist>; 3] {
        let mut out: [Option<crate::recorder::hist::Hist>; 3] = [None, None, None];
        for c in &self.contexts {
            let hs = c.context().with_recorder(|s| s.last_interval());
            for (into, h) in out.iter_mut().zip(hs) {
                if let Some(h) = h {
                    crate::recorder::hist::add_to_sum(into, h);
                }
            }
        }
        out
    }

    /// Distinct messages of this run read back so far (warm-up included), with `[consume]`.
    pub fn consumed(&self) -> Option<u64> {
        self.consumers.as_ref().map(|c| c.consumed())
    }

    /// The latest interval the consumers finished: its e2e and e2e-service histograms.
    pub fn last_e2e(&self) -> [Option<crate::recorder::hist::Hist>; 2] {
        self.consumers
            .as_ref()
            .map_or([None, None], |c| c.last_interval())
    }

    /// p99 of corrected latency in the last finished interval of the first instance.
    pub fn recent_p99_us(&self) -> Option<u64> {
        self.contexts
            .first()?
            .context()
            .with_recorder(|s| s.last_interval_p99())
    }
}
