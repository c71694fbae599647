//! The parts of a merged result that add up by name or index: produced sizes, phases,
//! partitions (by topic), topics and the consumers' read-back.

use std::collections::BTreeMap;

use super::{sum_decoded, MergeError};
use crate::recorder::hist::{self, new_hist, LatencyStats};
use crate::result::*;

/// Adds the shards' size histograms; distinct keys cannot be added up, so they become unknown.
pub(super) fn merge_produced(rs: &[&RunResult]) -> Result<Option<Produced>, MergeError> {
    let Some(first) = rs.iter().find_map(|r| r.produced.as_ref()) else {
        return Ok(None);
    };
    let encoded: Vec<&String> = rs
        .iter()
        .filter_map(|r| r.produced.as_ref().map(|p| &p.size_hist))
        .collect();
    let sizes = sum_decoded(&encoded, crate::recorder::tally::new_size_hist)?;
    Ok(Some(Produced {
        size_bytes: LatencyStats::of(&sizes),
        size_hist: hist::encode(&sizes),
        distinct_keys: None,
        ..first.clone()
    }))
}

/// Adds the shards' phases, phase by phase (every shard ran the same profile).
pub(super) fn merge_phases(rs: &[&RunResult]) -> Result<Vec<PhaseResult>, MergeError> {
    let Some(first) = rs.first() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (i, base) in first.phases.iter().enumerate() {
        let parts: Vec<&PhaseResult> = rs.iter().filter_map(|r| r.phases.get(i)).collect();
        let sum = |f: fn(&PhaseResult) -> f64| parts.iter().map(|p| f(p)).sum::<f64>();
        let encoded: Vec<&String> = parts.iter().filter_map(|p| p.hist.as_ref()).collect();
        let h = sum_decoded(&encoded, new_hist)?;
        let planned = sum(|p| p.planned as f64);
        let achieved = sum(|p| p.achieved_rate);
        let acked_rate = sum(|p| p.acked_rate);
        out.push(PhaseResult {
            target_rate_start: sum(|p| p.target_rate_start),
            target_rate_end: sum(|p| p.target_rate_end),
            planned: planned as u64,
            sent: sum(|p| p.sent as f64) as u64,
            acked: sum(|p| p.acked as f64) as u64,
            failed: sum(|p| p.failed as f64) as u64,
            achieved_rate: achieved,
            achieved_rate_ratio: acked_rate * (base.end_s - base.start_s) / planned.max(1.0),
            acked_rate,
            latency_us: LatencyStats::of(&h),
            hist: (!h.is_empty()).then(|| hist::encode(&h)),
            ..base.clone()
        });
    }
    Ok(out)
}

/// Adds the shards' consumer results: consumers and foreign records add up; a partition's missing
/// messages are its merged acks minus what every shard read back of it; backlogs add up, their
/// catch-up is the latest shard's.
pub(super) fn merge_consume(
    rs: &[&RunResult],
    t0: u64,
    partitions: &[PartitionCount],
) -> Option<crate::result::consume::ConsumeResult> {
    use crate::result::consume::{BacklogResult, MissingPartition};
    let parts: Vec<(&RunResult, &crate::result::consume::ConsumeResult)> = rs
        .iter()
        .filter_map(|r| r.consume.as_ref().map(|c| (*r, c)))
        .collect();
    let (_, first) = parts.first()?;
    let mut missing: BTreeMap<(Option<String>, u32), u64> = BTreeMap::new();
    for (_, c) in &parts {
        for m in &c.missing {
            *missing.entry((m.topic.clone(), m.partition)).or_default() += m.acked - m.consumed;
        }
    }
    let acked = |t: &Option<String>, p: u32| {
        partitions
            .iter()
            .find(|c| c.partition == p && c.topic == *t)
            .map_or(0, |c| c.messages)
    };
    let backlogs: Vec<BacklogResult> = parts
        .iter()
        .filter_map(|(r, c)| {
            let offset = (r.t0_unix_ms - t0) as f64 / 1000.0;
            c.backlog.map(|b| BacklogResult {
                start_s: b.start_s + offset,
                caught_up_s: b.caught_up_s.map(|s| s + offset),
                ..b
            })
        })
        .collect();
    let backlog = backlogs.first().map(|b0| {
        let start_s = backlogs
            .iter()
            .map(|b| b.start_s)
            .fold(b0.start_s, f64::min);
        let caught_up_s = backlogs
            .iter()
            .map(|b| b.caught_up_s)
            .try_fold(0.0f64, |a, c| c.map(|c| a.max(c)));
        BacklogResult {
            start_s,
            messages: backlogs.iter().map(|b| b.messages).sum(),
            caught_up_s,
            catch_up_s: caught_up_s.map(|c| c - start_s),
            drain_rate: backlogs.iter().map(|b| b.drain_rate).sum(),
        }
    });
    Some(crate::result::consume::ConsumeResult {
        consumers: parts.iter().map(|(_, c)| c.consumers).sum(),
        foreign: parts.iter().map(|(_, c)| c.foreign).sum(),
        missing: missing
            .into_iter()
            .map(|((topic, partition), m)| MissingPartition {
                acked: acked(&topic, partition),
                consumed: acked(&topic, partition).saturating_sub(m),
                topic,
                partition,
            })
            .collect(),
        backlog,
        ..(*first).clone()
    })
}

/// Sums the shards' per-partition counts, by (topic, partition).
pub(super) fn merge_partitions(rs: &[&RunResult]) -> Vec<PartitionCount> {
    let mut by: BTreeMap<(Option<String>, u32), (u64, u64)> = BTreeMap::new();
    for r in rs {
        for p in &r.partitions {
            let e = by.entry((p.topic.clone(), p.partition)).or_default();
            e.0 += p.messages;
            e.1 += p.bytes;
        }
    }
    by.into_iter()
        .map(|((topic, partition), (messages, bytes))| PartitionCount {
            topic,
            partition,
            messages,
            bytes,
        })
        .collect()
}

/// Adds the shards' topics by name (their histograms add up exactly), in the first shard's order.
pub(super) fn merge_topics(
    rs: &[&RunResult],
) -> Result<Vec<crate::result::topics::TopicResult>, MergeError> {
    let Some(first) = rs.first() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for t in &first.topics {
        let parts: Vec<&crate::result::topics::TopicResult> = rs
            .iter()
            .flat_map(|r| r.topics.iter().filter(|x| x.name == t.name))
            .collect();
        let encoded: Vec<&String> = parts.iter().map(|p| &p.hist).collect();
        let h = sum_decoded(&encoded, hist::new_interval_hist)?;
        out.push(crate::result::topics::of(
            t.name.clone(),
            parts.iter().map(|p| p.messages).sum(),
            parts.iter().map(|p| p.bytes).sum(),
            &h,
        ));
    }
    Ok(out)
}
