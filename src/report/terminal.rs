//! The terminal summary of one run: a pure function of a [`RunResult`], so any saved run prints
//! the same way it did when it ran.

use std::fmt::Write;

use crate::event::EventKind;
use crate::recorder::hist::LatencyStats;
use crate::report::table::{columns, thousands};
use crate::result::repeats::{RepeatFigures, Repeats};
use crate::result::{Counts, RunResult, Status};
use crate::stats::Interval;
use crate::units::{human_us, Bytes, Rate};

/// "sent 10 = acked 9 + failed 1 + unresolved 0": the accounting line of every view.
pub fn accounting(c: &Counts) -> String {
    let mut line = String::new();
    if let Some(n) = c.scheduled {
        let done = c.sent + c.unsent;
        let _ = if n == done {
            write!(
                line,
                "scheduled {} = sent + unsent {}; ",
                thousands(n),
                thousands(c.unsent)
            )
        } else {
            // Within one message per worker: a due instant rounded across a window's edge.
            write!(
                line,
                "scheduled {} ~ sent + unsent {} = {}; ",
                thousands(n),
                thousands(c.unsent),
                thousands(done)
            )
        };
    }
    let _ = write!(
        line,
        "sent {} = acked {} + failed {} + unresolved {}",
        thousands(c.sent),
        thousands(c.acked),
        thousands(c.failed),
        thousands(c.unresolved)
    );
    if c.aborted > 0 {
        let _ = write!(line, " + aborted {}", thousands(c.aborted));
    }
    if c.unresolved > 0 {
        let _ = write!(
            line,
            " ({} queued, {} in flight)",
            thousands(c.unresolved_by.queued),
            thousands(c.unresolved_by.in_flight)
        );
    }
    line
}

/// A many-topic run: the hottest and coldest topic, their skew, and the worst topic p99.
fn topics_line(r: &RunResult) -> Option<String> {
    let (hot, cold, worst) = crate::result::topics::extremes(&r.topics)?;
    let skew = if cold.messages > 0 {
        format!("max/min {:.2}", hot.messages as f64 / cold.messages as f64)
    } else {
        "some empty".into()
    };
    Some(format!(
        "{}: hottest {} {}, coldest {} {} ({skew}); worst p99 {} {}",
        r.topics.len(),
        hot.name,
        thousands(hot.messages),
        cold.name,
        thousands(cold.messages),
        worst.name,
        human_us(worst.p99_us as f64)
    ))
}

/// The consumers' side of a `[consume]` run: read back, duplicates, missing, a backlog's drain.
fn read_back(r: &RunResult) -> Option<String> {
    let c = r.consume.as_ref()?;
    let n = &r.counts;
    let mut out = format!(
        "  read back  {} of {} acked by {} consumer{} ({}): duplicates {}, missing {}",
        thousands(n.consumed.unwrap_or(0)),
        thousands(n.acked),
        c.consumers,
        if c.consumers == 1 { "" } else { "s" },
        c.mode,
        thousands(n.duplicates.unwrap_or(0)),
        thousands(n.missing.unwrap_or(0)),
    );
    if let Some(m) = c.missing.first() {
        let _ = write!(
            out,
            " (partition {}: {} of {} read{})",
            m.partition,
            thousands(m.consumed),
            thousands(m.acked),
            if c.missing.len() > 1 { ", ..." } else { "" }
        );
    }
    out.push('\n');
    if let Some(b) = c.backlog {
        let _ = writeln!(
            out,
            "  backlog    {} messages at {:.1} s; {}",
            thousands(b.messages),
            b.start_s,
            match (b.catch_up_s, b.drain_rate) {
                (Some(t), Some(rate)) => format!(
                    "caught up after {t:.2} s, draining at {} msg/s",
                    Rate::human(rate)
                ),
                (Some(t), None) => format!("caught up after {t:.2} s"),
                _ => "never caught up before the run ended".into(),
            }
        );
    }
    Some(out)
}

