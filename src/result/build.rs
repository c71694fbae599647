//! From what a run recorded to the [`RunResult`] model: counts, throughput over the measured
//! window, latency summaries, the interval series and the notes a reader needs.

use super::*;
use crate::broker::EMBEDDED_NOTES;
use crate::plan::RunPlan;
use crate::recorder::hist::{self, LatencyStats};
use crate::recorder::Recorded;
use crate::run::RunOutput;
use crate::scenario::{redact, Acks, Mode};

/// Builds the result of one run from its plan and what the run recorded.
pub fn build(plan: &RunPlan, info: ScenarioInfo, started_at: String, out: RunOutput) -> RunResult {
    let s = &plan.scenario;
    let r = &out.recorded;
    let window_us = measured_window_us(r);
    let duration_s = window_us as f64 / 1e6;
    let per_sec = |v: u64| {
        if duration_s > 0.0 {
            v as f64 / duration_s
        } else {
            0.0
        }
    };
    let msgs_per_sec = per_sec(r.measured.acked);
    // A shard offers its share of the rate.
    let shards = plan.shard.map_or(1, |sh| sh.count) as f64;
    let target_rate = plan.target_rate;
    let achieved_rate_ratio = target_rate.map(|t| round(msgs_per_sec / t, 4));
    let counts = Counts {
        sent: r.send.sent,
        acked: r.measured.acked,
        failed: r.measured.failed,
        unresolved: r.unresolved(),
    };
    let warmup_counts = Counts {
        sent: r.send.warmup_sent,
        acked: r.warmup.acked,
        failed: r.warmup.failed,
        unresolved: r.warmup_unresolved(),
    };
    let cpu_s = out.cpu_s.map(|c| round(c, 3));
    RunResult {
        schema: SCHEMA.into(),
        kbench_version: env!("CARGO_PKG_VERSION").into(),
        status: if out.interrupted {
            Status::Interrupted
        } else {
            Status::Completed
        },
        scenario: info,
        spec: redact(s),
        started_at,
        t0_unix_ms: out.t0_unix_ms,
        shard: plan.shard,
        merge: None,
        duration_s: round(duration_s, 6),
        warmup_s: s.load.warmup.0.as_secs_f64(),
        wall_s: round(out.wall.as_secs_f64(), 3),
        broker: BrokerInfo {
            kind: if s.cluster.is_embedded() {
                "embedded".into()
            } else {
                "external".into()
            },
            bootstrap: out.bootstrap.clone(),
            partitions: out.topic.partitions,
            librdkafka: rdkafka::util::get_rdkafka_version().1,
        },
        counts,
        warmup_counts,
        errors: r
            .measured
            .errors
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        backpressure: Backpressure {
            queue_full: r.send.queue_full,
        },
        throughput: Throughput {
            msgs_per_sec: round(msgs_per_sec, 2),
            bytes_per_sec: round(per_sec(r.measured.acked_bytes), 2),
        },
        target_rate,
        achieved_rate_ratio,
        latency_us: Streams {
            corrected: LatencyStats::of(&r.corrected),
            service: LatencyStats::of(&r.service),
            send_lag: LatencyStats::of(&r.send.send_lag),
        },
        histograms: Streams {
            corrected: hist::encode(&r.corrected),
            service: hist::encode(&r.service),
            send_lag: hist::encode(&r.send.send_lag),
        },
        clamped_samples: r.clamped,
        landed_messages: out.landed,
        client: out.client.map(|c| ClientSummary {
            txmsgs: c.txmsgs,
            txmsg_bytes: c.txmsg_bytes,
            tx_bytes: c.tx_bytes,
            requests: c.tx,
            compression_ratio: (c.tx_bytes > 0 && c.txmsg_bytes > 0)
                .then(|| round(c.txmsg_bytes as f64 / c.tx_bytes as f64, 3)),
            msgs_per_request: (c.tx > 0).then(|| round(c.txmsgs as f64 / c.tx as f64, 2)),
        }),
        partitions: r
            .partitions
            .iter()
            .enumerate()
            .map(|(p, (messages, bytes))| PartitionCount {
                partition: p as u32,
                messages: *messages,
                bytes: *bytes,
            })
            .collect(),
        produced: Some(produced(s, r)),
        phases: phases(plan, r, shards),
        intervals: intervals(r),
        events: out.events.clone(),
        notes: notes(plan, &out),
        process: ProcessStats {
            cpu_s,
            msgs_per_cpu_s: cpu_s
                .filter(|c| *c > 0.0)
                .map(|c| round((r.measured.acked + r.warmup.acked) as f64 / c, 1)),
            peak_rss_bytes: crate::usage::peak_rss_bytes(),
        },
    }
}

/// From the end of the warm-up to the last measured delivery report (or send, if none came back).
fn measured_window_us(r: &Recorded) -> u64 {
    let end = r.last_measured_done_us.max(r.send.last_send_us);
    end.saturating_sub(r.warmup_end_us)
}

