//! The tallies of a merged result that add up by name or index: produced sizes, phases (by
//! index), partitions (by topic and index) and topics (by name).

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
