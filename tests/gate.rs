//! CI gates: verdicts from literal results, outputs, and exit codes end to end.

mod common;

use std::time::Duration;

use assert_cmd::Command;
use common::literal;
use kbench::gate::{self, judge, Allowance, GateSpec, Threshold, Verdict};
use kbench::report::gate as output;
use kbench::result::{RunResult, Status};

fn spec(thresholds: &[(&str, &str)], baseline: &[(&str, &str)]) -> GateSpec {
    GateSpec {
        thresholds: thresholds
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        baseline: baseline
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..GateSpec::default()
    }
}

/// A healthy run: p99 around 4 ms, 1000 msg/s target, no errors.
fn healthy() -> RunResult {
    let mut r = literal(&(1..=4000).collect::<Vec<u64>>(), 4, 0);
    r.spec.load.duration = None;
    r
}

fn verdict_of(r: &kbench::gate::GateReport, metric: &str) -> Verdict {
    r.checks
        .iter()
        .find(|c| c.metric.name == metric)
        .unwrap()
        .verdict
}

#[test]
fn thresholds_pass_and_fail_per_metric() {
    let r = healthy();
    let g = spec(
        &[
            ("p99", "<= 5ms"),
            ("service.p50", "<= 1ms"),
            ("throughput", ">= 900/s"),
            ("error_rate", "<= 0.1%"),
            ("achieved_rate_ratio", ">= 0.98"),
        ],
        &[],
    );
    let rep = judge(std::slice::from_ref(&r), &[], &g).unwrap();
    assert_eq!(rep.verdict, Verdict::Fail, "{:#?}", rep.checks);
    assert_eq!(verdict_of(&rep, "p99"), Verdict::Pass);
    assert_eq!(verdict_of(&rep, "service.p50"), Verdict::Fail); // p50 is 2 ms
    assert_eq!(verdict_of(&rep, "throughput"), Verdict::Pass);
    assert_eq!(verdict_of(&rep, "error_rate"), Verdict::Pass);
    assert_eq!(verdict_of(&rep, "achieved_rate_ratio"), Verdict::Pass);
    let detail = &rep
        .checks
        .iter()
        .find(|c| c.metric.name == "service.p50")
        .unwrap()
        .detail;
    assert!(
        detail.contains("breaks <= 1ms") && detail.contains("by 1.00 ms"),
        "{detail}"
    );

    let mut failing = r.clone();
    failing.counts.failed = 10;
    failing.throughput.msgs_per_sec = 500.0;
    failing.achieved_rate_ratio = Some(0.5);
    let rep = judge(&[failing], &[], &g).unwrap();
    for m in ["throughput", "error_rate", "achieved_rate_ratio"] {
        assert_eq!(verdict_of(&rep, m), Verdict::Fail, "{m}");
    }
    let lenient = spec(&[("p99", "<= 1s")], &[]);
    assert_eq!(judge(&[r], &[], &lenient).unwrap().verdict, Verdict::Pass);
}

#[test]
fn a_generator_that_fell_behind_makes_the_run_invalid() {
    let g = spec(&[("p99", "<= 1s")], &[]);
    let mut lagging = healthy();
    lagging.latency_us.send_lag.count = 100;
    lagging.latency_us.send_lag.p99 = 50_000;
    let rep = judge(&[lagging.clone()], &[], &g).unwrap();
    assert_eq!(rep.verdict, Verdict::Invalid);
    assert!(rep.invalid[0].contains("send-lag p99"), "{:?}", rep.invalid);
    // In sync mode the lag is the closed loop waiting for acks: the cluster set the pace.
    let mut sync = lagging.clone();
    sync.spec.producer.mode = kbench::scenario::Mode::Sync;
    assert_eq!(judge(&[sync], &[], &g).unwrap().verdict, Verdict::Pass);
    // A few QueueFull answers (0.3% of sends) do not excuse a late generator...
    lagging.backpressure.queue_full = 12;
    assert_eq!(
        judge(&[lagging.clone()], &[], &g).unwrap().verdict,
        Verdict::Invalid
    );
    // ...sustained back-pressure (10% of sends) means the cluster fell behind: a real result,
    // and the verdict says why the generator checks were not applied.
    lagging.backpressure.queue_full = 400;
    let rep = judge(&[lagging], &[], &g).unwrap();
    assert_eq!(rep.verdict, Verdict::Pass);
    assert!(
        rep.notes[0].contains("sustained back-pressure"),
        "{:?}",
        rep.notes
    );

    let mut short = healthy();
    short.spec.load.duration = Some(kbench::units::Dur::from_secs(4)); // 4000 scheduled
    short.counts.sent = 3000;
    let rep = judge(&[short], &[], &g).unwrap();
    assert_eq!(rep.verdict, Verdict::Invalid);
    assert!(rep.invalid[0].contains("75.0%"), "{:?}", rep.invalid);

    let mut interrupted = healthy();
    interrupted.status = Status::Interrupted;
    assert_eq!(
        judge(&[interrupted], &[], &g).unwrap().verdict,
        Verdict::Invalid
    );
}