fn latency_row(out: &mut String, name: &str, l: &LatencyStats) {
    if l.count == 0 {
        let _ = writeln!(out, "  {name:<10} (no samples)");
        return;
    }
    let _ = writeln!(
        out,
        "  {name:<10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        human_us(l.p50 as f64),
        human_us(l.p90 as f64),
        human_us(l.p99 as f64),
        human_us(l.p999 as f64),
        human_us(l.max as f64),
        human_us(l.mean),
    );
}

/// The multi-line summary printed after a run: what ran, what it counted, its latency, and what
/// went wrong.
pub fn summary(r: &RunResult) -> String {
    let mut out = String::new();
    what_ran(&mut out, r);
    out.push('\n');
    counted(&mut out, r);
    out.push('\n');
    latency_table(&mut out, r);
    out.push('\n');
    repeats(&mut out, r);
    extras(&mut out, r);
    trouble(&mut out, r);
    events(&mut out, r);
    out
}

/// With `load.repeats`: each repeat's figures, and each figure's median with its interval.
fn repeats(out: &mut String, r: &RunResult) {
    let Some(rep) = &r.repeats else {
        return;
    };
    let _ = writeln!(
        out,
        "  repeats    {} in a row; the figures above are repeat {}'s (the median throughput)",
        rep.runs.len(),
        rep.representative
    );
    let rows = repeats_rows(rep);
    out.push_str(&columns(&rows, 0, "    "));
    let _ = writeln!(
        out,
        "  interval   {}: {} resamples, seed {}\n",
        rep.method, rep.resamples, rep.seed
    );
}

/// The repeats' table (header first): per figure, the median with its interval, then each
/// repeat's value. The terminal summary and report.html both show it.
pub fn repeats_rows(rep: &Repeats) -> Vec<Vec<String>> {
    let mut rows = vec![std::iter::once("".to_string())
        .chain(["median [95% interval]".to_string()])
        .chain(rep.runs.iter().map(|f| f.dir.clone()))
        .collect::<Vec<_>>()];
    let row = |name: &str, i: &Interval, values: Vec<f64>, show: fn(f64) -> String| {
        let mut row = vec![
            name.to_string(),
            format!("{} [{}, {}]", show(i.median), show(i.low), show(i.high)),
        ];
        row.extend(values.into_iter().map(show));
        row
    };
    let of = |f: fn(&RepeatFigures) -> u64| rep.runs.iter().map(|r| f(r) as f64).collect();
    let tp = rep.runs.iter().map(|f| f.msgs_per_sec).collect();
    rows.push(row("msg/s", &rep.throughput, tp, Rate::human));
    rows.push(row("p50", &rep.p50_us, of(|f| f.p50_us), human_us));
    rows.push(row("p90", &rep.p90_us, of(|f| f.p90_us), human_us));
    rows.push(row("p99", &rep.p99_us, of(|f| f.p99_us), human_us));
    rows.push(row("p99.9", &rep.p999_us, of(|f| f.p999_us), human_us));
    rows
}

