//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod kafka;
pub mod tansu;

use std::path::{Path, PathBuf};

use kbench::recorder::hist::{self, LatencyStats};
use kbench::result::*;
use kbench::scenario::Acks;
use kbench::scenario::{Format, Scenario};
use kbench::signal::Interrupts;
use kbench::RunHow;

/// N different free loopback ports: all bound until every one is chosen, then released (one at a
/// time, the kernel may hand out the same port twice).
pub fn free_ports<const N: usize>() -> [u16; N] {
    let bound: [std::net::TcpListener; N] =
        std::array::from_fn(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap());
    bound.map(|l| l.local_addr().unwrap().port())
}

/// Says that a test could not run, where a person sees it: libtest captures `eprintln!` of passing
/// tests, not writes to the stderr handle itself.
pub fn skipped(test: &str, why: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "skipped: {test}: {why}");
}

/// A scenario from TOML text plus `--set` overrides, through the CLI's loader (every check).
pub fn scenario(toml: &str, overrides: &[&str]) -> Scenario {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let origin = kbench::plan::Origin::Text {
        path: Path::new("test.toml"),
        text: toml,
        format: Format::Toml,
    };
    kbench::plan::load(origin, &overrides, None)
        .unwrap_or_else(|e| panic!("test scenario is invalid: {e}"))
        .scenario()
}

pub fn info(s: &Scenario) -> ScenarioInfo {
    ScenarioInfo {
        name: s.name.clone(),
        file: None,
        description: s.description.clone(),
        overrides: vec![],
    }
}

/// Runs a scenario on a fresh runtime, writing into `out`.
pub fn run_in(
    s: &Scenario,
    out: &Path,
    interrupts: Interrupts,
) -> anyhow::Result<(RunResult, PathBuf)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("test runtime");
    rt.block_on(kbench::run_one(s, RunHow::under(out, info(s), &interrupts)))
}

/// Runs a scenario like [`run_in`], handing its live counters to `watch` when the load starts.
pub fn run_watched(
    s: &Scenario,
    out: &Path,
    interrupts: Interrupts,
    watch: impl FnOnce(kbench::run::Live) + Send,
) -> anyhow::Result<(RunResult, PathBuf)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("test runtime");
    let how = RunHow {
        on_start: Some(Box::new(watch)),
        ..RunHow::under(out, info(s), &interrupts)
    };
    rt.block_on(kbench::run_one(s, how))
}

/// The acks of the intervals inside the measured window `[warmup, warmup + duration)`, per
/// second of it: what the throughput of a run by duration must equal.
pub fn interval_rate(r: &RunResult) -> f64 {
    let end = r.warmup_s + r.duration_s;
    let acked: u64 = r
        .intervals
        .iter()
        .filter(|i| i.t_s + 1e-9 >= r.warmup_s && i.t_s + 1e-9 < end)
        .map(|i| i.acked)
        .sum();
    acked as f64 / r.duration_s
}

/// Runs a scenario that must succeed; returns its result.
pub fn run(s: &Scenario) -> RunResult {
    let dir = tempfile::tempdir().expect("tempdir");
    let (r, path) = run_in(s, dir.path(), Interrupts::none()).expect("run succeeds");
    let back = RunResult::read(&path.join("result.json")).expect("result.json reads back");
    assert_eq!(back, r, "the written result equals the returned one");
    r
}