fn intervals(r: &Recorded) -> Vec<Interval> {
    let secs = r.interval_us as f64 / 1e6;
    r.intervals
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let stats = row
                .corrected
                .as_deref()
                .and_then(|text| hist::decode(text).ok())
                .map(|h| LatencyStats::of(&h))
                .unwrap_or_default();
            Interval {
                t_s: round(i as f64 * secs, 6),
                sent: row.sent,
                acked: row.counts.acked,
                failed: row.counts.failed,
                bytes: row.counts.acked_bytes,
                p50_us: stats.p50,
                p99_us: stats.p99,
                max_us: stats.max,
                hist: row.corrected.clone(),
                service_hist: row.service.clone(),
                send_lag_hist: row.send_lag.clone(),
            }
        })
        .collect()
}

fn notes(plan: &RunPlan, out: &RunOutput) -> Vec<String> {
    let s = &plan.scenario;
    let mut notes: Vec<String> = Vec::new();
    if s.cluster.is_embedded() {
        notes.extend(EMBEDDED_NOTES.iter().map(|n| n.to_string()));
    } else if s.producer.acks() == Acks::All && s.topic.replication == 1 {
        notes.push("replication factor 1: acks=all cannot differ from acks=1".into());
    }
    match s.producer.mode {
        Mode::Sync => notes.push(format!(
            "sync mode: each of {} workers waits for its ack before the next send; throughput = workers / latency, and latency is a closed-loop round trip",
            s.producer.workers()
        )),
        Mode::FireAndForget => notes.push(
            "fire-and-forget (acks=0): a delivery report means the request was written to the socket; the broker confirmed nothing".into(),
        ),
        Mode::Async => {}
    }
    if plan.curve.is_none() {
        notes.push("rate = max: no schedule, so corrected latency equals service latency".into());
    }
    if let Some(w) = &out.topic.warning {
        notes.push(w.clone());
    }
    notes.extend(
        out.events
            .iter()
            .filter(|e| e.kind == "timeout")
            .map(|e| e.detail.clone()),
    );
    let r = &out.recorded;
    if r.unresolved() > 0 {
        notes.push(format!(
            "{} messages had no delivery report when the run ended (grace {}): counted as unresolved",
            r.unresolved(),
            s.load.grace
        ));
    }
    if let Some(landed) = out.landed {
        let acked = r.measured.acked + r.warmup.acked;
        if landed != acked {
            notes.push(format!(
                "the topic received {landed} messages during the run but {acked} were acked: {}",
                if landed > acked {
                    "duplicates (retries without idempotence) or another producer"
                } else {
                    "messages acked but not in the topic, or the broker reports wrong end offsets (tansu 0.6 does: consume the topic to count)"
                }
            ));
        }
    }
    if r.clamped > 0 {
        notes.push(format!(
            "{} latencies exceeded 24 h and were recorded as 24 h",
            r.clamped
        ));
    }
    notes
}

fn produced(s: &Scenario, r: &Recorded) -> Produced {
    let p = &r.send.produced;
    let keyed = s.message.keys.distribution != crate::scenario::Keys::None;
    Produced {
        size_bytes: LatencyStats::of(&p.sizes),
        size_hist: hist::encode(&p.sizes),
        header_bytes: s.message.headers.bytes(),
        key_cardinality: keyed.then_some(s.message.key_cardinality),
        distinct_keys: p.distinct_keys(),
    }
}

fn phases(plan: &RunPlan, r: &Recorded, shards: f64) -> Vec<PhaseResult> {
    let windows = &r.phases.bounds.windows;
    plan.scenario
        .load
        .profile
        .iter()
        .zip(windows)
        .zip(&r.phases.tallies)
        .zip(&plan.planned.phases)
        .map(|(((phase, &(start, end)), t), &planned)| {
            let (r0, r1) = phase.rates().unwrap_or((0.0, 0.0));
            let secs = (end - start) as f64 / 1e6;
            let achieved = t.enqueued as f64 / secs;
            let latency = t
                .corrected
                .as_ref()
                .map(LatencyStats::of)
                .unwrap_or_default();
            PhaseResult {
                name: phase.label(),
                start_s: start as f64 / 1e6,
                end_s: end as f64 / 1e6,
                target_rate_start: r0 / shards,
                target_rate_end: r1 / shards,
                planned: planned.round() as u64,
                sent: t.sent,
                acked: t.acked,
                failed: t.failed,
                achieved_rate: round(achieved, 2),
                achieved_rate_ratio: round(achieved * secs / planned.max(1.0), 4),
                acked_rate: round(t.acked_in_window as f64 / secs, 2),
                latency_us: latency,
                hist: t.corrected.as_ref().map(hist::encode),
            }
        })
        .collect()
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}