/// The scenario, the broker, the producer and the load.
fn what_ran(out: &mut String, r: &RunResult) {
    let s = &r.spec;
    let p = &s.producer;
    let _ = write!(out, "kbench {}", r.scenario.name);
    if !r.scenario.description.is_empty() {
        let _ = write!(out, ": {}", r.scenario.description);
    }
    out.push('\n');
    let status = match r.status {
        Status::Completed => "completed",
        Status::Interrupted => "INTERRUPTED",
    };
    let broker = if r.broker.kind == crate::result::BrokerKind::Embedded {
        format!("embedded, {} brokers", s.cluster.brokers)
    } else {
        "external".to_string()
    };
    let _ = writeln!(
        out,
        "  broker     {broker} at {}; {} ({} partitions{})",
        r.broker.bootstrap,
        match s.topic.count {
            1 => format!("topic {}", s.topic.name),
            n => format!("{n} topics {}", s.topic.name),
        },
        r.broker.partitions,
        if s.topic.count > 1 { " each" } else { "" }
    );
    if let Some(e) = &r.engine {
        let _ = writeln!(
            out,
            "  engine     {} ({}{})",
            e.name,
            e.client,
            e.toolchain
                .as_deref()
                .map_or(String::new(), |t| format!(", built with {t}"))
        );
    }
    let _ = writeln!(
        out,
        "  producer   {}, {} instance(s) x {} workers, acks={}, compression={}, linger={}, batch={}{}",
        p.mode,
        p.instances(),
        p.workers(),
        p.acks(),
        p.compression.as_rdkafka(),
        p.linger,
        p.batch_size,
        if p.idempotence { ", idempotent" } else { "" }
    );
    let stop = match (s.load.messages, s.load.duration) {
        (Some(n), _) => format!("{} messages", thousands(n)),
        (None, Some(d)) => format!("{d}"),
        (None, None) => "10s".into(),
    };
    let rate = if s.load.profile.is_empty() {
        format!("at {}, {stop}", s.load.rate)
    } else {
        let total: std::time::Duration = s.load.profile.iter().map(|p| p.duration.0).sum();
        format!(
            "in a profile of {} phases, {}",
            s.load.profile.len(),
            crate::units::Dur(total)
        )
    };
    let arrivals = match s.load.arrivals {
        crate::scenario::Arrivals::Poisson => ", poisson arrivals",
        crate::scenario::Arrivals::Uniform => "",
    };
    let _ = writeln!(
        out,
        "  load       {} messages {rate}{arrivals} measured after {} warm-up  [{status}]",
        s.message.size, s.load.warmup
    );
}

/// Throughput, the drain, the message accounting, topics, partitions, sizes, back-pressure.
fn counted(out: &mut String, r: &RunResult) {
    let mut tp = format!(
        "  throughput {} msg/s, {}/s over {:.2} s",
        Rate::human(r.throughput.msgs_per_sec),
        Bytes::human(r.throughput.bytes_per_sec),
        r.duration_s
    );
    if let (Some(t), Some(ratio)) = (r.target_rate, r.achieved_rate_ratio) {
        let _ = write!(
            tp,
            " (target {}/s, achieved {:.1}%)",
            Rate::human(t),
            ratio * 100.0
        );
    }
    let _ = writeln!(out, "{tp}");
    if let Some(d) = r.drain.filter(|d| d.messages > 0) {
        let _ = writeln!(
            out,
            "  drain      {} msgs acked in {:.2} s after the window ({} msg/s), not in the throughput",
            thousands(d.messages),
            d.s,
            Rate::human(d.msgs_per_sec)
        );
    }
    let _ = writeln!(out, "  messages   {}", accounting(&r.counts));
    if r.warmup_counts.sent > 0 {
        let _ = writeln!(
            out,
            "  warm-up    {} (excluded)",
            accounting(&r.warmup_counts)
        );
    }
    if let Some(line) = topics_line(r) {
        let _ = writeln!(out, "  topics     {line}");
    }
    if r.topics.is_empty() && r.partitions.len() > 1 && r.partitions.len() <= 16 {
        let list: Vec<String> = r
            .partitions
            .iter()
            .map(|p| format!("{}:{}", p.partition, thousands(p.messages)))
            .collect();
        let (lo, hi) = r.partitions.iter().fold((u64::MAX, 0), |(lo, hi), p| {
            (lo.min(p.messages), hi.max(p.messages))
        });
        let skew = if lo > 0 {
            format!("max/min {:.2}", hi as f64 / lo as f64)
        } else {
            "some empty".into()
        };
        let _ = writeln!(out, "  partitions {}  ({skew})", list.join("  "));
    }
    if let Some(line) = produced_line(r) {
        let _ = writeln!(out, "  produced   {line}");
    }
    if r.backpressure.queue_full > 0 {
        let _ = writeln!(
            out,
            "  backpressure  the local queue was full {} times (send retried)",
            thousands(r.backpressure.queue_full)
        );
    }
}

