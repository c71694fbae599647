//! Merging the shards of one run (`kbench run --shard I/N` on several machines) into one result,
//! as exact as a single-machine run: counts and errors add, full histograms add (HdrHistogram
//! `add` is exact), and interval series are aligned by wall-clock time (each shard's
//! `t0_unix_ms`) and summed, their histograms added interval by interval.
//!
//! Shards must come from the same scenario (specs equal except the bootstrap servers), with the
//! same shard count, no index twice, and none missing unless partial merges are allowed (then
//! the result says which are missing).

use std::collections::{BTreeMap, BTreeSet};

use crate::compare::flatten;
use crate::recorder::hist::{self, LatencyStats};
use crate::result::derive::{derive, Hists, Totals};
use crate::result::*;

mod client;
mod consume;
mod tallies;
use consume::merge_consume;
use tallies::{merge_partitions, merge_phases, merge_produced, merge_topics};

/// Why shards cannot be merged: bad input, exit 2.
#[derive(Debug, thiserror::Error)]
#[error("cannot merge: {0}")]
pub struct MergeError(pub String);

/// Adds encoded histograms into a fresh one from `new` (totals: 3 digits; intervals: 2).
fn sum_decoded(encoded: &[&String], new: fn() -> hist::Hist) -> Result<hist::Hist, MergeError> {
    let mut sum = new();
    for e in encoded {
        let h = hist::decode(e).map_err(|e| MergeError(e.to_string()))?;
        hist::add(&mut sum, &h);
    }
    Ok(sum)
}

/// A shard's totals, read back from its result: the in-window acks exactly, their bytes from its
/// throughput over its window.
fn shard_totals(r: &RunResult) -> Result<Totals, hist::HistError> {
    Ok(Totals {
        counts: r.counts,
        warmup_counts: r.warmup_counts,
        errors: r.errors.clone(),
        in_window_messages: r.in_window_acks(),
        in_window_bytes: (r.throughput.bytes_per_sec * r.duration_s).round() as u64,
        queue_full: r.backpressure.queue_full,
        clamped: r.clamped_samples,
        hists: Hists::decode(&r.histograms)?,
    })
}

/// What the checks found of a set of shards.
struct Shards {
    /// The shard count of the run.
    count: u32,
    /// The shard indices present.
    merged: Vec<u32>,
    missing: Vec<u32>,
    /// "path: detail" of each shard whose counts do not add up.
    invalid: Vec<String>,
}

/// Checks that the results are shards of one run: the same scenario (bootstrap aside), the same
/// count, no index twice; none missing and none invalid unless `allow_partial`.
fn check(results: &[(String, RunResult)], allow_partial: bool) -> Result<Shards, MergeError> {
    let (first_path, first) = results
        .first()
        .ok_or_else(|| MergeError("no results".into()))?;
    let count = first.shard.map(|s| s.count).ok_or_else(|| {
        MergeError(format!(
            "{first_path} is not a shard (run it with --shard I/N)"
        ))
    })?;
    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    let base_spec = without_bootstrap(first);
    for (path, r) in results {
        let shard = r
            .shard
            .ok_or_else(|| MergeError(format!("{path} is not a shard")))?;
        if shard.count != count {
            return Err(MergeError(format!(
                "{path} is shard {} of {}, not of {count}",
                shard.index, shard.count
            )));
        }
        if let Some(other) = seen.insert(shard.index, path) {
            return Err(MergeError(format!(
                "shard {} appears twice: {other} and {path}",
                shard.index
            )));
        }
        let spec = without_bootstrap(r);
        if spec != base_spec {
            let keys: Vec<&String> = spec
                .keys()
                .filter(|k| spec.get(*k) != base_spec.get(*k))
                .collect();
            return Err(MergeError(format!(
                "{path} ran another scenario than {first_path} (differs in {keys:?})"
            )));
        }
    }
    let invalid: Vec<String> = results
        .iter()
        .filter_map(|(path, r)| r.accounting_error().map(|e| format!("{path}: {e}")))
        .collect();
    if !invalid.is_empty() && !allow_partial {
        return Err(MergeError(format!(
            "{} shard(s) have counts that do not add up, so the merge would be invalid (--allow-partial merges them anyway, noted): {}",
            invalid.len(),
            invalid.join("; ")
        )));
    }
    let missing: Vec<u32> = (0..count).filter(|i| !seen.contains_key(i)).collect();
    if !missing.is_empty() && !allow_partial {
        return Err(MergeError(format!(
            "shards {missing:?} of {count} are missing (--allow-partial merges the rest)"
        )));
    }
    Ok(Shards {
        count,
        merged: seen.keys().copied().collect(),
        missing,
        invalid,
    })
}

