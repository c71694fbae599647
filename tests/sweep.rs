//! Sweeps end to end on the embedded broker: a 2x2 matrix gives four results, a summary and a
//! comparison; --resume skips finished runs; big plans need --yes.

mod common;

use std::time::Duration;

use assert_cmd::Command;

const SWEEP: &str = r#"
name = "sw"
[topic]
name = "sw"
partitions = 3
[producer]
workers = 1
[load]
rate = "500/s"
duration = "1s"
[matrix]
"producer.linger" = ["0ms", "5ms"]
"message.size" = ["100B", "1KiB"]
[experiment]
slo_p99 = "1s"
"#;

fn kbench() -> Command {
    Command::cargo_bin("kbench").unwrap()
}

#[test]
fn a_2x2_sweep_writes_four_results_a_summary_and_a_comparison() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("sw.toml");
    std::fs::write(&scenario, SWEEP).unwrap();
    let out = dir.path().join("out");
    let run = kbench()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let sweep = std::fs::read_dir(&out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(sweep
        .file_name()
        .unwrap()
        .to_string_lossy()
        .ends_with("-sw-sweep"));
    let runs: Vec<_> = std::fs::read_dir(&sweep)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("result.json").exists())
        .collect();
    assert_eq!(runs.len(), 4);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sweep.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["schema"], "kbench.sweep/v1");
    assert_eq!(summary["runs_done"], 4);
    assert_eq!(summary["complete"], true);
    let cells = summary["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4);
    for c in cells {
        assert_eq!(c["vars"].as_object().unwrap().len(), 2);
        assert!(c["throughput"]["median"].as_f64().unwrap() > 0.0);
        assert_eq!(c["within_slo"], true);
        // 1 s at 500/s: the schedule fixes what each run sent, on any machine.
        for run in c["runs"].as_array().unwrap() {
            let r = kbench::result::RunResult::read(std::path::Path::new(run.as_str().unwrap()))
                .unwrap();
            assert_eq!((r.counts.sent, r.counts.acked), (500, 500), "{run}");
        }
    }
    assert_eq!(summary["ranking"].as_array().unwrap().len(), 4);
    for f in [
        "ranking.md",
        "comparison.md",
        "report.html",
        "compare-scatter.png",
        "compare-spectrum.svg",
        "compare-bars.png",
        "effect-producer-linger.png",
        "effect-message-size.svg",
        "plan.json",
    ] {
        assert!(sweep.join(f).exists(), "{f}");
    }
    let ranking = std::fs::read_to_string(sweep.join("ranking.md")).unwrap();
    assert!(
        ranking.contains("best throughput with p99 under 1.00 s"),
        "{ranking}"
    );
    assert!(ranking.contains("linger=5ms"), "{ranking}");
    assert!(stdout.contains("rank"), "{stdout}");

    // --resume on a finished sweep runs nothing again.
    let again = kbench()
        .arg("run")
        .arg(&scenario)
        .arg("--resume")
        .arg(&sweep)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.matches("done already").count(), 4, "{stdout}");

    // Resuming with another plan is refused.
    let other = kbench()
        .arg("run")
        .arg(&scenario)
        .args(["--set", "producer.linger=1ms", "--resume"])
        .arg(&sweep)
        .output()
        .unwrap();
    assert_eq!(other.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&other.stderr).contains("another plan"));
}

#[test]
fn resume_runs_only_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("sw.toml");
    std::fs::write(
        &scenario,
        SWEEP.replace("\"message.size\" = [\"100B\", \"1KiB\"]\n", ""),
    )
    .unwrap();
    let sweep = dir.path().join("sweep");
    let first = kbench()
        .arg("run")
        .arg(&scenario)
        .arg("--no-charts")
        .arg("--resume")
        .arg(&sweep)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // Lose one run, as a crash would.
    let lost = std::fs::read_dir(&sweep)
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().starts_with("run-002"))
        .unwrap()
        .path();
    std::fs::remove_file(lost.join("result.json")).unwrap();
    let again = kbench()
        .arg("run")
        .arg(&scenario)
        .arg("--no-charts")
        .arg("--resume")
        .arg(&sweep)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.matches("done already").count(), 1, "{stdout}");
    assert!(lost.join("result.json").exists());
}

