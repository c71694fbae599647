//! From what a run recorded to the [`RunResult`] model: counts, throughput over the measured
//! window, latency summaries, the interval series and the notes a reader needs.

use super::derive::{derive, Hists, Totals};
use super::*;
use crate::broker::EMBEDDED_NOTES;
use crate::plan::RunPlan;
use crate::recorder::hist;
use crate::recorder::{IntervalCounts, Outcomes, Recorded};
use crate::run::RunOutput;
use crate::scenario::{redact, Acks, Mode};

/// Builds the result of one run from its plan and what the run recorded.
pub fn build(plan: &RunPlan, info: ScenarioInfo, started_at: String, out: RunOutput) -> RunResult {
    let s = &plan.scenario;
    let r = &out.recorded;
    let (window_us, drain) = measured_window(plan, r, out.interrupted);
    // Throughput counts what was acked inside the window; the drain is reported apart.
    let drained = drain.map_or(IntervalCounts::default(), |_| r.drain);
    let d = derive(
        totals(r, &out, drained),
        window_us as f64 / 1e6,
        plan.target_rate,
    );
    // A shard offers its share of the rate.
    let shards = plan.shard.map_or(1, |sh| sh.count) as f64;
    let cpu_s = out.cpu_s.map(|c| round(c, 3));
    let names = s.topic.names();
    let (series, events, breakdown) = series_and_events(plan, &out);
    let mut result = RunResult {
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
        duration_s: d.duration_s,
        drain: drain.map(|s_us| drain_of(s_us, drained)),
        warmup_s: s.load.warmup.0.as_secs_f64(),
        wall_s: round(out.wall.as_secs_f64(), 3),
        broker: BrokerInfo {
            kind: if s.cluster.is_embedded() {
                BrokerKind::Embedded
            } else {
                BrokerKind::External
            },
            bootstrap: out.bootstrap.clone(),
            partitions: out.topic.partitions,
            librdkafka: rdkafka::util::get_rdkafka_version().1,
        },
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
        landed_messages: out.landed,
        client: client_summary(&out, breakdown),
        partitions: topics::partitions(&names, &r.topics),
        topics: if names.len() > 1 {
            topics::topics(&names, &r.topics)
        } else {
            Vec::new()
        },
        produced: Some(produced(s, r)),
        phases: phases(plan, r, shards),
        transactions: out.transactions.as_ref().map(|t| Transactions {
            committed: t.committed,
            aborted: t.aborted,
            failed: t.failed,
        }),
        events: with_recoveries(plan, &series, events),
        intervals: series,
        notes: notes(plan, &out),
        process: ProcessStats {
            cpu_s,
            msgs_per_cpu_s: cpu_s
                .filter(|c| *c > 0.0)
                .map(|c| round((r.measured.acked + r.warmup.acked) as f64 / c, 1)),
            peak_rss_bytes: crate::usage::peak_rss_bytes(),
        },
        consume: None,
        client_properties: client_properties(s, &out.bootstrap),
    };
    if let (Some(c), Some(spec)) = (&r.consumed, &s.consume) {
        let (mode, isolation) = (spec.mode.as_str(), spec.isolation.as_rdkafka());
        let step = plan.interval_us as f64 / 1e6;
        consume::apply(&mut result, c, mode, isolation, step);
        result.events.extend(c.events.iter().cloned());
    }
    result
}

