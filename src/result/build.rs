//! From what a run recorded to the [`RunResult`] model: counts, throughput over the measured
//! window, latency summaries, the interval series and the notes a reader needs.

use super::derive::{derive, Hists, Totals};
use super::*;
use crate::plan::RunPlan;
use crate::recorder::hist;
use crate::recorder::{IntervalCounts, Outcomes, Recorded};
use crate::run::RunOutput;
use crate::scenario::redact;

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
        notes: super::notes::of_run(plan, &out),
        process: ProcessStats {
            cpu_s,
            msgs_per_cpu_s: cpu_s
                .filter(|c| *c > 0.0)
                .map(|c| round((r.measured.acked + r.warmup.acked) as f64 / c, 1)),
            peak_rss_bytes: crate::usage::peak_rss_bytes(),
        },
        consume: None,
        client_properties: client_properties(s, &out.bootstrap, out.engine.as_ref()),
        engine: out.engine.as_ref().map(engine_info),
        repeats: None,
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

/// What an external engine said of itself.
fn engine_info(e: &crate::run::engines::EngineRun) -> EngineInfo {
    let client = e.ready["client"].as_str().unwrap_or(e.engine.as_str());
    let version = e.ready["client_version"].as_str().unwrap_or("?");
    EngineInfo {
        name: e.engine.to_string(),
        client: match e.engine.module() {
            Some(module) => format!("{module} {version}"),
            None => format!("{client} {version}"),
        },
        toolchain: e.ready["go"]
            .as_str()
            .or(e.ready["java"].as_str())
            .map(str::to_string),
        cpu_s: e.cpu_s.map(|c| round(c, 3)),
        peak_rss_bytes: e.peak_rss_bytes,
        metrics: e.metrics.clone(),
    }
}

/// The properties the producer (and the consumers) ran with, secrets hidden: librdkafka's, or
/// an external engine's client configuration as it resolved it.
fn client_properties(
    s: &Scenario,
    bootstrap: &str,
    engine: Option<&crate::run::engines::EngineRun>,
) -> ClientProperties {
    let engine_config = engine.and_then(|e| e.ready["config"].as_object()).map(|m| {
        m.iter()
            .map(|(k, v)| (k.clone(), v.as_str().map_or(v.to_string(), str::to_string)))
            .collect()
    });
    let producer: BTreeMap<String, String> =
        engine_config.unwrap_or_else(|| crate::scenario::redacted_properties(s, bootstrap));
    let settings = crate::scenario::engine::described(s)
        .into_iter()
        .map(|mut t| {
            if let Some(v) = producer.get(&t.name) {
                t.value = v.clone();
            }
            if crate::scenario::render::is_secret(&t.name)
                || t.name.to_ascii_lowercase().contains("password")
            {
                t.value = "***".into();
            }
            t
        })
        .collect();
    ClientProperties {
        producer,
        settings,
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
