//! The binary's contract: exit codes, error messages that name file, line and key, and output.

use std::io::{BufRead, BufReader};
use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use assert_cmd::Command;

fn kbench() -> Command {
    Command::cargo_bin("kbench").expect("binary built")
}

/// The one run directory a command wrote under `out`.
fn run_dir_in(out: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(out)
        .expect("the output directory exists")
        .next()
        .expect("a run directory")
        .unwrap()
        .path()
}

/// Writes `text` into a temp dir as `name` and returns (dir, path).
fn file(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// (file name, contents, extra args, expected fragments of the error message)
const BAD: &[(&str, &str, &[&str], &[&str])] = &[
    (
        "too-long.toml",
        "[load]\nwarmup = \"1h\"\nduration = \"300h\"\n",
        &[],
        &["load.duration", "warm-up 1h + duration 300h + grace", "limit of 12 days"],
    ),
    (
        "too-long-count.toml",
        "[load]\nmessages = 10\ntimeout = \"700h\"\n",
        &[],
        &["load.timeout", "timeout 700h", "limit of 12 days"],
    ),
    (
        "topics-0.toml",
        "[topic]\nname = \"t-{i}\"\ncount = 0\n",
        &[],
        &["topic.count", "expected 1 to 100000, found 0"],
    ),
    (
        "topics-many.toml",
        "[topic]\nname = \"t-{i}\"\ncount = 100001\n",
        &[],
        &["topic.count", "found 100001"],
    ),
    (
        "topics-pattern.toml",
        "[topic]\nname = \"plain\"\ncount = 3\n",
        &[],
        &[":2: topic.name", "need {i} in the name"],
    ),
    (
        "topics-weights.toml",
        "[topic]\nname = \"t-{i}\"\ncount = 3\ndistribution = { weights = [1, 2] }\n",
        &[],
        &[":4: topic.distribution", "expected 3 weights (one per topic), found 2"],
    ),
    (
        "topics-negative.toml",
        "[topic]\nname = \"t-{i}\"\ncount = 2\ndistribution = { weights = [1, -2] }\n",
        &[],
        &["topic.distribution", "not negative"],
    ),
    (
        "topics-dist.toml",
        "[topic]\nname = \"t-{i}\"\ncount = 2\ndistribution = \"pareto\"\n",
        &[],
        &[":4: topic.distribution", "pareto"],
    ),
    (
        "sync-batch-0.toml",
        "[producer]\nmode = \"sync\"\nsync_batch = 0\n",
        &[],
        &[":3: producer.sync_batch", "expected 1 to 100000, found 0"],
    ),
    (
        "sync-batch-async.toml",
        "[producer]\nsync_batch = 4\n",
        &[],
        &[":2: producer.sync_batch", "needs producer.mode = \"sync\""],
    ),
    (
        "consumers-0.toml",
        "[consume]\nconsumers = 0\n",
        &[],
        &[":2: consume.consumers", "expected 1 to 1024, found 0"],
    ),
    (
        "consumers-many.toml",
        "[consume]\nconsumers = 1025\n",
        &[],
        &["consume.consumers", "found 1025"],
    ),
    (
        "consume-mode.toml",
        "[consume]\nmode = \"fanout\"\n",
        &[],
        &[":2: consume.mode", "fanout"],
    ),
    (
        "consume-isolation.toml",
        "[consume]\nisolation = \"serializable\"\n",
        &[],
        &[":2: consume.isolation", "serializable"],
    ),
    (
        "consume-start.toml",
        "[consume]\nstart_after = \"-1s\"\n",
        &[],
        &[":2: consume.start_after"],
    ),
    (
        "consume-size.toml",
        "[message]\nsize = \"16B\"\n[consume]\n",
        &[],
        &["message.size", "at least 32 bytes, found 16"],
    ),
    (
        "exec.toml",
        "[[faults]]\nat = \"1s\"\naction = \"exec\"\ncommand = [\"no-such-program-kbench\"]\n",
        &[],
        &["faults[0].command", "\"no-such-program-kbench\" is not on PATH"],
    ),
    (
        "exec-path.toml",
        "[[faults]]\nat = \"1s\"\naction = \"exec\"\ncommand = [\"./missing/tool.sh\"]\n",
        &[],
        &["faults[0].command", "does not exist"],
    ),
    (
        "exec-empty.toml",
        "[[faults]]\nat = \"1s\"\naction = \"exec\"\ncommand = []\n",
        &[],
        &[":4: faults[0].command", "empty"],
    ),
    (
        "grace.toml",
        "[load]\ngrace = \"3000000000000000h\"\n",
        &[],
        &[":2: load.grace:", "at most 30 days"],
    ),
    (
        "timeout.toml",
        "[load]\nmessages = 10\n",
        &["--set", "load.timeout=800h"],
        &["--set load.timeout=800h", "load.timeout", "at most 30 days"],
    ),
    (
        "hist.toml",
        "[message]\nsize = { distribution = \"histogram\", file = \"nope.csv\" }\n",
        &[],
        &[":2: message.size: cannot read ", "nope.csv"],
    ),
    (
        "dist.toml",
        "[message]\nsize = { distribution = \"lognormal\", median = \"1KiB\", p90 = \"2KiB\" }\n",
        &[],
        &[":2: message.size.p90: unknown key"],
    ),
    (
        "zipf.toml",
        "[message]\nkeys = { distribution = \"zipf\", exponent = 0 }\n",
        &[],
        &[":2: message.keys:", "zipf exponent above 0"],
    ),
    (
        "corpus.toml",
        "[message]\npayload = { file = \"missing.jsonl\" }\n",
        &[],
        &[":2: message.payload: cannot read ", "missing.jsonl"],
    ),
    (
        "profile.toml",
        "[load]\nrate = \"5k/s\"\nprofile = [{ rate = \"1k/s\", duration = \"1s\" }]\n",
        &[],
        &[":3: load.profile:", "leave load.rate out"],
    ),
    (
        "phase.toml",
        "[load]\nprofile = [\n  { rate = \"1k/s\", duration = \"1s\" },\n  { rate = \"1k/s\", burst = \"5k/s\", duration = \"1s\" },\n]\n",
        &[],
        &["load.profile[1]:", "exactly one of rate, ramp or burst"],
    ),
    (
        "poisson.toml",
        "[load]\narrivals = \"poisson\"\n",
        &[],
        &[":2: load.arrivals:", "fixed rate"],
    ),
    (
        "manual.toml",
        "[topic]\npartitions = 3\n[producer]\npartitioner = { manual = 5 }\n",
        &[],
        &[":4: producer.partitioner:", "does not exist"],
    ),
    (
        "partname.toml",
        "[producer]\npartitioner = \"hash\"\n",
        &[],
        &[":2: producer.partitioner:", "round-robin"],
    ),
    (
        "extfault.toml",
        "[cluster]\nbootstrap = \"127.0.0.1:1\"\n[[faults]]\nat = \"1s\"\naction = \"broker-down\"\n",
        &[],
        &[":5: faults[0].action:", "embedded broker"],
    ),
    (
        "faultkey.toml",
        "[[faults]]\nat = \"1s\"\naction = \"errors\"\nerror = \"NOPE\"\ncount = 1\n",
        &[],
        &[":4: faults[0].error: unknown Kafka error name"],
    ),
    (
        "acks.toml",
        "name = \"x\"\n\n[producer]\nacks = \"2\"\n",
        &[],
        &[":4: producer.acks: expected 0, 1 or all, found \"2\""],
    ),
    (
        "parts.toml",
        "[topic]\npartitions = 0\n",
        &[],
        &[":2: topic.partitions:", "found 0"],
    ),
    (
        "rate.toml",
        "[load]\nrate = \"-5/s\"\n",
        &[],
        &[":2: load.rate:", "\"-5/s\""],
    ),
    (
        "size.toml",
        "[message]\nsize = \"1KB!\"\n",
        &[],
        &[":2: message.size:", "\"1KB!\""],
    ),
    (
        "codec.toml",
        "[producer]\ncompression = \"brotli\"\n",
        &[],
        &[":2: producer.compression:", "brotli"],
    ),
    (
        "unknown.toml",
        "[producer]\nlinger = \"5ms\"\nackz = 1\n",
        &[],
        &[":3: producer.ackz: unknown key"],
    ),
    (
        "section.toml",
        "[producers]\nacks = 1\n",
        &[],
        &[":1: producers: unknown key"],
    ),
    (
        "syntax.toml",
        "[producer\nacks = 1\n",
        &[],
        &[":1: invalid TOML"],
    ),
    (
        "type.toml",
        "[topic]\nname = \"t\"\npartitions = \"six\"\n",
        &[],
        &[":3: topic.partitions:", "invalid type"],
    ),
    (
        "both.toml",
        "[load]\nduration = \"10s\"\nmessages = 5\n",
        &[],
        &[":3: load.messages:", "not both"],
    ),
    (
        "dur.toml",
        "[load]\nduration = 10\n",
        &[],
        &[":2: load.duration:", "with a unit"],
    ),
    (
        "ff.toml",
        "[producer]\nmode = \"fire-and-forget\"\nacks = \"all\"\n",
        &[],
        &["producer.acks:", "fire-and-forget"],
    ),
    (
        "idem.toml",
        "[producer]\nidempotence = true\nacks = 1\n",
        &[],
        &["producer.acks:", "idempotence requires acks = all"],
    ),
    (
        "repl.toml",
        "[topic]\nreplication = 5\n",
        &[],
        &[":2: topic.replication:", "3 brokers"],
    ),
    (
        "inline.toml",
        "producer = { acks = \"x\" }\n",
        &[],
        &[":1: producer.acks:"],
    ),
    (
        "bad.json",
        "{\n  \"load\": {\n    \"rate\": \"fast\"\n  }\n}\n",
        &[],
        &[":3: load.rate:"],
    ),
    ("json-syntax.json", "{\"load\": }", &[], &["invalid JSON"]),
    (
        "ok.toml",
        "",
        &["--set", "producer.acks=7"],
        &["--set producer.acks=7: producer.acks: expected 0, 1 or all"],
    ),
    (
        "ok.toml",
        "",
        &["--set", "nokey"],
        &["--set nokey:", "key=value"],
    ),
    (
        "rate5.toml",
        "[load]\nrate = 5\n",
        &["--set", "load.rate.x=1"],
        &["--set load.rate.x=1", "load.rate is not a table"],
    ),
    (
        "ok.toml",
        "",
        &["--set", "producer.nope=1"],
        &["--set producer.nope=1: producer.nope: unknown key"],
    ),
];

#[test]
fn malformed_scenarios_exit_2_naming_line_and_key() {
    for (name, text, args, fragments) in BAD {
        let (_dir, path) = file(name, text);
        for cmd in ["validate", "run"] {
            let out = kbench()
                .arg(cmd)
                .arg(&path)
                .args(*args)
                .timeout(Duration::from_secs(20))
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd} {name}: {stderr}");
            assert!(
                stderr.contains(&path.display().to_string()) || stderr.contains("--set"),
                "{name}: {stderr}"
            );
            for f in *fragments {
                assert!(
                    stderr.contains(f),
                    "{cmd} {name}: expected {f:?} in {stderr:?}"
                );
            }
            assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        }
    }
}

