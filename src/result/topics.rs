//! The per-topic part of a many-topic result (`topic.count` > 1): messages, bytes and corrected
//! latency of each topic, and the partitions by topic.

use serde::{Deserialize, Serialize};

use super::PartitionCount;
use crate::recorder::hist::{self, Hist};
use crate::recorder::topics::TopicTally;

/// What one topic received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicResult {
    pub name: String,
    /// Acked measured messages.
    pub messages: u64,
    /// Their payload+key bytes.
    pub bytes: u64,
    /// Corrected latency of its messages (µs, from a 2-significant-digit histogram).
    pub p50_us: u64,
    pub p99_us: u64,
    /// That histogram (base64 HdrHistogram), so merged shards stay exact.
    pub hist: String,
}

/// Every topic's result, in topic order.
pub fn topics(names: &[String], tallies: &[TopicTally]) -> Vec<TopicResult> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let t = tallies.get(i);
            let mut h = hist::new_interval_hist();
            if let Some(th) = t.and_then(|t| t.hist.as_ref()) {
                // Same buckets (2 digits), so the copy is exact.
                for v in th.iter_recorded() {
                    let _ = h.record_n(v.value_iterated_to(), v.count_at_value() as u64);
                }
            }
            of(
                name.clone(),
                t.map_or(0, TopicTally::messages),
                t.map_or(0, TopicTally::bytes),
                &h,
            )
        })
        .collect()
}

/// A topic's result from its counts and histogram.
pub fn of(name: String, messages: u64, bytes: u64, h: &Hist) -> TopicResult {
    let q = |p: f64| {
        if h.is_empty() {
            0
        } else {
            h.value_at_quantile(p)
        }
    };
    TopicResult {
        name,
        messages,
        bytes,
        p50_us: q(0.5),
        p99_us: q(0.99),
        hist: hist::encode(h),
    }
}

/// The partitions by topic: every (topic, partition) with acks; the topic is named only when
/// the run has more than one.
pub fn partitions(names: &[String], tallies: &[TopicTally]) -> Vec<PartitionCount> {
    let many = names.len() > 1;
    tallies
        .iter()
        .enumerate()
        .flat_map(|(t, tally)| {
            tally
                .partitions
                .iter()
                .enumerate()
                .map(move |(p, &(messages, bytes))| PartitionCount {
                    topic: many.then(|| names.get(t).cloned().unwrap_or_default()),
                    partition: p as u32,
                    messages,
                    bytes,
                })
        })
        .collect()
}

/// The hottest and coldest topics (by messages) and the worst p99: for the summary and the
/// `topic.p99.max` gate metric.
pub fn extremes(topics: &[TopicResult]) -> Option<(&TopicResult, &TopicResult, &TopicResult)> {
    let hottest = topics.iter().max_by_key(|t| t.messages)?;
    let coldest = topics.iter().min_by_key(|t| t.messages)?;
    let worst = topics.iter().max_by_key(|t| t.p99_us)?;
    Some((hottest, coldest, worst))
}
