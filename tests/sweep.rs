//! Sweeps end to end on the embedded broker: a 2x2 matrix gives four results, a summary and a
//! comparison; --resume skips finished runs; big plans need --yes.

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
        let tp = c["throughput"]["median"].as_f64().unwrap();
        assert!((450.0..=550.0).contains(&tp), "{tp}");
        assert_eq!(c["within_slo"], true);
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
