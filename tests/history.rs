//! The run history: gates judged against it (the bootstrap test on synthetic results with known
//! spreads), and the SQLite file end to end through the binary (concurrent writers, a file that
//! is not a history, list and show).

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::literal;
use kbench::gate::{judge_with, GateSpec, Test, Verdict};
use kbench::result::RunResult;

fn allowances(baseline: &[(&str, &str)]) -> GateSpec {
    GateSpec {
        baseline: baseline
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..GateSpec::default()
    }
}

fn with(throughput: f64, p99_us: u64) -> RunResult {
    let mut r = literal(&(1..=4000).collect::<Vec<u64>>(), 4, 0);
    r.spec.load.duration = None;
    r.throughput.msgs_per_sec = throughput;
    r.latency_us.corrected.p99 = p99_us;
    r
}

fn check(
    current: &[RunResult],
    history: &[RunResult],
    g: &GateSpec,
    metric: &str,
) -> (Verdict, String) {
    let rep = judge_with(current, history, g, Test::Bootstrap).unwrap();
    let c = rep.checks.iter().find(|c| c.metric.name == metric).unwrap();
    (c.verdict, c.detail.clone())
}

#[test]
fn a_real_drop_is_called_and_a_change_inside_the_spread_is_not() {
    let g = allowances(&[("throughput", "-5%")]);
    let history: Vec<RunResult> = [1000.0, 1030.0, 970.0, 1010.0, 990.0]
        .map(|t| with(t, 4000))
        .to_vec();
    // 20% lower, 5 repeats a side: called, with the band and the interval in the detail.
    let current: Vec<RunResult> = [800.0, 824.0, 776.0, 808.0, 792.0]
        .map(|t| with(t, 4000))
        .to_vec();
    let (v, detail) = check(&current, &history, &g, "throughput");
    assert_eq!(v, Verdict::Fail, "{detail}");
    assert!(
        detail.contains("history band") && detail.contains("bootstrap interval"),
        "{detail}"
    );
    // 2% lower, inside the ±3% run-to-run spread: beyond a 1% allowance, yet not called.
    let tight = allowances(&[("throughput", "-1%")]);
    let current: Vec<RunResult> = [980.0, 1010.0, 950.0, 990.0, 970.0]
        .map(|t| with(t, 4000))
        .to_vec();
    let (v, detail) = check(&current, &history, &tight, "throughput");
    assert_eq!(v, Verdict::Pass, "{detail}");
    assert!(detail.contains("not called a regression"), "{detail}");
}

#[test]
fn a_p99_rise_against_three_runs_is_called_only_when_the_test_says_so() {
    let g = allowances(&[("p99", "+10%")]);
    // One current run 30% above a tight history: outside anything its median could be.
    let tight: Vec<RunResult> = [10_000, 11_000, 12_000].map(|p| with(1000.0, p)).to_vec();
    let (v, detail) = check(&[with(1000.0, 14_300)], &tight, &g, "p99");
    assert_eq!(v, Verdict::Fail, "{detail}");
    // The same rise against a history that spreads from 8 to 16 ms: not significant.
    let wide: Vec<RunResult> = [8_000, 11_000, 16_000].map(|p| with(1000.0, p)).to_vec();
    let (v, detail) = check(&[with(1000.0, 14_300)], &wide, &g, "p99");
    assert_eq!(v, Verdict::Pass, "{detail}");
    assert!(detail.contains("+30.0%"), "{detail}");
}

fn kbench(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("kbench").unwrap();
    c.current_dir(dir)
        .env("KBENCH_BRANCH", "main")
        .env_remove("KBENCH_HISTORY")
        .timeout(std::time::Duration::from_secs(120));
    c
}

const RUN: [&str; 7] = [
    "run",
    "--set",
    "load.rate=400/s",
    "--set",
    "load.duration=1s",
    "--no-charts",
    "--quiet",
];

fn results_in(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("out"))
        .map(|d| {
            d.filter(|e| e.as_ref().unwrap().path().join("result.json").is_file())
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn two_runs_writing_one_history_at_once_both_land() {
    let dir = tempfile::tempdir().unwrap();
    let spawn = || {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("kbench"));
        c.current_dir(dir.path())
            .env("KBENCH_BRANCH", "main")
            .args(RUN)
            .args(["--out", "out", "--history", "h.db"]);
        c.spawn().unwrap()
    };
    let (mut a, mut b) = (spawn(), spawn());
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    assert_eq!(results_in(dir.path()), 2);
    let out = kbench(dir.path())
        .args(["history", "list", "h.db"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    let rows = list
        .lines()
        .filter(|l| l.contains(" main ") && l.contains(" yes "));
    assert_eq!(rows.count(), 2, "{list}");
    // Each row holds its whole result, readable as one.
    for id in ["1", "2"] {
        let out = kbench(dir.path())
            .args(["history", "show", "h.db", id])
            .output()
            .unwrap();
        let r: RunResult = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r.counts.acked, 400, "run {id}");
    }
}

#[test]
fn a_file_that_is_not_a_history_is_exit_2_and_the_result_is_still_written() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("notes.db"),
        "not a database at all, just text\n".repeat(100),
    )
    .unwrap();
    let other = rusqlite::Connection::open(dir.path().join("other.db")).unwrap();
    other.execute_batch("CREATE TABLE t (x INTEGER);").unwrap();
    drop(other);
    for file in ["notes.db", "other.db"] {
        let out = kbench(dir.path())
            .args(RUN)
            .args(["--out", "out", "--history", file])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert!(
            err.contains(file) && err.contains("not a kbench history"),
            "{err}"
        );
    }
    // Both runs wrote their result; the text file is left as it was.
    assert_eq!(results_in(dir.path()), 2);
    let notes = std::fs::read_to_string(dir.path().join("notes.db")).unwrap();
    assert!(notes.starts_with("not a database"));
}