/// The interval series with librdkafka's per-interval statistics and, in transactional runs,
/// each interval's commits; the run's events with the client's, in time order; the latency
/// breakdown of the measured intervals.
fn series_and_events(
    plan: &RunPlan,
    out: &RunOutput,
) -> (Vec<Interval>, Vec<Event>, Option<client::Breakdown>) {
    let mut series = intervals(&out.recorded);
    let step = plan.interval_us as f64 / 1e6;
    let rows = client::intervals(&out.reports, plan.interval_us, series.len());
    let breakdown = client::breakdown(
        &rows,
        (plan.warmup_end_us / plan.interval_us.max(1)) as usize,
    );
    let mut events = out.events.clone();
    events.extend(client::events(&rows, step));
    events.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
    for (i, row) in series.iter_mut().zip(rows) {
        i.client = row;
    }
    if let Some(t) = &out.transactions {
        // The last commit can end after the last delivery report: the series reaches it.
        while series.len() < t.series.len() {
            let t_s = round(series.len() as f64 * step, 6);
            series.push(Interval {
                t_s,
                ..Interval::default()
            });
        }
        for (i, h) in series.iter_mut().zip(&t.series) {
            if let Some(h) = h.as_deref().and_then(|t| hist::decode(t).ok()) {
                i.commits = h.len();
                i.commit_p99_us = (!h.is_empty()).then(|| h.value_at_quantile(0.99));
            }
        }
    }
    (series, events, breakdown)
}

/// The measured acks after the window: how long (µs) and what.
fn drain_of(s_us: u64, drained: IntervalCounts) -> Drain {
    let s = round(s_us as f64 / 1e6, 6);
    Drain {
        s,
        messages: drained.acked,
        bytes: drained.acked_bytes,
        msgs_per_sec: if s > 0.0 {
            round(drained.acked as f64 / s, 2)
        } else {
            0.0
        },
    }
}

/// librdkafka's totals of the run, with the breakdown and the per-broker figures.
fn client_summary(out: &RunOutput, breakdown: Option<client::Breakdown>) -> Option<ClientSummary> {
    let c = out.client.as_ref()?;
    Some(ClientSummary {
        txmsgs: c.txmsgs,
        txmsg_bytes: c.txmsg_bytes,
        tx_bytes: c.tx_bytes,
        requests: c.tx,
        compression_ratio: (c.tx_bytes > 0 && c.txmsg_bytes > 0)
            .then(|| round(c.txmsg_bytes as f64 / c.tx_bytes as f64, 3)),
        msgs_per_request: (c.tx > 0).then(|| round(c.txmsgs as f64 / c.tx as f64, 2)),
        breakdown,
        brokers: client::brokers(&out.reports),
    })
}

/// The librdkafka properties the producer (and the consumers) ran with, secrets hidden.
fn client_properties(s: &Scenario, bootstrap: &str) -> ClientProperties {
    ClientProperties {
        producer: crate::scenario::redacted_properties(s, bootstrap),
        consumer: match &s.consume {
            Some(c) => {
                crate::scenario::render::redacted_consumer_properties(s, bootstrap, &c.group)
            }
            None => Default::default(),
        },
    }
}

/// What the recorder gathered, as the totals the headline figures derive from.
fn totals(r: &Recorded, out: &RunOutput, drained: IntervalCounts) -> Totals {
    let mut hists = Hists::empty();
    hists.corrected = r.corrected.clone();
    hists.service = r.service.clone();
    hists.send_lag = r.send.send_lag.clone();
    hists.failed = r.failed.clone();
    hists.unsent = r.send.unsent_lateness.clone();
    if let Some(t) = &out.transactions {
        hists.commit = t.commit.clone();
    }
    let scheduled = out.scheduled;
    Totals {
        counts: counts_of(r.send.sent, r.send.unsent, &r.measured, scheduled.measured),
        warmup_counts: counts_of(
            r.send.warmup_sent,
            r.send.warmup_unsent,
            &r.warmup,
            scheduled.warmup,
        ),
        errors: r
            .measured
            .errors
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        in_window_messages: r.measured.acked - drained.acked,
        in_window_bytes: r.measured.acked_bytes - drained.acked_bytes,
        queue_full: r.send.queue_full,
        clamped: r.clamped,
        hists,
    }
}