#[test]
fn large_plans_ask_for_yes_and_dry_run_prints_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("big.toml");
    std::fs::write(&scenario, format!("{SWEEP}repeat = 60\n")).unwrap();
    let dry = kbench()
        .arg("run")
        .arg(&scenario)
        .arg("--dry-run")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&dry.stdout);
    assert_eq!(dry.status.code(), Some(0));
    assert!(
        stdout.contains("240 runs (4 cells x 60 repeats, interleaved)"),
        "{stdout}"
    );
    let run = kbench().arg("run").arg(&scenario).output().unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("pass --yes"));
}

/// A runner on paper: throughput = the cell's linger in ms (so cells are told apart), and the run
/// numbered `interrupt_at` (from 1) comes back interrupted, as a Ctrl-C mid-run would.
struct PaperRunner {
    calls: Vec<String>,
    interrupt_at: Option<usize>,
}

impl kbench::runner::Runner for PaperRunner {
    async fn run(
        &mut self,
        s: &kbench::scenario::Scenario,
        dir: &std::path::Path,
    ) -> anyhow::Result<kbench::result::RunResult> {
        self.calls
            .push(dir.file_name().unwrap().to_string_lossy().into_owned());
        let mut r = common::literal(&[1_000; 10], 1, 0);
        r.spec = s.clone();
        r.throughput.msgs_per_sec = s.producer.linger.0.as_millis() as f64;
        if self.interrupt_at == Some(self.calls.len()) {
            r.status = kbench::result::Status::Interrupted;
        }
        r.write(dir)?;
        Ok(r)
    }
}

fn paper_sweep(
    out: &std::path::Path,
    resume: Option<&std::path::Path>,
    interrupt_at: Option<usize>,
    overrides: &[String],
) -> anyhow::Result<(kbench::sweep::run::SweepOutcome, Vec<String>)> {
    let origin = kbench::plan::Origin::Text {
        path: std::path::Path::new("sw.toml"),
        text: SWEEP,
        format: kbench::scenario::Format::Toml,
    };
    let cells = kbench::plan::load(origin, overrides, None).unwrap().cells;
    let exp = cells[0].scenario.experiment.clone().unwrap_or_default();
    let runs = kbench::plan::plan(&cells, &exp);
    let mut runner = PaperRunner {
        calls: Vec::new(),
        interrupt_at,
    };
    let opts = kbench::sweep::run::SweepOptions { out, resume };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let outcome = rt.block_on(kbench::sweep::run::run(
        "sw",
        &runs,
        &exp,
        opts,
        &kbench::signal::Interrupts::none(),
        &mut runner,
    ))?;
    Ok((outcome, runner.calls))
}

#[test]
fn resume_runs_only_what_is_not_finished() {
    let dir = tempfile::tempdir().unwrap();
    // Interrupted in the third run: two finished, the third kept on disk but not summarised.
    let (first, calls) = paper_sweep(dir.path(), None, Some(3), &[]).unwrap();
    assert!(first.interrupted);
    assert_eq!(calls.len(), 3);
    assert_eq!(first.summary.runs_done, 2);
    assert!(!first.summary.complete);
    // Resumed: the interrupted run and the fourth run, nothing else.
    let (second, again) = paper_sweep(dir.path(), Some(&first.dir), None, &[]).unwrap();
    assert_eq!(again.len(), 2, "{again:?}");
    assert_eq!(again[0], calls[2], "the interrupted run is run again");
    assert!(!second.interrupted && second.summary.complete);
    assert_eq!(second.summary.runs_done, 4);
    assert_eq!(second.summary.cells.len(), 4);
    assert!(second.comparison.is_some(), "four cells are compared");
    // Everything done: a third pass runs nothing.
    let (_, none) = paper_sweep(dir.path(), Some(&first.dir), None, &[]).unwrap();
    assert!(none.is_empty(), "{none:?}");
    // Another plan in the same directory is refused before any run.
    let other = ["producer.linger=1ms".to_string()];
    let Err(err) = paper_sweep(dir.path(), Some(&first.dir), None, &other) else {
        panic!("a different plan must not resume");
    };
    assert!(format!("{err:#}").contains("another plan"), "{err:#}");
    assert_eq!(kbench::exit_code_of(&err), kbench::exit::BAD_INPUT);
}