/// The latency streams, lower bounds of what did not make it included.
fn latency_table(out: &mut String, r: &RunResult) {
    let _ = writeln!(
        out,
        "  {:<10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "latency", "p50", "p90", "p99", "p99.9", "max", "mean"
    );
    let l = &r.latency_us;
    if r.spec.producer.mode == crate::scenario::Mode::Sync {
        // A closed loop: service latency is the round trip each worker waits for; corrected is
        // from the open-loop schedule's arrival to the ack, through the W sync callers.
        latency_row(out, "service", &l.service);
        latency_row(out, "corrected", &l.corrected);
    } else {
        latency_row(out, "corrected", &l.corrected);
        latency_row(out, "service", &l.service);
    }
    latency_row(out, "send lag", &l.send_lag);
    // What did not make it stays in the picture: lower bounds, never hidden.
    if l.failed.count > 0 {
        latency_row(out, "failed >=", &l.failed);
    }
    if l.unsent.count > 0 {
        latency_row(out, "unsent >=", &l.unsent);
    }
    if l.commit.count > 0 {
        latency_row(out, "commit", &l.commit);
    }
    if r.consume.is_some() {
        latency_row(out, "e2e", &l.e2e);
        latency_row(out, "e2e serv.", &l.e2e_service);
    }
}

/// Read back, transactions, the librdkafka breakdown.
fn extras(out: &mut String, r: &RunResult) {
    if let Some(line) = read_back(r) {
        out.push_str(&line);
        out.push('\n');
    }
    if let Some(t) = r.transactions {
        let _ = writeln!(
            out,
            "  transactions committed {}, aborted {}, failed {}",
            thousands(t.committed),
            thousands(t.aborted),
            thousands(t.failed)
        );
        out.push('\n');
    }
    if let Some(b) = r.client.as_ref().and_then(|c| c.breakdown) {
        let part = |p: crate::result::client::Part| {
            format!("{} / {}", human_us(p.p50 as f64), human_us(p.p99 as f64))
        };
        let _ = writeln!(
            out,
            "  breakdown  of service p50 / p99 (librdkafka): queue {}, output buffer {}, round trip {}{}",
            part(b.int_latency_us),
            part(b.outbuf_latency_us),
            part(b.rtt_us),
            if b.throttle_ms > 0 {
                format!(", throttled up to {} ms", b.throttle_ms)
            } else {
                String::new()
            }
        );
        out.push('\n');
    }
}

/// Loss, accounting errors, the phases.
fn trouble(out: &mut String, r: &RunResult) {
    if r.loss_rate > 0.0 {
        let _ = writeln!(
            out,
            "  LOSS       {:.3}% of the scheduled messages did not make it (failed + unresolved + unsent)",
            r.loss_rate * 100.0
        );
    }
    for e in r.events.iter().filter(|e| e.kind == EventKind::Accounting) {
        let _ = writeln!(out, "  ACCOUNTING ERROR: {}", e.detail);
    }
    if !r.phases.is_empty() {
        out.push_str(&phase_table(r));
        out.push('\n');
    }
}