/// Sets `recovery_s` on every fault's start event (the `fault` events are one per plan step, in
/// order), for runs at a fixed rate: the time from the fault's start to the first whole interval
/// whose corrected p99 is back under 2x the median interval p99 before the fault and whose acked
/// msg/s is back at 95% of the target; `null` when none such came before the measured window
/// ended. Without an interval before the fault to compare with, it stays absent.
fn with_recoveries(plan: &RunPlan, intervals: &[Interval], mut events: Vec<Event>) -> Vec<Event> {
    let s = &plan.scenario;
    let Some(target) = plan.target_rate.filter(|_| s.load.profile.is_empty()) else {
        return events;
    };
    let step = plan.interval_us as f64 / 1e6;
    let warmup = s.load.warmup.0.as_secs_f64();
    let end = warmup + s.load.duration.map_or(f64::MAX, |d| d.0.as_secs_f64());
    let whole = |i: &&Interval| i.t_s >= warmup && i.t_s + step <= end + 1e-9;
    let fault_events = events
        .iter_mut()
        .filter(|e| e.kind == crate::event::EventKind::Fault);
    for (fault_step, event) in plan.faults.iter().zip(fault_events) {
        if !fault_step.start {
            continue;
        }
        let at = fault_step.at.as_secs_f64();
        let mut before: Vec<u64> = intervals
            .iter()
            .filter(whole)
            .filter(|i| i.t_s + step <= at + 1e-9 && i.acked > 0)
            .map(|i| i.p99_us)
            .collect();
        if before.is_empty() {
            continue;
        }
        before.sort_unstable();
        let baseline = before[before.len() / 2] as f64;
        let back = intervals
            .iter()
            .filter(whole)
            .filter(|i| i.t_s + 1e-9 >= at)
            .find(|i| i.p99_us as f64 <= 2.0 * baseline && i.acked as f64 / step >= 0.95 * target);
        event.recovery_s = Some(back.map(|i| round(i.t_s - at, 3)));
    }
    events
}

/// A note when more than 1% of a duration run's measured acks came after its window: the
/// throughput counts only the rest, and the drain is reported apart.
fn fell_behind(plan: &RunPlan, r: &Recorded) -> Option<String> {
    plan.window_end_us()?;
    let drained = r.drain.acked;
    (drained * 100 > r.measured.acked).then(|| {
        format!(
            "the cluster fell behind the schedule: {drained} messages ({:.1}% of the acks) were acked after the window; throughput counts only the acks inside it",
            drained as f64 * 100.0 / r.measured.acked.max(1) as f64
        )
    })
}

/// A note when the send lag grew through the measured intervals (last p99 over 10x the first and
/// over 10 ms): the generator, or a closed loop, fell further and further behind.
fn growing_send_lag(r: &Recorded) -> Option<String> {
    let first_measured = (r.warmup_end_us / r.interval_us) as usize;
    let p99s: Vec<u64> = r
        .intervals
        .iter()
        .skip(first_measured)
        .filter_map(|row| row.send_lag.as_deref())
        .filter_map(|text| hist::decode(text).ok())
        .filter(|h| !h.is_empty())
        .map(|h| h.value_at_quantile(0.99))
        .collect();
    let (&first, &last) = (p99s.first()?, p99s.last()?);
    (p99s.len() >= 3 && last > 10_000 && last > first.max(1) * 10).then(|| {
        format!(
            "send lag grew through the run (interval p99 {} at the start, {} at the end): the schedule fell further and further behind",
            crate::units::human_us(first as f64),
            crate::units::human_us(last as f64)
        )
    })
}

/// The counts of one window from independent tallies: what the plan made due, what the workers
/// sent and left unsent, what the delivery and purge reports said.
fn counts_of(sent: u64, unsent: u64, o: &Outcomes, scheduled: Option<u64>) -> Counts {
    Counts {
        scheduled,
        sent,
        unsent,
        acked: o.acked,
        failed: o.failed,
        unresolved: o.unresolved(),
        unresolved_by: UnresolvedBy {
            queued: o.unresolved_queued,
            in_flight: o.unresolved_in_flight,
        },
        aborted: o.aborted,
        consumed: None,
        duplicates: None,
        missing: None,
    }
}