#[test]
fn baseline_regressions_respect_allowances_and_spread() {
    let g = spec(&[], &[("throughput", "-5%"), ("p99", "+10%")]);
    let base = healthy();
    let mut slower = healthy();
    slower.throughput.msgs_per_sec = base.throughput.msgs_per_sec * 0.9;
    let rep = judge(
        std::slice::from_ref(&slower),
        std::slice::from_ref(&base),
        &g,
    )
    .unwrap();
    assert_eq!(rep.verdict, Verdict::Fail);
    assert_eq!(verdict_of(&rep, "throughput"), Verdict::Fail);
    let c = rep
        .checks
        .iter()
        .find(|c| c.metric.name == "throughput")
        .unwrap();
    assert!((c.delta.unwrap() + 0.10).abs() < 1e-9);
    assert_eq!(verdict_of(&rep, "p99"), Verdict::Pass);

    // Repeats: a 10% lower median, but the runs overlap the baseline runs: not a regression.
    let with_tp = |v: f64| {
        let mut r = healthy();
        r.throughput.msgs_per_sec = v;
        r
    };
    let current = [with_tp(880.0), with_tp(900.0), with_tp(1010.0)];
    let baseline = [with_tp(1000.0), with_tp(990.0), with_tp(1005.0)];
    let rep = judge(&current, &baseline, &g).unwrap();
    assert_eq!(verdict_of(&rep, "throughput"), Verdict::Pass);
    let tp = rep
        .checks
        .iter()
        .find(|c| c.metric.name == "throughput")
        .unwrap();
    assert!(tp.detail.contains("run-to-run spread"), "{}", tp.detail);
    // Separated: every current run below every baseline run.
    let current = [with_tp(880.0), with_tp(900.0), with_tp(910.0)];
    assert_eq!(
        verdict_of(&judge(&current, &baseline, &g).unwrap(), "throughput"),
        Verdict::Fail
    );
}

#[test]
fn a_missing_baseline_metric_fails_its_check() {
    let g = spec(&[], &[("achieved_rate_ratio", "-1%")]);
    let mut base = healthy();
    base.achieved_rate_ratio = None; // a rate = "max" baseline has no target
    let rep = judge(&[healthy()], &[base], &g).unwrap();
    assert_eq!(rep.verdict, Verdict::Fail);
    assert!(
        rep.checks[0].detail.contains("missing"),
        "{}",
        rep.checks[0].detail
    );
}

#[test]
fn conditions_parse_with_units_and_reject_nonsense() {
    assert_eq!(Threshold::parse("p99", "<= 25ms").unwrap().limit, 25_000.0);
    assert_eq!(
        Threshold::parse("throughput", ">= 19.5k/s").unwrap().limit,
        19_500.0
    );
    assert!((Threshold::parse("error_rate", "<= 0.1%").unwrap().limit - 0.001).abs() < 1e-12);
    assert!(Threshold::parse("p99", "25ms").is_err());
    assert!(Threshold::parse("p98", "<= 25ms").is_err());
    assert!(Threshold::parse("throughput", ">= fast").is_err());
    assert_eq!(
        Allowance::parse("throughput", "-5%").unwrap().max_worsening,
        0.05
    );
    assert!(
        Allowance::parse("throughput", "+5%").is_err(),
        "a throughput rise is no regression"
    );
    assert!(Allowance::parse("p99", "10%").is_err());
    assert!(gate::check_spec(&spec(&[("p99", "<= 1 parsec")], &[])).is_err());
}

#[test]
fn junit_and_markdown_describe_every_check() {
    let g = spec(&[("p99", "<= 1ms"), ("throughput", ">= 1/s")], &[]);
    let rep = judge(&[healthy()], &[], &g).unwrap();
    let xml = output::junit(&rep, "suite <&>");
    let doc = roxmltree::Document::parse(&xml).expect("JUnit XML parses");
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    // The two thresholds and the implicit no-loss check.
    assert_eq!(suite.attribute("tests"), Some("3"));
    assert_eq!(suite.attribute("failures"), Some("1"));
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .count(),
        3
    );
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count(),
        1
    );
    let md = output::markdown(&rep, "t");
    assert!(md.contains("| p99 |") && md.contains("FAIL"), "{md}");
}

