//! The sarama engine (engines/sarama: Go, built on first use into ~/.cache/kbench/engines/)
//! driven by the same scenario and measured the same way as librdkafka, on the embedded broker;
//! and what kbench does when an engine misbehaves (stand-in engines through $KBENCH_TEST_ENGINE).
//! Skipped (with a message) without Go, unless KBENCH_REQUIRE_ENGINES=1 (the README's test
//! command). Kafka-side checks of the engine are in tests/kafka.rs.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{assert_accounted, run, scenario};
use kbench::result::RunResult;

fn go() -> bool {
    common::engines_buildable()
}

const BASE: &str = r#"
name = "engine"
[topic]
partitions = 3
[producer]
engine = "sarama"
"#;

fn sarama(overrides: &[&str]) -> RunResult {
    run(&scenario(BASE, overrides))
}

#[test]
fn every_mode_accounts_for_every_message() {
    if !go() {
        return;
    }
    for mode in ["async", "sync", "fire-and-forget"] {
        let r = sarama(&[
            &format!("producer.mode={mode}"),
            "load.rate=200/s",
            "load.duration=2s",
        ]);
        assert_accounted(&r);
        let c = &r.counts;
        assert_eq!(
            (c.sent, c.acked, c.failed, c.unresolved),
            (400, 400, 0, 0),
            "{mode}: {:?}",
            r.events
        );
        let e = r.engine.as_ref().expect("the engine is recorded");
        assert_eq!(e.name, "sarama");
        assert!(e.client.contains("sarama v1.61.1"), "{e:?}");
        assert!(e.cpu_s.is_some() && e.peak_rss_bytes.is_some(), "{e:?}");
        // sarama's own metrics, under its names: every acked message went in some request.
        let m = e.metrics.as_ref().expect("sarama's metrics");
        let requests = m["records-per-request"]["count"].as_u64().unwrap_or(0);
        let mean = m["records-per-request"]["mean"].as_f64().unwrap_or(0.0);
        assert!(
            requests > 0 && (requests as f64 * mean - 400.0).abs() < 1.0,
            "{mode}: {m}"
        );
        assert_eq!(r.client_properties.producer["runtime.GOGC"], "400");
        let acks = &r.client_properties.producer["Producer.RequiredAcks"];
        assert_eq!(acks, if mode == "fire-and-forget" { "0" } else { "-1" });
        assert_eq!(r.partitions.iter().map(|p| p.messages).sum::<u64>(), 400);
        // No librdkafka statistics: the breakdown is absent, not zero.
        assert!(r.client.is_none() && r.intervals.iter().all(|i| i.client.is_none()));
        matches_the_schema(&r);
    }
}

fn matches_the_schema(r: &RunResult) {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schemas/result.v3.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema itself is valid");
    let value = serde_json::to_value(r).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

/// The embedded broker 20 ms away, at 100/s: sarama's service latency is the round trip.
#[test]
fn service_latency_is_the_round_trip() {
    if !go() {
        return;
    }
    let text = format!(
        "{BASE}linger = \"0ms\"\n[load]\nrate = \"100/s\"\nduration = \"3s\"\nwarmup = \"500ms\"\n\
         [[faults]]\nat = \"0s\"\naction = \"delay\"\nrtt = \"20ms\"\n"
    );
    let r = run(&scenario(&text, &[]));
    assert_accounted(&r);
    assert_eq!(r.counts.acked, 300, "{:?}", r.events);
    let p50 = r.latency_us.service.p50;
    eprintln!(
        "sarama at 100/s, 20 ms away: service p50 {p50} µs, p99 {} µs",
        r.latency_us.service.p99
    );
    assert!((20_000..=26_000).contains(&p50), "service p50 {p50} µs");
}

fn kbench() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("kbench").unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_sweep_over_both_engines_compares_them() {
    if !go() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "clients.toml",
        "name = \"clients\"\n[load]\nrate = \"300/s\"\nduration = \"1s\"\n\
         [matrix]\n\"producer.engine\" = [\"librdkafka\", \"sarama\"]\n",
    );
    let out = kbench()
        .arg("run")
        .arg(&file)
        .args(["--quiet", "--out"])
        .arg(dir.path().join("out"))
        .timeout(Duration::from_secs(180))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sweep = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let md = std::fs::read_to_string(sweep.join("comparison.md")).unwrap();
    assert!(
        md.contains("engine=librdkafka") && md.contains("engine=sarama"),
        "{md}"
    );
}