/// Errors, faults, client events, the generator's cost, notes.
fn events(out: &mut String, r: &RunResult) {
    if r.errors.is_empty() {
        let _ = writeln!(out, "  errors     none");
    } else {
        let list: Vec<String> = r
            .errors
            .iter()
            .map(|(k, v)| format!("{k} x{}", thousands(*v)))
            .collect();
        let _ = writeln!(out, "  errors     {}", list.join(", "));
    }
    for e in r.events.iter().filter(|e| e.kind == EventKind::Fault) {
        let recovery = match e.recovery_s {
            Some(Some(s)) => format!(": recovered {s:.1} s after it began"),
            Some(None) => ": did not recover within the run".into(),
            None => String::new(),
        };
        let _ = writeln!(out, "  fault      {:.1}s {}{recovery}", e.t_s, e.detail);
    }
    let client_errors: Vec<_> = r
        .events
        .iter()
        .filter(|e| !matches!(e.kind, EventKind::Interrupted | EventKind::Fault))
        .collect();
    if !client_errors.is_empty() {
        let _ = writeln!(
            out,
            "  events     {} (see result.json), first: {} at {:.1}s",
            client_errors.len(),
            client_errors[0].detail,
            client_errors[0].t_s
        );
    }
    if let Some(cpu) = r.process.cpu_s {
        let _ = writeln!(
            out,
            "  generator  {cpu:.1} CPU-s, {} msg per CPU-s, peak RSS {}",
            r.process.msgs_per_cpu_s.map_or("-".into(), Rate::human),
            r.process
                .peak_rss_bytes
                .map_or("-".into(), |b| Bytes::human(b as f64))
        );
    }
    if let Some(e) = &r.engine {
        let _ = writeln!(
            out,
            "  engine     {} CPU-s over its processes, peak RSS {} (the generator line is kbench's own)",
            e.cpu_s.map_or("-".into(), |c| format!("{c:.1}")),
            e.peak_rss_bytes
                .map_or("-".into(), |b| Bytes::human(b as f64))
        );
    }
    for n in &r.notes {
        let _ = writeln!(out, "  note: {n}");
    }
}

/// Sizes and keys, when they vary (a fixed size without keys says nothing new).
fn produced_line(r: &RunResult) -> Option<String> {
    let p = r.produced.as_ref()?;
    let s = &p.size_bytes;
    let mut parts = Vec::new();
    let varies = r.spec.message.size.fixed().is_none() || r.spec.message.payload.is_some();
    if s.count > 0 && varies {
        parts.push(format!(
            "sizes p50 {}, p99 {}, max {}, mean {}",
            Bytes::human(s.p50 as f64),
            Bytes::human(s.p99 as f64),
            Bytes::human(s.max as f64),
            Bytes::human(s.mean)
        ));
    }
    if let (Some(d), Some(c)) = (p.distinct_keys, p.key_cardinality) {
        parts.push(format!(
            "{} distinct keys of {}",
            thousands(d),
            thousands(c)
        ));
    }
    if p.header_bytes > 0 {
        parts.push(format!(
            "{} of headers each",
            Bytes::human(p.header_bytes as f64)
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// One row per phase of a rate profile: target, achieved, latency.
pub fn phase_table(r: &RunResult) -> String {
    let mut rows = vec![[
        "phase",
        "window",
        "target",
        "sent/s",
        "acked/s (of target)",
        "sent",
        "p50",
        "p99",
        "max",
    ]
    .map(String::from)
    .to_vec()];
    for p in &r.phases {
        let target = if p.target_rate_start == p.target_rate_end {
            format!("{}/s", Rate::human(p.target_rate_start))
        } else {
            format!(
                "{}→{}/s",
                Rate::human(p.target_rate_start),
                Rate::human(p.target_rate_end)
            )
        };
        let l = &p.latency_us;
        rows.push(vec![
            p.name.clone(),
            format!("{:.0}-{:.0}s", p.start_s, p.end_s),
            target,
            format!("{}/s", Rate::human(p.achieved_rate)),
            format!(
                "{}/s ({:.1}%)",
                Rate::human(p.acked_rate),
                p.achieved_rate_ratio * 100.0
            ),
            thousands(p.sent),
            human_us(l.p50 as f64),
            human_us(l.p99 as f64),
            human_us(l.max as f64),
        ]);
    }
    columns(&rows, 0, "  ")
}