/// The shards' events on the merged clock (each labelled with its shard), their notes once each,
/// and the merge's own notes.
fn events_and_notes(
    results: &[(String, RunResult)],
    t0: u64,
    shards: &Shards,
) -> (Vec<Event>, Vec<String>) {
    let mut events = Vec::new();
    let mut notes: BTreeSet<String> = BTreeSet::new();
    for (_, r) in results {
        let idx = r.shard.map_or(0, |s| s.index);
        let offset_s = (r.t0_unix_ms - t0) as f64 / 1000.0;
        events.extend(r.events.iter().map(|e| Event {
            t_s: e.t_s + offset_s,
            detail: format!("shard {idx}: {}", e.detail),
            ..e.clone()
        }));
        notes.extend(
            r.notes
                .iter()
                .filter(|n| !crate::result::notes::Note::is_landed(n))
                .cloned(),
        );
    }
    events.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
    let mut notes: Vec<String> = notes.into_iter().collect();
    notes.push(format!(
        "merged from {} of {} shards",
        results.len(),
        shards.count
    ));
    if !shards.invalid.is_empty() {
        notes.push(format!(
            "INVALID: merged with --allow-partial although {} shard(s) have counts that do not add up",
            shards.invalid.len()
        ));
    }
    if !shards.missing.is_empty() {
        notes.push(format!(
            "PARTIAL: shards {:?} are missing; counts and throughput cover the others only",
            shards.missing
        ));
    }
    (events, notes)
}

/// The merged measured window on the merged clock (from `t0`): (start, length) in seconds, from
/// the earliest end of a warm-up to the latest end of a shard's window.
fn window(rs: &[&RunResult], t0: u64) -> (f64, f64) {
    let offset_s = |r: &RunResult| (r.t0_unix_ms - t0) as f64 / 1000.0;
    let start = rs
        .iter()
        .map(|r| offset_s(r) + r.warmup_s)
        .fold(f64::MAX, f64::min);
    let end = rs
        .iter()
        .map(|r| offset_s(r) + r.warmup_s + r.duration_s)
        .fold(0.0, f64::max);
    (start, (end - start).max(0.0))
}

/// Merges shard results (path, result): the checks, then sums.
pub fn merge(
    results: &[(String, RunResult)],
    allow_partial: bool,
) -> Result<RunResult, MergeError> {
    let shards = check(results, allow_partial)?;
    let first = &results[0].1;
    let rs: Vec<&RunResult> = results.iter().map(|(_, r)| r).collect();
    let t0 = rs.iter().map(|r| r.t0_unix_ms).min().unwrap_or(0);
    let offset_s = |r: &RunResult| (r.t0_unix_ms - t0) as f64 / 1000.0;
    // Every shard's totals add: counts, errors, in-window acks, full histograms (exact).
    let mut totals = Totals::default();
    for (path, r) in results {
        totals += &shard_totals(r).map_err(|e| MergeError(format!("{path}: {e}")))?;
    }
    let (start, duration_s) = window(&rs, t0);
    let step = first.spec.load.interval.0.as_secs_f64();
    let intervals = merge_intervals(&rs, t0, step)?;
    let target_rate = rs.iter().map(|r| r.target_rate).sum::<Option<f64>>();
    let acked = totals.counts.acked;
    let d = derive(totals, duration_s, target_rate);
    let cpu_s = rs.iter().map(|r| r.process.cpu_s).sum::<Option<f64>>();
    let (events, notes) = events_and_notes(results, t0, &shards);
    Ok(RunResult {
        schema: SCHEMA.into(),
        kbench_version: env!("CARGO_PKG_VERSION").into(),
        status: if rs.iter().any(|r| r.status == Status::Interrupted) {
            Status::Interrupted
        } else {
            Status::Completed
        },
        scenario: first.scenario.clone(),
        spec: first.spec.clone(),
        started_at: rs
            .iter()
            .map(|r| r.started_at.clone())
            .min()
            .unwrap_or_default(),
        t0_unix_ms: t0,
        shard: None,
        merge: Some(MergeInfo {
            shards: shards.count,
            merged: shards.merged,
            missing: shards.missing,
            sources: results.iter().map(|(p, _)| p.clone()).collect(),
        }),
        duration_s: d.duration_s,
        drain: merge_drains(&rs),
        warmup_s: first.warmup_s,
        wall_s: rs
            .iter()
            .map(|r| offset_s(r) + r.wall_s)
            .fold(0.0, f64::max),
        broker: first.broker.clone(),
        loss_rate: d.loss_rate,
        backpressure: d.backpressure,
        throughput: d.throughput,
        target_rate: d.target_rate,
        achieved_rate_ratio: d.achieved_rate_ratio,
        latency_us: d.latency_us,
        histograms: d.histograms,
        clamped_samples: d.clamped_samples,
        counts: d.counts,
        warmup_counts: d.warmup_counts,
        errors: d.errors,
        // Every shard's watermarks saw the others' messages too: no per-run count survives.
        landed_messages: None,
        client: client::summary(&rs, &intervals, (start / step).round() as usize),
        consume: merge_consume(&rs, t0, &merge_partitions(&rs)),
        // Every shard ran the same scenario; the bootstrap may differ by machine.
        client_properties: first.client_properties.clone(),
        engine: merge_engine(&rs),
        partitions: merge_partitions(&rs),
        topics: merge_topics(&rs)?,
        produced: merge_produced(&rs)?,
        phases: merge_phases(&rs)?,
        transactions: rs
            .iter()
            .filter_map(|r| r.transactions)
            .reduce(|a, b| Transactions {
                committed: a.committed + b.committed,
                aborted: a.aborted + b.aborted,
                failed: a.failed + b.failed,
            }),
        intervals,
        events,
        notes,
        process: ProcessStats {
            msgs_per_cpu_s: cpu_s.filter(|c| *c > 0.0).map(|c| acked as f64 / c),
            cpu_s,
            peak_rss_bytes: rs.iter().filter_map(|r| r.process.peak_rss_bytes).max(),
        },
        repeats: None,
    })
}