#[test]
fn settings_sarama_cannot_take_are_exit_2_before_any_load() {
    if !go() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (text, says) in [
        (
            format!("{BASE}[producer.sarama]\n\"Flush.Frequencyy\" = \"1ms\"\n"),
            "Flush.Frequencyy",
        ),
        (
            format!("{BASE}[producer.sarama]\n\"Flush.Frequency\" = \"soon\"\n"),
            "expected a duration",
        ),
        (
            format!("{BASE}[producer.properties]\n\"linger.ms\" = \"5\"\n"),
            "producer.properties",
        ),
        (
            format!(
                "{BASE}transaction = {{ messages = 10 }}\nacks = \"all\"\nidempotence = true\n"
            ),
            "producer.transaction",
        ),
    ] {
        let file = write(dir.path(), "bad.toml", &text);
        let out = kbench()
            .arg("run")
            .arg(&file)
            .args(["--out"])
            .arg(dir.path().join("out"))
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {stderr}");
        assert!(
            stderr.contains(says) && stderr.contains("sarama"),
            "{stderr}"
        );
        assert!(!dir.path().join("out").exists(), "no load, no result");
    }
    // validate --properties shows the engine's own resolved configuration.
    let file = write(dir.path(), "ok.toml", &format!("{BASE}linger = \"7ms\"\n"));
    let out = kbench()
        .arg("validate")
        .arg(&file)
        .arg("--properties")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Producer.Flush.Frequency=7ms"), "{stdout}");
}

/// A stand-in engine: answers its configuration, then `then` (shell).
fn stand_in(dir: &Path, then: &str) -> std::path::PathBuf {
    let p = write(
        dir,
        "engine.sh",
        &format!(
            "#!/bin/sh\nread -r cfg\necho 'R {{\"client\":\"stand-in\",\"client_version\":\"0\",\"config\":{{}}}}'\n\
             case \"$cfg\" in *'\"check_only\":true'*) exit 0 ;; esac\n{then}\n"
        ),
    );
    let mut perm = std::fs::metadata(&p).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&p, perm).unwrap();
    p
}

#[test]
fn a_misbehaving_engine_still_ends_in_a_written_result() {
    let dir = tempfile::tempdir().unwrap();
    for (then, says) in [
        // Takes the pool and some messages, answers garbage, dies.
        (
            "read -r p n\nhead -c $((n + 1)) >/dev/null\nfor i in 1 2 3 4 5; do read -r l; done\necho 'A not a number'\nexit 3",
            "unreadable line",
        ),
        // Reads everything and never answers, nor ends.
        ("cat >/dev/null\nsleep 600", "no end within the grace"),
    ] {
        let engine = stand_in(dir.path(), then);
        let file = write(
            dir.path(),
            "s.toml",
            &format!("{BASE}[load]\nrate = \"200/s\"\nduration = \"1s\"\ngrace = \"1s\"\n"),
        );
        let out_dir = dir.path().join(format!("out-{}", says.len()));
        let start = Instant::now();
        let out = kbench()
            .arg("run")
            .arg(&file)
            .args(["--no-charts", "--out"])
            .arg(&out_dir)
            .env("KBENCH_TEST_ENGINE", &engine)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Counts that do not add up are an invalid run (exit 1), written and reported.
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(start.elapsed() < Duration::from_secs(30), "{:?}", start.elapsed());
        let run = std::fs::read_dir(&out_dir).unwrap().next().unwrap().unwrap().path();
        let r = RunResult::read(&run.join("result.json")).unwrap();
        let engine_events: Vec<&str> = r
            .events
            .iter()
            .filter(|e| e.kind == kbench::event::EventKind::Engine)
            .map(|e| e.detail.as_str())
            .collect();
        assert!(engine_events.iter().any(|d| d.contains(says)), "{engine_events:?}");
        assert!(r.accounting_error().is_some(), "{:?}", r.events);
    }
}

/// `[consume]` with sarama sending: the stamp rides in the payload (sent inline), and the run's
/// consumers read every message back.
#[test]
fn consumers_read_back_what_sarama_sent() {
    if !go() {
        return;
    }
    let text = format!("{BASE}[consume]\nconsumers = 1\n");
    let r = run(&scenario(&text, &["load.rate=300/s", "load.duration=2s"]));
    assert_accounted(&r);
    let c = &r.counts;
    assert_eq!(c.acked, 600, "{:?}", r.events);
    assert_eq!(
        (c.consumed, c.missing, c.duplicates),
        (Some(600), Some(0), Some(0)),
        "{:?}",
        r.consume
    );
    assert!(r.latency_us.e2e.count >= 600, "{:?}", r.latency_us.e2e);
}
