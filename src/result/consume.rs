//! The `[consume]` part of a result: read-back counts, end-to-end latency, the per-interval lag
//! and a backlog's drain, from what the consumers recorded.

use serde::{Deserialize, Serialize};

use super::{round, Interval, RunResult};
use crate::recorder::hist::{self, LatencyStats};
use crate::recorder::Consumed;

/// What the run's consumers did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsumeResult {
    /// Consumer threads (summed over shards in a merge).
    pub consumers: u32,
    /// `group` or `partitions`.
    pub mode: String,
    pub isolation: String,
    /// Records read that carried no stamp of this run (other producers, other runs, other
    /// shards' records).
    pub foreign: u64,
    /// Partitions with acked measured messages that were not read back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<MissingPartition>,
    /// With `consume.start_after`: the backlog and its drain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backlog: Option<BacklogResult>,
}

/// Acked against read back, for one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingPartition {
    /// Its topic, in a run with more than one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    pub partition: u32,
    pub acked: u64,
    pub consumed: u64,
}

/// A backlog built while the consumers waited, and how fast they worked it off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BacklogResult {
    /// When the consumers started, in seconds since t0.
    pub start_s: f64,
    /// Acked but not consumed at that moment.
    pub messages: u64,
    /// When the lag was back to about zero (at most 1 % of the backlog, the target rate's messages
    /// of 50 ms + `producer.linger`, or one message), in seconds since t0; null when it never was before the run ended.
    pub caught_up_s: Option<f64>,
    /// `caught_up_s - start_s`.
    pub catch_up_s: Option<f64>,
    /// Messages consumed per second from the start to the catch-up (the drain rate, new
    /// messages included).
    pub drain_rate: Option<f64>,
}

/// Puts what the consumers recorded into a result.
pub fn apply(out: &mut RunResult, c: &Consumed, mode: &str, isolation: &str, interval_s: f64) {
    // The consumers number partitions `topic * partitions + partition`.
    let names = out.spec.topic.names();
    let index: std::collections::HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let per_topic = out.broker.partitions as usize;
    let flat = |p: &super::PartitionCount| {
        let t = p
            .topic
            .as_deref()
            .and_then(|t| index.get(t).copied())
            .unwrap_or(0);
        t * per_topic + p.partition as usize
    };
    let missing: Vec<MissingPartition> = out
        .partitions
        .iter()
        .map(|p| MissingPartition {
            topic: p.topic.clone(),
            partition: p.partition,
            acked: p.messages,
            consumed: c.partitions.get(flat(p)).copied().unwrap_or(0),
        })
        .filter(|m| m.consumed < m.acked)
        .collect();
    out.counts.consumed = Some(c.consumed);
    out.counts.duplicates = Some(c.duplicates);
    out.counts.missing = Some(missing.iter().map(|m| m.acked - m.consumed).sum());
    out.warmup_counts.consumed = Some(c.consumed_warmup);
    out.latency_us.e2e = LatencyStats::of(&c.e2e);
    out.latency_us.e2e_service = LatencyStats::of(&c.e2e_service);
    out.histograms.e2e = hist::encode(&c.e2e);
    out.histograms.e2e_service = hist::encode(&c.e2e_service);
    out.clamped_samples += c.clamped;
    while out.intervals.len() < c.intervals.len() {
        let t_s = round(out.intervals.len() as f64 * interval_s, 6);
        out.intervals.push(Interval {
            t_s,
            ..Interval::default()
        });
    }
    for (i, ci) in out.intervals.iter_mut().zip(&c.intervals) {
        i.consumed = ci.consumed;
        i.e2e_hist = ci.e2e.clone();
        i.e2e_service_hist = ci.e2e_service.clone();
    }
    set_interval_stats(&mut out.intervals);
    out.consume = Some(ConsumeResult {
        consumers: c.consumers,
        mode: mode.into(),
        isolation: isolation.into(),
        foreign: c.foreign,
        missing,
        backlog: c.backlog.map(|b| {
            let start_s = b.start_us as f64 / 1e6;
            let caught_up_s = b.caught_up_us.map(|u| round(u as f64 / 1e6, 3));
            let catch_up_s = caught_up_s.map(|c| round((c - start_s).max(0.0), 3));
            BacklogResult {
                start_s,
                messages: b.messages,
                caught_up_s,
                catch_up_s,
                drain_rate: catch_up_s
                    .filter(|&s| s > 0.0)
                    .map(|s| round(b.drained as f64 / s, 1)),
            }
        }),
    });
}

/// Each interval's e2e p50 and p99 (from its histogram) and the lag at its end: acked so far
/// minus consumed so far, warm-up included.
pub fn set_interval_stats(intervals: &mut [Interval]) {
    let (mut acked, mut consumed) = (0u64, 0u64);
    for i in intervals {
        acked += i.acked;
        consumed += i.consumed;
        i.lag = Some(acked.saturating_sub(consumed));
        let h = i.e2e_hist.as_deref().and_then(|t| hist::decode(t).ok());
        let h = h.filter(|h| !h.is_empty());
        i.e2e_p50_us = h.as_ref().map(|h| h.value_at_quantile(0.5));
        i.e2e_p99_us = h.as_ref().map(|h| h.value_at_quantile(0.99));
    }
}