// --- end to end -------------------------------------------------------------------------------

fn kbench() -> Command {
    Command::cargo_bin("kbench").unwrap()
}

const SHORT: &str =
    "name = \"g\"\n[producer]\nworkers = 2\n[load]\nrate = \"1000/s\"\nduration = \"2s\"\n";

#[test]
fn run_exit_codes_follow_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("g.toml");
    std::fs::write(&scenario, SHORT).unwrap();
    let run = |threshold: &str| {
        kbench()
            .arg("run")
            .arg(&scenario)
            .args(["--no-charts", "--out"])
            .arg(dir.path().join("out"))
            .args(["--set", &format!("gate.p99={threshold}")])
            .args(["--junit"])
            .arg(dir.path().join("j.xml"))
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap()
    };
    let out = run("<= 1us");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(99), "{stdout}");
    assert!(
        stdout.contains("FAIL: p99") && stdout.contains("breaks <= 1us"),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(dir.path().join("j.xml")).unwrap();
    assert!(roxmltree::Document::parse(&xml).is_ok());
    let out = run("<= 10s");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn gate_command_judges_saved_results() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, r: &RunResult| r.write(&dir.path().join(name)).unwrap();
    let mut base = healthy();
    base.throughput.msgs_per_sec *= 2.0; // a faster configuration
    let cur = write("cur", &healthy());
    let base_path = write("base", &base);
    let md = dir.path().join("summary.md");
    let step = dir.path().join("step.md");
    let out = kbench()
        .arg("gate")
        .arg(&cur)
        .arg("--baseline")
        .arg(&base_path)
        .arg("--summary")
        .arg(&md)
        .env("GITHUB_STEP_SUMMARY", &step)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(99), "{stdout}");
    assert!(
        stdout.contains("throughput") && stdout.contains("-50.0%"),
        "{stdout}"
    );
    assert!(std::fs::read_to_string(&md).unwrap().contains("FAIL"));
    assert!(std::fs::read_to_string(&step)
        .unwrap()
        .contains("kbench gate"));

    // Invalid run: exit 4.
    let mut lagging = healthy();
    lagging.latency_us.send_lag.count = 10;
    lagging.latency_us.send_lag.p99 = 1_000_000;
    let lag = write("lag", &lagging);
    let config = dir.path().join("gate.toml");
    std::fs::write(&config, "[gate]\np99 = \"<= 1s\"\n").unwrap();
    let out = kbench()
        .arg("gate")
        .arg(&lag)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // A baseline from another schema version: bad input, exit 2.
    let old = dir.path().join("old.json");
    std::fs::write(&old, "{\"schema\": \"kbench.result/v0\"}").unwrap();
    let out = kbench()
        .arg("gate")
        .arg(&cur)
        .arg("--baseline")
        .arg(&old)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported result schema"));

    // A bad gate in a scenario names the key and line.
    std::fs::write(&config, "[gate]\np99 = \"<= 1s\"\np98 = \"<= 2s\"\n").unwrap();
    let out = kbench()
        .arg("gate")
        .arg(&cur)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("gate.toml:3: gate.p98: unknown metric"),
        "{stderr}"
    );
}

#[test]
fn repeats_are_judged_together() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("r.toml");
    std::fs::write(
        &scenario,
        format!("{SHORT}[experiment]\nrepeat = 3\n[gate]\np99 = \"<= 1us\"\n")
            .replace("duration = \"2s\"", "duration = \"1s\""),
    )
    .unwrap();
    let out = kbench()
        .arg("run")
        .arg(&scenario)
        .args(["--no-charts", "--out"])
        .arg(dir.path().join("out"))
        .timeout(Duration::from_secs(90))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(99), "{stdout}");
    assert!(
        stdout.contains("(3 runs)"),
        "the median of three repeats was judged: {stdout}"
    );
    // A gate on a matrix sweep is refused: it would judge a mix of configurations.
    std::fs::write(
        &scenario,
        format!(
            "{SHORT}[matrix]\n\"producer.linger\" = [\"0ms\", \"1ms\"]\n[gate]\np99 = \"<= 1s\"\n"
        ),
    )
    .unwrap();
    let out = kbench().arg("run").arg(&scenario).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a [matrix] sweep"));
}