/// The shards' engine: the first's, with every shard's engine CPU added and the largest RSS.
fn merge_engine(rs: &[&RunResult]) -> Option<EngineInfo> {
    rs[0].engine.clone().map(|e| EngineInfo {
        cpu_s: rs.iter().map(|r| r.engine.as_ref()?.cpu_s).sum(),
        peak_rss_bytes: rs
            .iter()
            .filter_map(|r| r.engine.as_ref()?.peak_rss_bytes)
            .max(),
        ..e
    })
}

/// The shards' drains: messages and bytes add, the longest lasts; absent unless every shard has
/// one (runs by duration).
fn merge_drains(rs: &[&RunResult]) -> Option<Drain> {
    let mut sum = Drain::default();
    for r in rs {
        let d = r.drain?;
        sum.s = sum.s.max(d.s);
        sum.messages += d.messages;
        sum.bytes += d.bytes;
    }
    if sum.s > 0.0 {
        sum.msgs_per_sec = sum.messages as f64 / sum.s;
    }
    Some(sum)
}

/// The spec as flat keys, without what differs between machines by nature.
fn without_bootstrap(r: &RunResult) -> BTreeMap<String, String> {
    let mut flat = flatten(&serde_json::to_value(&r.spec).unwrap_or_default());
    flat.remove("cluster.bootstrap");
    flat
}

/// Sums the shards' intervals into wall-clock-aligned intervals.
fn merge_intervals(rs: &[&RunResult], t0: u64, step: f64) -> Result<Vec<Interval>, MergeError> {
    type Acc<'a> = (
        Interval,
        [Vec<&'a String>; 5],
        Vec<(&'a crate::result::client::ClientInterval, u64)>,
    );
    let mut rows: BTreeMap<u64, Acc> = BTreeMap::new();
    for r in rs {
        let offset = (r.t0_unix_ms - t0) as f64 / 1000.0;
        for i in &r.intervals {
            let k = ((offset + i.t_s) / step).round() as u64;
            let (row, hists, clients) = rows.entry(k).or_default();
            clients.extend(i.client.as_ref().map(|c| (c, i.acked)));
            row.sent += i.sent;
            row.acked += i.acked;
            row.failed += i.failed;
            row.bytes += i.bytes;
            // Commits add up; their p99 across shards is bounded by the largest (the per-interval
            // commit histograms are not kept).
            row.commits += i.commits;
            row.commit_p99_us = row.commit_p99_us.max(i.commit_p99_us);
            row.consumed += i.consumed;
            for (list, h) in hists.iter_mut().zip([
                &i.hist,
                &i.service_hist,
                &i.send_lag_hist,
                &i.e2e_hist,
                &i.e2e_service_hist,
            ]) {
                list.extend(h.iter());
            }
        }
    }
    let mut out = Vec::new();
    for (k, (mut row, hists, clients)) in rows {
        row.t_s = k as f64 * step;
        row.client = client::merge_rows(&clients);
        let encode = |list: &[&String]| -> Result<Option<String>, MergeError> {
            if list.is_empty() {
                return Ok(None);
            }
            Ok(Some(hist::encode(&sum_decoded(
                list,
                hist::new_interval_hist,
            )?)))
        };
        row.hist = encode(&hists[0])?;
        row.service_hist = encode(&hists[1])?;
        row.send_lag_hist = encode(&hists[2])?;
        row.e2e_hist = encode(&hists[3])?;
        row.e2e_service_hist = encode(&hists[4])?;
        if let Some(h) = row.hist.as_deref().and_then(|e| hist::decode(e).ok()) {
            let s = LatencyStats::of(&h);
            (row.p50_us, row.p99_us, row.max_us) = (s.p50, s.p99, s.max);
        }
        out.push(row);
    }
    if rs.iter().any(|r| r.consume.is_some()) {
        crate::result::consume::set_interval_stats(&mut out);
    }
    Ok(out)
}