/// The result matches `schemas/result.v3.json` (every error listed on failure).
pub fn assert_schema(r: &RunResult) {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../schemas/result.v3.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema itself is valid");
    let value = serde_json::to_value(r).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

/// The accounting identity for measured and warm-up messages.
pub fn assert_accounted(r: &RunResult) {
    for c in [&r.counts, &r.warmup_counts] {
        assert_eq!(
            c.sent,
            c.acked + c.failed + c.unresolved + c.aborted,
            "sent = acked + failed + unresolved + aborted: {c:?}"
        );
        if let Some(n) = c.scheduled {
            assert_eq!(n, c.sent + c.unsent, "scheduled = sent + unsent: {c:?}");
        }
        assert_eq!(
            c.unresolved,
            c.unresolved_by.queued + c.unresolved_by.in_flight,
            "unresolved by where it was: {c:?}"
        );
    }
    let failed: u64 = r.errors.values().sum();
    assert_eq!(failed, r.counts.failed, "errors by kind add up to failed");
    // Nothing that did not make it is missing from the latency picture.
    let c = &r.counts;
    assert_eq!(r.latency_us.failed.count, c.failed + c.unresolved);
    // Unsent messages that were already due have a lateness; the rest of a count cut short by
    // load.timeout was never due.
    assert!(r.latency_us.unsent.count <= c.unsent);
    if r.spec.load.messages.is_none() {
        assert_eq!(r.latency_us.unsent.count, c.unsent);
    }
    let lost = (c.failed + c.unresolved + c.unsent) as f64;
    let expected = lost / c.scheduled.unwrap_or(c.sent).max(1) as f64;
    assert!(
        (r.loss_rate - expected).abs() < 1e-6,
        "loss_rate {} vs {expected}",
        r.loss_rate
    );
    assert!(
        !r.events
            .iter()
            .any(|e| e.kind == kbench::event::EventKind::Accounting),
        "{:?}",
        r.events
    );
}

/// A result with the given corrected latencies (µs), `intervals` one-second intervals and
/// `failed` failures.
pub fn literal(latencies: &[u64], intervals: usize, failed: u64) -> RunResult {
    let mut h = hist::new_hist();
    for &us in latencies {
        hist::record(&mut h, us);
    }
    let stats = LatencyStats::of(&h);
    // Failed messages waited for librdkafka's 30 s message timeout.
    let mut failed_hist = hist::new_hist();
    for _ in 0..failed {
        hist::record(&mut failed_hist, 30_000_000);
    }
    let acked = latencies.len() as u64;
    let per = (acked / intervals.max(1) as u64).max(1);
    let mut spec = Scenario::default();
    spec.producer.acks = Some(Acks::Leader);
    spec.producer.workers = Some(2);
    RunResult {
        schema: SCHEMA.into(),
        kbench_version: "test".into(),
        status: Status::Completed,
        scenario: ScenarioInfo {
            name: "lit".into(),
            file: None,
            description: "literal".into(),
            overrides: vec![],
        },
        spec,
        started_at: "2026-11-21T00:00:00Z".into(),
        duration_s: intervals as f64,
        drain: Some(kbench::result::Drain::default()),
        warmup_s: if intervals > 2 { 1.0 } else { 0.0 },
        wall_s: intervals as f64,
        broker: BrokerInfo {
            kind: kbench::result::BrokerKind::Embedded,
            bootstrap: "127.0.0.1:1".into(),
            partitions: 6,
            librdkafka: "2.12.1".into(),
        },
        counts: Counts {
            scheduled: Some(acked + failed),
            sent: acked + failed,
            unsent: 0,
            acked,
            failed,
            unresolved: 0,
            unresolved_by: Default::default(),
            ..Counts::default()
        },
        loss_rate: if failed > 0 {
            failed as f64 / (acked + failed) as f64
        } else {
            0.0
        },
        warmup_counts: Counts::default(),
        errors: if failed > 0 {
            [("_MSG_TIMED_OUT".to_string(), failed)].into()
        } else {
            Default::default()
        },
        backpressure: Backpressure::default(),
        throughput: Throughput {
            msgs_per_sec: acked as f64 / intervals.max(1) as f64,
            bytes_per_sec: 100.0 * acked as f64 / intervals.max(1) as f64,
        },
        target_rate: Some(1000.0),
        achieved_rate_ratio: Some(0.99),
        latency_us: Streams {
            corrected: stats,
            service: stats,
            send_lag: LatencyStats::default(),
            failed: LatencyStats::of(&failed_hist),
            unsent: LatencyStats::default(),
            commit: LatencyStats::default(),
            ..Streams::default()
        },
        histograms: Streams {
            corrected: hist::encode(&h),
            service: hist::encode(&h),
            send_lag: hist::encode(&hist::new_hist()),
            failed: hist::encode(&failed_hist),
            unsent: hist::encode(&hist::new_hist()),
            commit: hist::encode(&hist::new_hist()),
            e2e: hist::encode(&hist::new_hist()),
            e2e_service: hist::encode(&hist::new_hist()),
        },
        clamped_samples: 0,
        t0_unix_ms: 1_790_000_000_000,
        shard: None,
        merge: None,
        landed_messages: None,
        partitions: vec![],
        produced: None,
        phases: vec![],
        transactions: None,
        consume: None,
        topics: vec![],
        client: None,
        client_properties: Default::default(),
        engine: None,
        intervals: (0..intervals)
            .map(|i| Interval {
                t_s: i as f64,
                sent: per,
                acked: if latencies.is_empty() { 0 } else { per },
                failed: failed / intervals.max(1) as u64,
                bytes: per * 100,
                p50_us: stats.p50,
                p99_us: stats.p99,
                max_us: stats.max,
                hist: None,
                service_hist: None,
                send_lag_hist: None,
                client: None,
                ..Interval::default()
            })
            .collect(),
        events: vec![Event {
            t_s: 0.5,
            kind: kbench::event::EventKind::ClientError,
            detail: "a <tagged> & quoted \"event\"".into(),
            repeats: 2,
            recovery_s: None,
        }],
        notes: vec!["a note".into()],
        process: ProcessStats::default(),
        repeats: None,
    }
}

/// Whether Go is here, so an engine builds; a skip message otherwise, and a failure when
/// KBENCH_REQUIRE_ENGINES=1 (the README's test command).
pub fn engines_buildable() -> bool {
    let has = |cmd: &str, arg: &str| {
        std::process::Command::new(cmd)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    // Go builds sarama's and franz-go's engines; Maven and Java the Java producer's.
    let ok = has("go", "version") && has("mvn", "-v") && has("java", "-version");
    if !ok {
        assert!(
            std::env::var("KBENCH_REQUIRE_ENGINES").map_or(true, |v| v != "1"),
            "Go, Maven and Java are required for the engine tests"
        );
        skipped(
            "engines",
            "Go, Maven or Java is not installed (KBENCH_REQUIRE_ENGINES=1 makes this a failure)",
        );
    }
    ok
}

/// The row of `key` in comparison.md's client settings table (`md`: the whole file).
pub fn settings_row(md: &str, key: &str) -> String {
    let settings = md
        .split("## Client settings")
        .nth(1)
        .expect("a settings table");
    settings
        .lines()
        .find(|l| l.starts_with(&format!("| {key} |")))
        .unwrap_or_else(|| panic!("no {key} row: {settings}"))
        .to_string()
}