#[test]
fn missing_file_and_bad_flags_exit_2() {
    let out = kbench()
        .args(["validate", "/nonexistent/x.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.toml"));
    let out = kbench().args(["run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = kbench()
        .args(["broker", "--brokers", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn validate_prints_the_resolved_scenario_with_secrets_hidden() {
    let (_dir, path) = file(
        "v.toml",
        "name = \"v\"\n[cluster.properties]\n\"sasl.password\" = \"hunter2\"\n",
    );
    let out = kbench()
        .arg("validate")
        .arg(&path)
        .args(["--set", "load.rate=2k/s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("rate = \"2k/s\""), "{stdout}");
    assert!(
        stdout.contains("acks = \"all\""),
        "defaults are resolved: {stdout}"
    );
    assert!(!stdout.contains("hunter2"), "{stdout}");
}

/// A validation warning is the command's to print, once per file, not once per sweep cell.
#[test]
fn a_sweep_prints_a_validation_warning_once() {
    let (_dir, path) = file(
        "w.toml",
        "name = \"w\"\n[cluster]\nbootstrap = \"127.0.0.1:1\"\n[cluster.security]\n\
         protocol = \"SASL_PLAINTEXT\"\nmechanism = \"PLAIN\"\nusername = \"u\"\n\
         password = \"inline-hunter2\"\n[matrix]\n\"producer.acks\" = [\"0\", \"1\", \"all\"]\n",
    );
    let out = kbench().arg("validate").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("warning:").count(), 1, "{stderr}");
    assert!(stderr.contains("w.toml: "), "{stderr}");
    assert!(!stderr.contains("inline-hunter2"), "{stderr}");
}

#[test]
fn run_json_prints_a_complete_result_and_hides_secrets() {
    let (dir, path) = file(
        "j.toml",
        "name = \"j\"\n[cluster.properties]\n\"sasl.password\" = \"hunter2\"\n[load]\nmessages = 500\n",
    );
    let out_dir = dir.path().join("reports");
    let out = kbench()
        .arg("run")
        .arg(&path)
        .args(["--json", "--out"])
        .arg(&out_dir)
        .args(["--set", "producer.properties.\"ssl.key.password\"=s3cret"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is the result JSON");
    for key in [
        "schema",
        "scenario",
        "spec",
        "started_at",
        "duration_s",
        "counts",
        "errors",
        "throughput",
        "target_rate",
        "achieved_rate_ratio",
        "latency_us",
        "histograms",
        "intervals",
        "loss_rate",
        "drain",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["schema"], "kbench.result/v3");
    assert_eq!(v["counts"]["sent"], 500);
    for stream in ["corrected", "service", "send_lag", "failed", "unsent"] {
        for stat in ["count", "min", "mean", "p50", "p90", "p99", "p999", "max"] {
            assert!(
                v["latency_us"][stream].get(stat).is_some(),
                "{stream}.{stat}"
            );
        }
    }
    let written: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
    assert_eq!(written.len(), 1);
    let result_file = written[0].as_ref().unwrap().path().join("result.json");
    let text = std::fs::read_to_string(result_file).unwrap();
    for output in [&*stdout, &*stderr, &*text] {
        assert!(
            !output.contains("hunter2") && !output.contains("s3cret"),
            "secret leaked"
        );
    }
}

#[test]
fn unreachable_broker_exits_3_within_the_timeout() {
    let (_dir, path) = file(
        "u.toml",
        "name = \"u\"\n[cluster]\nconnect_timeout = \"2s\"\n",
    );
    let start = std::time::Instant::now();
    let out = kbench()
        .arg("run")
        .arg(&path)
        .args(["--bootstrap", "127.0.0.1:1"])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(start.elapsed() < Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot reach the cluster at 127.0.0.1:1"),
        "{stderr}"
    );
}

#[test]
fn broker_prints_bootstrap_first_and_serves_other_clients() {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("kbench"))
        .args([
            "broker",
            "--brokers",
            "2",
            "--topic",
            "shared:4",
            "--seconds",
            "30",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let bootstrap = first.trim().to_string();
    assert!(
        bootstrap.starts_with("127.0.0.1:") && bootstrap.contains(','),
        "{bootstrap}"
    );
    // A second kbench produces to it as an external cluster.
    let (dir, path) = file(
        "b.toml",
        "name = \"b\"\n[topic]\nname = \"shared\"\npartitions = 4\ncreate = false\n[load]\nmessages = 300\n",
    );
    let out = kbench()
        .arg("run")
        .arg(&path)
        .args(["--json", "--bootstrap", &bootstrap, "--out"])
        .arg(dir.path())
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["counts"]["acked"], 300);
    assert_eq!(v["broker"]["kind"], "external");
    assert_eq!(v["broker"]["partitions"], 4);
    // create = false and a topic that does not exist: exit 3 before any load.
    let out = kbench()
        .arg("run")
        .arg(&path)
        .args([
            "--bootstrap",
            &bootstrap,
            "--set",
            "topic.name=missing",
            "--set",
            "cluster.connect_timeout=3s",
        ])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("\"missing\" does not exist"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn sigint_writes_an_interrupted_result_and_exits_130() {
    let (dir, path) = file(
        "i.toml",
        "name = \"i\"\n[load]\nrate = \"200/s\"\nduration = \"60s\"\n",
    );
    let out_dir = dir.path().join("reports");
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("kbench"))
        .arg("run")
        .arg(&path)
        .arg("--quiet")
        .arg("--out")
        .arg(&out_dir)
        .env("KBENCH_LOG", "kbench=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until messages are acked (kbench's progress log says so), not for a wall-clock delay.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let acked = line
                .split("progress: ")
                .nth(1)
                .and_then(|p| p.split("acked ").nth(1))
                .and_then(|a| a.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok());
            if acked.is_some_and(|n| n > 0) {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("kbench logs its progress");
    // SAFETY: sending SIGINT to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "kbench did not stop after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    let run_dir = run_dir_in(&out_dir);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("result.json")).unwrap())
            .unwrap();
    assert_eq!(v["status"], "interrupted");
    let c = &v["counts"];
    let sent = c["sent"].as_u64().unwrap();
    // Some of the schedule went out before the signal; far from the 12,000 of 60 s at 200/s.
    assert!(sent > 0 && sent < 12_000, "{sent}");
    assert_eq!(
        sent,
        c["acked"].as_u64().unwrap()
            + c["failed"].as_u64().unwrap()
            + c["unresolved"].as_u64().unwrap()
    );
}

#[test]
fn tls_to_a_plaintext_port_fails_fast_with_exit_3() {
    // A real broker on a plaintext port, spoken to with TLS: the handshake fails; kbench must
    // give up within the connect timeout with a clear message, not hang.
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("kbench"))
        .args(["broker", "--brokers", "1", "--seconds", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let (_dir, path) = file(
        "tls.toml",
        "name = \"tls\"\n[cluster]\nconnect_timeout = \"3s\"\n[cluster.properties]\n\"security.protocol\" = \"SSL\"\n",
    );
    let start = std::time::Instant::now();
    let out = kbench()
        .arg("run")
        .arg(&path)
        .args(["--bootstrap", first.trim()])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(
        stderr.contains("cannot reach the cluster") && stderr.contains("within 3s"),
        "{stderr}"
    );
}

#[test]
fn secrets_appear_in_no_output_of_a_run() {
    let (dir, path) = file(
        "secret.toml",
        "name = \"secret\"\n[cluster.security]\nprotocol = \"PLAINTEXT\"\nusername = \"bench\"\npassword = \"inline-Secret-2b\"\n[cluster.properties]\n\"ssl.keystore.password\" = \"props-Secret-3c\"\n[load]\nmessages = 200\n",
    );
    let out_dir = dir.path().join("out");
    let secrets = [
        "cli-Secret-1a",
        "inline-Secret-2b",
        "props-Secret-3c",
        "set-Secret-4d",
    ];
    let args = |cmd: &str| {
        let mut c = kbench();
        c.arg(cmd).arg(&path).args([
            "-X",
            "sasl.password=cli-Secret-1a",
            "--set",
            "producer.properties.\"ssl.key.password\"=set-Secret-4d",
        ]);
        c
    };
    let mut printed = String::new();
    for (cmd, extra) in [
        ("validate", vec![]),
        ("run", vec!["--dry-run"]),
        ("run", vec!["--out"]),
    ] {
        let mut c = args(cmd);
        c.args(&extra);
        if extra == ["--out"] {
            c.arg(&out_dir);
        }
        let o = c.timeout(Duration::from_secs(60)).output().unwrap();
        assert!(
            o.status.success(),
            "{cmd} {extra:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        printed += &String::from_utf8_lossy(&o.stdout);
        printed += &String::from_utf8_lossy(&o.stderr);
    }
    let run_dir = run_dir_in(&out_dir);
    let o = kbench().arg("report").arg(&run_dir).output().unwrap();
    assert!(o.status.success());
    printed += &String::from_utf8_lossy(&o.stdout);
    assert!(
        printed.contains("***"),
        "redacted values are marked: {printed}"
    );
    // librdkafka quotes the value of a property it rejects: that error is scrubbed too.
    let o = args("run")
        .args([
            "-X",
            "sasl.oauthbearer.client.secret=props-Secret-3c",
            "--out",
        ])
        .arg(dir.path().join("failed"))
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    printed += &String::from_utf8_lossy(&o.stderr);
    let mut files = vec![];
    let mut stack = vec![out_dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 5, "{files:?}");
    for s in secrets {
        assert!(!printed.contains(s), "{s} printed");
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(s),
                "{s} in {}",
                f.display()
            );
        }
    }
}

#[test]
fn bootstrap_comes_from_flag_scenario_or_environment_and_x_sets_properties() {
    let (_dir, path) = file("env.toml", "name = \"env\"\n");
    let validate = |envs: &[(&str, &str)], args: &[&str]| {
        let mut c = kbench();
        c.arg("validate").arg(&path).args(args);
        c.env_remove("KBENCH_BOOTSTRAP")
            .env_remove("KAFKA_BOOTSTRAP_SERVERS");
        for (k, v) in envs {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    assert!(
        !validate(&[], &[]).contains("bootstrap ="),
        "embedded without any"
    );
    let kafka = validate(&[("KAFKA_BOOTSTRAP_SERVERS", "k:9092")], &[]);
    assert!(kafka.contains("bootstrap = \"k:9092\""), "{kafka}");
    let both = validate(
        &[
            ("KAFKA_BOOTSTRAP_SERVERS", "k:9092"),
            ("KBENCH_BOOTSTRAP", "kb:9092"),
        ],
        &[],
    );
    assert!(both.contains("bootstrap = \"kb:9092\""), "{both}");
    let flag = validate(
        &[("KBENCH_BOOTSTRAP", "kb:9092")],
        &[
            "--bootstrap",
            "f:9092",
            "-X",
            "linger.ms=7",
            "-X",
            "enable.idempotence=true",
        ],
    );
    assert!(flag.contains("bootstrap = \"f:9092\""), "{flag}");
    assert!(flag.contains("\"linger.ms\" = \"7\""), "{flag}");
    assert!(flag.contains("\"enable.idempotence\" = \"true\""), "{flag}");
    let (_d2, in_file) = file("set.toml", "[cluster]\nbootstrap = \"s:9092\"\n");
    let o = kbench()
        .arg("validate")
        .arg(&in_file)
        .env("KBENCH_BOOTSTRAP", "kb:9092")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("bootstrap = \"s:9092\""));
}

#[test]
fn dry_run_prints_the_run_plan_and_runs_nothing() {
    let (dir, path) = file(
        "plan.toml",
        "name = \"p\"\n[producer]\nworkers = 2\npartitioner = { manual = 1 }\n\
         [load]\nrate = \"100/s\"\nduration = \"2s\"\nwarmup = \"1s\"\n\
         [[faults]]\nat = \"1s\"\naction = \"broker-down\"\nduration = \"1s\"\n",
    );
    let out_dir = dir.path().join("reports");
    let o = kbench()
        .args(["run", "--dry-run", "--shard", "1/2", "--out"])
        .arg(&out_dir)
        .arg(&path)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Shard 1 of 2 plans half of 100/s: 50 warm-up and 100 measured messages, workers 2 and 3.
    for want in [
        "run plan (shard 1 of 2): 1 instance(s), 2 worker(s) of 4 in the whole run",
        "target 50.0 msg/s",
        "warm-up 1s (50 messages), measured 100 messages; stops sending at 3.250 s",
        "Fixed(1)",
        "at 1.000 s: BrokerDown starts",
        "at 2.000 s: BrokerDown ends",
    ] {
        assert!(stdout.contains(want), "{want:?} in:\n{stdout}");
    }
    let workers: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("Fixed(1)"))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(workers, ["2", "3"]);
    assert!(!out_dir.exists(), "a dry run writes nothing");
}

#[test]
fn a_metrics_address_that_cannot_be_bound_is_bad_input_before_the_run() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    for args in [
        vec![
            "run",
            "--rate",
            "10/s",
            "--duration",
            "1s",
            "--metrics-addr",
            &addr,
        ],
        vec!["run", "--rate", "10/s", "--metrics-addr", "not-an-address"],
    ] {
        let out = kbench()
            .args(&args)
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("--metrics-addr") && err.contains(args[args.len() - 1]),
            "{err}"
        );
        assert!(!err.contains("load started"), "{err}");
    }
    drop(taken);
}

#[test]
fn completions_generate_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef kbench"),
        ("fish", "complete -c kbench"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion"),
    ] {
        let out = kbench().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(marker), "{shell}: no {marker:?}");
        // Subcommands and their flags are in it.
        for word in ["capacity", "merge", "--set"] {
            assert!(text.contains(word), "{shell}: no {word:?}");
        }
    }
    let out = kbench().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_librdkafka_properties_are_printed_and_recorded_without_secrets() {
    let text = "name = \"props\"\n[cluster.properties]\n\"ssl.key.password\" = \"hunter2\"\n[producer]\nacks = \"1\"\nlinger = \"7ms\"\n[load]\nrate = \"100/s\"\nduration = \"1s\"\n[consume]\nproperties = { \"sasl.password\" = \"hunter3\" }\n";
    let (dir, path) = file("props.toml", text);
    let out = kbench()
        .args(["validate", "--properties"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!printed.contains("hunter"), "{printed}");
    let (producer, consumer) = printed
        .split_once("# consumer")
        .expect("a consumer section");
    let lines: Vec<&str> = producer.lines().collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "sorted, one key=value a line");
    for want in [
        "acks=1",
        "linger.ms=7",
        "ssl.key.password=***",
        "enable.idempotence=false",
    ] {
        assert!(lines.contains(&want), "{want} in {printed}");
    }
    assert!(consumer.contains("sasl.password=***") && consumer.contains("isolation.level="));
    // The run records the same properties (its bootstrap is the embedded broker's).
    let reports = dir.path().join("out");
    let run = kbench()
        .args(["run", "--quiet", "--no-charts", "--out"])
        .arg(&reports)
        .arg(&path)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let result_dir = run_dir_in(&reports);
    let json = std::fs::read_to_string(result_dir.join("result.json")).unwrap();
    assert!(!json.contains("hunter"), "a secret in result.json");
    let r = kbench::result::RunResult::parse(&json, "result.json").unwrap();
    let recorded: Vec<String> = r
        .client_properties
        .producer
        .iter()
        .filter(|(k, _)| *k != "bootstrap.servers")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let printed: Vec<&str> = lines
        .into_iter()
        .filter(|l| !l.starts_with("bootstrap.servers="))
        .collect();
    assert_eq!(recorded, printed);
    assert_eq!(r.client_properties.consumer["sasl.password"], "***");
}

#[test]
fn a_run_from_flags_or_stdin_is_the_same_scenario_as_the_file() {
    let text = "[producer]\nacks = \"all\"\n[message]\nsize = \"1KiB\"\n[load]\nrate = \"10k/s\"\nduration = \"30s\"\n";
    let (dir, path) = file("same.toml", text);
    let spec = |out: std::process::Output| {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        // The first line names the source; the rest is the resolved scenario.
        text.split_once('\n').unwrap().1.to_string()
    };
    let from_file = spec(kbench().arg("validate").arg(&path).output().unwrap());
    let flags = [
        "--rate",
        "10k/s",
        "--size",
        "1KiB",
        "--acks",
        "all",
        "--duration",
        "30s",
    ];
    let from_flags = spec(kbench().arg("validate").args(flags).output().unwrap());
    let from_stdin = spec(
        kbench()
            .args(["validate", "-"])
            .write_stdin(text)
            .output()
            .unwrap(),
    );
    assert_eq!(from_flags, from_file);
    assert_eq!(from_stdin, from_file);
    // Flags win over the file's keys, like --set.
    let over = spec(
        kbench()
            .arg("validate")
            .arg(&path)
            .args(["--set", "load.rate=1k/s", "--rate", "2k/s"])
            .output()
            .unwrap(),
    );
    assert!(over.contains("rate = \"2k/s\""), "{over}");
    // A real run from flags alone records the same spec.
    let out_dir = dir.path().join("out");
    let run = kbench()
        .args([
            "run",
            "--rate",
            "500/s",
            "--duration",
            "1s",
            "--quiet",
            "--no-charts",
            "--out",
        ])
        .arg(&out_dir)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let result = run_dir_in(&out_dir);
    let r = kbench::result::RunResult::read(&result.join("result.json")).unwrap();
    assert_eq!(r.spec.load.rate.to_string(), "500/s");
    assert_eq!(r.counts.acked, 500);
    assert_eq!(r.scenario.file, None);
    // Neither a file nor flags: explained, exit 2.
    let none = kbench().arg("run").output().unwrap();
    assert_eq!(none.status.code(), Some(2));
    let err = String::from_utf8_lossy(&none.stderr);
    assert!(err.contains("stdin") && err.contains("--rate"), "{err}");
}