/// The window throughput is measured over, and the drain after a completed duration run's
/// window (µs from its end to the last measured outcome). A completed run by duration: the
/// planned window. Otherwise: the first measured send to the last measured ack (to the last
/// send when nothing was acked); failed outcomes never extend it, and there is no drain.
fn measured_window(plan: &RunPlan, r: &Recorded, interrupted: bool) -> (u64, Option<u64>) {
    if let (Some(end), false) = (plan.window_end_us(), interrupted) {
        let drain = r.last_measured_done_us.max(end) - end;
        return (end - plan.warmup_end_us, Some(drain));
    }
    let start = r.send.first_send_us.unwrap_or(r.warmup_end_us);
    let end = if r.last_measured_ack_us > 0 {
        r.last_measured_ack_us
    } else {
        r.send.last_send_us
    };
    (end.max(start) - start, None)
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
                client: None,
                commits: 0,
                commit_p99_us: None,
                ..Interval::default()
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
            "sync mode: each of {w} workers {}; throughput = workers{} / latency. Service latency (enqueue to ack) is the closed-loop round trip and leads; corrected is from each message's arrival on the open-loop schedule to its ack, through the {w} synchronous callers",
            match s.producer.sync_batch {
                1 => "waits for its ack before the next send".to_string(),
                n => format!("enqueues {n} messages, then waits until all {n} are acked (sync_batch)"),
            },
            match s.producer.sync_batch {
                1 => String::new(),
                n => format!(" x {n}"),
            },
            w = s.producer.workers(),
        )),
        Mode::FireAndForget => notes.push(
            "fire-and-forget (acks=0): a delivery report means the request was written to the socket; the broker confirmed nothing".into(),
        ),
        Mode::Async => {}
    }
    if plan.curve.is_none() {
        notes.push(format!(
            "rate = max: no schedule, so corrected latency equals service latency, and it is mostly local queueing behind producer.queue_messages ({} per instance)",
            s.producer.queue_messages.map_or("librdkafka's default".into(), |q| q.to_string())
        ));
    }
    if let Some(n) = fell_behind(plan, &out.recorded) {
        notes.push(n);
    }
    if let Some(n) = growing_send_lag(&out.recorded) {
        notes.push(n);
    }
    if let Some(w) = &out.topic.warning {
        notes.push(w.clone());
    }
    notes.extend(
        out.events
            .iter()
            .filter(|e| e.kind == crate::event::EventKind::Timeout)
            .map(|e| e.detail.clone()),
    );
    let r = &out.recorded;
    let (queued, in_flight) = (
        r.measured.unresolved_queued + r.warmup.unresolved_queued,
        r.measured.unresolved_in_flight + r.warmup.unresolved_in_flight,
    );
    if queued + in_flight > 0 {
        notes.push(format!(
            "{} messages had no delivery report when the grace ({}) ended: purged and counted as unresolved ({queued} still queued, {in_flight} in flight)",
            queued + in_flight,
            s.load.grace
        ));
    }
    if r.send.unsent + r.send.warmup_unsent > 0 {
        notes.push(format!(
            "{} messages were due but never sent: sending stopped while the {} was behind its schedule (counted as unsent and as loss)",
            r.send.unsent + r.send.warmup_unsent,
            if s.producer.mode == Mode::Sync {
                "closed loop (each sync worker waits for its ack)"
            } else {
                "load generator"
            }
        ));
    }
    if !s.producer.idempotence && !s.faults.is_empty() && s.producer.acks() != Acks::None {
        notes.push(
            "without idempotence delivery is at-least-once: a batch the broker appended but whose response was lost to a fault is sent again and appended twice (landed_messages above the acks means duplicates); producer.idempotence = true gives one copy".into(),
        );
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
                achieved_rate_ratio: round(t.acked_in_window as f64 / planned.max(1.0), 4),
                acked_rate: round(t.acked_in_window as f64 / secs, 2),
                latency_us: latency,
                hist: t.corrected.as_ref().map(hist::encode),
            }
        })
        .collect()
}
