//! A run whose counts do not add up is invalid everywhere: `kbench run` exits 1, a gate says
//! INVALID (exit 4), a sweep marks the cell and never ranks it, a capacity search stops without
//! an answer (exit 4), and a merge refuses it unless `--allow-partial` (then notes it).
//!
//! The mismatch is provoked with `KBENCH_TEST_ACCOUNTING_SKEW`, a test hook the command layer
//! reads (no scenario key reaches it): every run counts one sent message no worker sent.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use kbench::result::RunResult;

const QUICK: &str = r#"
name = "skewed"
[topic]
name = "skewed"
[load]
rate = "200/s"
duration = "1s"
"#;

fn kbench(skew: bool) -> Command {
    let mut c = Command::cargo_bin("kbench").expect("binary built");
    if skew {
        c.env("KBENCH_TEST_ACCOUNTING_SKEW", "1");
    }
    c
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The result.json files under `dir`, sorted.
fn results_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "result.json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_skewed_run_exits_1_and_its_gate_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "quick.toml", QUICK);
    let out = dir.path().join("out");
    let a = kbench(true)
        .args(["run", "-q", "--out"])
        .arg(&out)
        .arg(&scenario)
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    let stdout = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(
        (stderr.clone() + &stdout).contains("do not add up"),
        "{stderr}{stdout}"
    );
    let files = results_under(&out);
    assert_eq!(files.len(), 1, "the result is written all the same");
    let r = RunResult::read(&files[0]).unwrap();
    let e = r.accounting_error().expect("an accounting event");
    assert!(e.contains("the plan scheduled 200"), "{e}");
    // A gate whose thresholds the run meets is still INVALID, with the reason.
    let gate = write(
        dir.path(),
        "gate.toml",
        &format!("{QUICK}[gate]\nthroughput = \">= 1/s\"\nloss_rate = \"<= 100%\"\n"),
    );
    let a = kbench(false)
        .arg("gate")
        .arg(&files[0])
        .arg("--config")
        .arg(&gate)
        .assert()
        .code(4);
    let text = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(
        text.contains("INVALID") && text.contains("counts do not add up"),
        "{text}"
    );
    // The same run without the skew passes that gate.
    let out2 = dir.path().join("out2");
    kbench(false)
        .args(["run", "-q", "--out"])
        .arg(&out2)
        .arg(&gate)
        .assert()
        .code(0);
}

#[test]
fn a_sweep_marks_a_skewed_cell_and_never_ranks_it() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = write(
        dir.path(),
        "sweep.toml",
        &format!("{QUICK}[matrix]\n\"producer.linger\" = [\"0ms\", \"5ms\"]\n"),
    );
    let out = dir.path().join("out");
    kbench(true)
        .args(["run", "-q", "--out"])
        .arg(&out)
        .arg(&sweep)
        .assert()
        .code(1);
    let summary = results_under(&out)
        .first()
        .and_then(|p| p.parent()?.parent().map(|d| d.join("summary.json")))
        .expect("a sweep directory");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(v["ranking"], serde_json::json!([]), "{v:#}");
    for c in v["cells"].as_array().unwrap() {
        assert!(
            c["invalid"][0].as_str().unwrap().contains("do not add up"),
            "{c:#}"
        );
    }
}

#[test]
fn a_capacity_search_stops_at_a_skewed_probe_without_an_answer() {
    let dir = tempfile::tempdir().unwrap();
    let cap = write(
        dir.path(),
        "cap.toml",
        "name = \"cap\"\n[topic]\nname = \"cap\"\n[capacity]\nslo = { p99 = \"1s\" }\n\
         start_rate = \"100/s\"\nmax_rate = \"1k/s\"\nstep_duration = \"1s\"\nmax_total = \"1m\"\n",
    );
    let out = dir.path().join("out");
    let a = kbench(true)
        .args(["capacity", "-q", "--out"])
        .arg(&out)
        .arg(&cap)
        .assert()
        .code(4);
    let text = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(
        text.contains("no capacity answer: probe 1") && text.contains("do not add up"),
        "{text}"
    );
}

#[test]
fn a_merge_refuses_a_skewed_shard_unless_partial_merges_are_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "quick.toml", QUICK);
    let mut shards = Vec::new();
    for (i, skew) in [(0, false), (1, true)] {
        let out = dir.path().join(format!("shard{i}"));
        kbench(skew)
            .args(["run", "-q", "--shard", &format!("{i}/2"), "--out"])
            .arg(&out)
            .arg(&scenario)
            .assert()
            .code(if skew { 1 } else { 0 });
        shards.extend(results_under(&out));
    }
    let merged = dir.path().join("merged");
    let a = kbench(false)
        .arg("merge")
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .assert()
        .code(2);
    let text = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        text.contains("do not add up") && text.contains("--allow-partial"),
        "{text}"
    );
    kbench(false)
        .arg("merge")
        .args(&shards)
        .args(["--allow-partial", "--out"])
        .arg(&merged)
        .assert()
        .code(0);
    let r = RunResult::read(&results_under(&merged)[0]).unwrap();
    assert!(
        r.notes.iter().any(|n| n.starts_with("INVALID")),
        "{:?}",
        r.notes
    );
    assert!(
        r.accounting_error().is_some(),
        "the merged result stays invalid"
    );
}