#[test]
fn a_newer_schema_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    kbench::history::History::open(&path).unwrap();
    let c = rusqlite::Connection::open(&path).unwrap();
    c.pragma_update(None, "user_version", 99).unwrap();
    drop(c);
    let out = kbench(dir.path())
        .args(["history", "list", "h.db"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("h.db") && err.contains("schema 99 is newer"),
        "{err}"
    );
}

#[test]
fn a_run_is_judged_against_the_history_before_it_joins_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let out = kbench(dir.path())
            .args(RUN.iter().filter(|a| **a != "--quiet"))
            .args(["--out", "out", "--history", "h.db"])
            .args(extra)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        (out.status.code(), text)
    };
    for n in 0..3 {
        let (code, text) = run(&[]);
        assert_eq!(code, Some(0), "{text}");
        assert!(
            text.contains(&format!("too little history: {n} comparable run")),
            "{text}"
        );
    }
    let (code, text) = run(&[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("judged against the last 3 comparable runs on main"),
        "{text}"
    );
    assert!(
        text.contains("history band") && text.contains("seed 42"),
        "{text}"
    );
    // Another branch has no history of its own; another scenario is not comparable.
    let (_, text) = run(&["--branch", "release"]);
    assert!(text.contains("0 comparable runs on release"), "{text}");
    let (_, text) = run(&["--set", "message.size=200B"]);
    assert!(text.contains("0 comparable runs on main"), "{text}");
    // `kbench gate` of a saved result judges it against the others (not itself), without
    // adding it again: run 1 against runs 2 to 5 (the "release" run was stored as main's).
    let mut saved: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    saved.sort();
    let out = kbench(dir.path())
        .arg("gate")
        .arg(&saved[0])
        .args(["--history", "h.db"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("judged against the last 4 comparable runs"),
        "{text}"
    );
    let out = kbench(dir.path())
        .args(["history", "list", "h.db"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches(" yes ")
            .count(),
        6
    );
}

/// `--repeat 5` on the embedded broker: one result holding every repeat, each figure's median
/// with an interval inside the repeats' own range, the method and seed written, and each repeat's
/// own result beside it.
#[test]
fn repeats_write_one_result_with_intervals_inside_their_range() {
    let dir = tempfile::tempdir().unwrap();
    let out = kbench(dir.path())
        .args([
            "run",
            "--repeat",
            "5",
            "--json",
            "--no-charts",
            "--out",
            "out",
        ])
        .args(["--set", "load.rate=400/s", "--set", "load.duration=1s"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: RunResult = serde_json::from_slice(&out.stdout).unwrap();
    let rep = r.repeats.as_ref().expect("the repeats");
    assert_eq!(rep.runs.len(), 5);
    assert_eq!((rep.seed, rep.resamples), (42, 2000));
    assert!(rep.method.contains("bootstrap"), "{}", rep.method);
    let figures: [(&kbench::stats::Interval, Vec<f64>); 5] = [
        (
            &rep.throughput,
            rep.runs.iter().map(|f| f.msgs_per_sec).collect(),
        ),
        (
            &rep.p50_us,
            rep.runs.iter().map(|f| f.p50_us as f64).collect(),
        ),
        (
            &rep.p90_us,
            rep.runs.iter().map(|f| f.p90_us as f64).collect(),
        ),
        (
            &rep.p99_us,
            rep.runs.iter().map(|f| f.p99_us as f64).collect(),
        ),
        (
            &rep.p999_us,
            rep.runs.iter().map(|f| f.p999_us as f64).collect(),
        ),
    ];
    for (i, values) in figures {
        let lo = values.iter().cloned().fold(f64::MAX, f64::min);
        let hi = values.iter().cloned().fold(f64::MIN, f64::max);
        assert!(
            lo <= i.low && i.low <= i.median && i.median <= i.high && i.high <= hi,
            "{i:?} outside {lo}..{hi}"
        );
    }
    // The body is the representative repeat's own result.
    let k = rep.representative as usize;
    let base = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let own = RunResult::read(&base.join(format!("repeat-{k}/result.json"))).unwrap();
    assert_eq!(own.throughput, r.throughput);
    assert_eq!(own.counts, r.counts);
    for f in &rep.runs {
        assert!(base.join(&f.dir).join("result.json").is_file(), "{}", f.dir);
        assert!(f.valid && f.acked == 400, "{f:?}");
    }
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schemas/result.v3.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let value = serde_json::to_value(&r).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // report.html carries the repeats' table too.
    let page = dir.path().join("page");
    std::fs::create_dir_all(&page).unwrap();
    kbench::report::write_run_report(&r, &page).unwrap();
    let html = std::fs::read_to_string(page.join("report.html")).unwrap();
    assert!(
        html.contains("<h2>Repeats</h2>") && html.contains("repeat-5"),
        "no repeats table"
    );
    // Repeats of a sweep or zero repeats are refused by name.
    let out = kbench(dir.path())
        .args(["run", "--repeat", "0", "--out", "out"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("load.repeats"));
    let out = kbench(dir.path())
        .args(["run", "--repeat", "2", "--shard", "0/2", "--out", "out"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("load.repeats"));
    // A shard holds part of the load: it is not recorded in a history.
    let out = kbench(dir.path())
        .args([
            "run",
            "--rate",
            "100/s",
            "--shard",
            "0/2",
            "--history",
            "h.db",
        ])
        .args(["--out", "out"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("history") && err.contains("shards"), "{err}");
    assert!(!dir.path().join("h.db").exists());
}

/// A gate judges a result with repeats by the repeats' medians, not by the representative's
/// own figures, and a loss in any repeat fails it.
#[test]
fn a_gate_judges_repeats_by_their_medians_and_sees_a_loss_in_any() {
    let repeats = |lossy: bool| {
        let mut runs: Vec<(RunResult, String)> = [(1000.0, 4_000), (900.0, 6_000), (1100.0, 6_000)]
            .into_iter()
            .enumerate()
            .map(|(i, (t, p))| (with(t, p), format!("repeat-{}", i + 1)))
            .collect();
        if lossy {
            let r = &mut runs[2].0;
            (r.counts.acked, r.counts.failed) = (r.counts.acked - 5, 5);
            r.loss_rate = 5.0 / r.counts.sent as f64;
        }
        kbench::result::repeats::combine(runs)
    };
    let r = repeats(false);
    assert_eq!(
        r.latency_us.corrected.p99, 4_000,
        "the representative's own p99"
    );
    let g = GateSpec {
        thresholds: [("p99".to_string(), "<= 5ms".to_string())].into(),
        ..GateSpec::default()
    };
    let rep = judge_with(&[r], &[], &g, Test::Separated).unwrap();
    assert_eq!(
        rep.verdict,
        Verdict::Fail,
        "the median p99 of the repeats is 6 ms"
    );
    assert_eq!(rep.runs, 3);
    let lenient = GateSpec::default();
    let rep = judge_with(&[repeats(true)], &[], &lenient, Test::Separated).unwrap();
    let loss = rep
        .checks
        .iter()
        .find(|c| c.metric.name == "loss_rate")
        .unwrap();
    assert_eq!(loss.verdict, Verdict::Fail, "{}", loss.detail);
}

/// A version-1 history (before repeats' intervals) is migrated when opened: its runs stay, and
/// new runs land with their intervals.
#[test]
fn an_older_history_is_migrated_and_keeps_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let p = kbench::history::Provenance {
        branch: Some("main".into()),
        cpus: 2,
        ..Default::default()
    };
    kbench::history::History::open(&path)
        .unwrap()
        .append(&with(1000.0, 4000), &p)
        .unwrap();
    // Back to version 1's shape.
    let c = rusqlite::Connection::open(&path).unwrap();
    for col in ["throughput", "p50", "p99"] {
        for end in ["low", "high"] {
            c.execute_batch(&format!("ALTER TABLE runs DROP COLUMN {col}_{end};"))
                .unwrap();
        }
    }
    c.pragma_update(None, "user_version", 1).unwrap();
    drop(c);
    let mut h = kbench::history::History::open(&path).unwrap();
    let mut r = with(1000.0, 4000);
    r.repeats = Some(
        kbench::result::repeats::combine(vec![
            (with(990.0, 4000), "repeat-1".into()),
            (with(1010.0, 4100), "repeat-2".into()),
        ])
        .repeats
        .unwrap(),
    );
    h.append(&r, &p).unwrap();
    let rows = h.list(None, 10).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].throughput_interval, None, "the old run has none");
    let (lo, hi) = rows[0].throughput_interval.expect("the new run's interval");
    assert!(990.0 <= lo && lo <= hi && hi <= 1010.0, "{lo}..{hi}");
    let c = rusqlite::Connection::open(&path).unwrap();
    let v: i32 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, kbench::history::SCHEMA_VERSION);
}
