//! The consumers' read-back of a merged run: what every shard's consumers read, matched against
//! the merged acks partition by partition.

use std::collections::BTreeMap;

use crate::result::*;

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
