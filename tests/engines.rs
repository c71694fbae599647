//! The Go engines (engines/sarama, engines/franz-go: built on first use into
//! ~/.cache/kbench/engines/) driven by the same scenario and measured the same way as
//! librdkafka, on the embedded broker;
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

/// The Go engines, each with the metric of its own that counts records per request or batch.
const ENGINES: [(&str, &str); 2] = [
    ("sarama", "records-per-request"),
    ("franz-go", "records-per-batch"),
];

/// BASE with `engine` sending.
fn base(engine: &str) -> String {
    BASE.replace("\"sarama\"", &format!("\"{engine}\""))
}

#[test]
fn every_mode_accounts_for_every_message() {
    if !go() {
        return;
    }
    for ((engine, per_request), mode) in ENGINES
        .into_iter()
        .flat_map(|e| ["async", "sync", "fire-and-forget"].map(|m| (e, m)))
    {
        let r = run(&scenario(
            &base(engine),
            &[
                &format!("producer.mode={mode}"),
                "load.rate=200/s",
                "load.duration=2s",
            ],
        ));
        assert_accounted(&r);
        let c = &r.counts;
        assert_eq!(
            (c.sent, c.acked, c.failed, c.unresolved),
            (400, 400, 0, 0),
            "{engine} {mode}: {:?}",
            r.events
        );
        let e = r.engine.as_ref().expect("the engine is recorded");
        assert_eq!(e.name, engine);
        let version = if engine == "sarama" {
            "sarama v1.61.1"
        } else {
            "franz-go v1.22.3"
        };
        assert!(e.client.contains(version), "{e:?}");
        assert!(e.cpu_s.is_some() && e.peak_rss_bytes.is_some(), "{e:?}");
        // The client's own metrics, under its names: every acked message went in some request.
        let m = e.metrics.as_ref().expect("the client's metrics");
        let requests = m[per_request]["count"].as_u64().unwrap_or(0);
        let mean = m[per_request]["mean"].as_f64().unwrap_or(0.0);
        assert!(
            requests > 0 && (requests as f64 * mean - 400.0).abs() < 1.0,
            "{engine} {mode}: {m}"
        );
        let props = &r.client_properties.producer;
        assert_eq!(props["runtime.GOGC"], "400");
        let acks = match (engine, mode) {
            (_, "fire-and-forget") => "0",
            ("sarama", _) => "-1",
            _ => "all",
        };
        let name = if engine == "sarama" {
            "Producer.RequiredAcks"
        } else {
            "RequiredAcks"
        };
        assert_eq!(props[name], acks, "{engine} {mode}");
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

/// The embedded broker 20 ms away, at 100/s: each Go client's service latency is the round trip.
#[test]
fn service_latency_is_the_round_trip() {
    if !go() {
        return;
    }
    for (engine, _) in ENGINES {
        let text = format!(
            "{}linger = \"0ms\"\n[load]\nrate = \"100/s\"\nduration = \"3s\"\nwarmup = \"500ms\"\n\
             [[faults]]\nat = \"0s\"\naction = \"delay\"\nrtt = \"20ms\"\n",
            base(engine)
        );
        let r = run(&scenario(&text, &[]));
        assert_accounted(&r);
        assert_eq!(r.counts.acked, 300, "{engine}: {:?}", r.events);
        let p50 = r.latency_us.service.p50;
        eprintln!(
            "{engine} at 100/s, 20 ms away: service p50 {p50} µs, p99 {} µs",
            r.latency_us.service.p99
        );
        assert!(
            (20_000..=26_000).contains(&p50),
            "{engine}: service p50 {p50} µs"
        );
    }
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
fn a_sweep_over_the_engines_compares_them() {
    if !go() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "clients.toml",
        "name = \"clients\"\n[load]\nrate = \"300/s\"\nduration = \"1s\"\n\
         [matrix]\n\"producer.engine\" = [\"librdkafka\", \"sarama\", \"franz-go\"]\n",
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
    for engine in ["librdkafka", "sarama", "franz-go"] {
        assert!(md.contains(&format!("engine={engine}")), "{md}");
    }
    // The clients' settings side by side: the same linger everywhere, and the rows that could
    // not be made alike marked.
    let row = |key: &str| common::settings_row(&md, key);
    let linger = row("producer.linger");
    assert!(
        linger.contains("linger.ms=5")
            && linger.contains("Producer.Flush.Frequency=5ms")
            && linger.contains("ProducerLinger=5ms")
            && linger.ends_with("| yes |"),
        "{linger}"
    );
    assert!(
        row("producer.batch_messages").contains("| no: sarama: "),
        "{md}"
    );
}

#[test]
fn settings_an_engine_cannot_take_are_exit_2_before_any_load() {
    if !go() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sarama = base("sarama");
    let franz = base("franz-go");
    let txn = "transaction = { messages = 10 }\nacks = \"all\"\nidempotence = true\n";
    // The Java producer needs a real cluster: its refusals come before any connection.
    let java = base("java").replace("[topic]", "[cluster]\nbootstrap = \"127.0.0.1:1\"\n[topic]");
    for (text, engine, says) in [
        (
            format!("{sarama}[producer.sarama]\n\"Flush.Frequencyy\" = \"1ms\"\n"),
            "sarama",
            "Flush.Frequencyy",
        ),
        (
            format!("{sarama}[producer.sarama]\n\"Flush.Frequency\" = \"soon\"\n"),
            "sarama",
            "expected a duration",
        ),
        (
            format!("{sarama}[producer.properties]\n\"linger.ms\" = \"5\"\n"),
            "sarama",
            "producer.properties",
        ),
        (format!("{sarama}{txn}"), "sarama", "producer.transaction"),
        (
            format!("{franz}[producer.franz-go]\nProducerLingerr = \"1ms\"\n"),
            "franz-go",
            "ProducerLingerr",
        ),
        (
            format!("{franz}[producer.franz-go]\nProducerLinger = \"soon\"\n"),
            "franz-go",
            "expected a duration",
        ),
        (
            format!("{franz}batch_messages = 100\n"),
            "franz-go",
            "producer.batch_messages",
        ),
        (format!("{franz}{txn}"), "franz-go", "producer.transaction"),
        (
            format!("{franz}[producer.sarama]\nVersion = \"3.9.0\"\n"),
            "franz-go",
            "producer.sarama",
        ),
        (base("java"), "java", "cluster.bootstrap"),
        (
            format!("{java}batch_messages = 100\n"),
            "java",
            "producer.batch_messages",
        ),
        (
            format!("{java}[producer.java]\n\"linger.mss\" = \"3\"\n"),
            "java",
            "linger.mss",
        ),
        (
            format!("{java}[producer.java]\n\"linger.ms\" = \"soon\"\n"),
            "java",
            "linger.ms",
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
        assert!(stderr.contains(says) && stderr.contains(engine), "{stderr}");
        assert!(!dir.path().join("out").exists(), "no load, no result");
    }
    // validate --properties shows the engine's own resolved configuration.
    for (engine, says) in [
        ("sarama", "Producer.Flush.Frequency=7ms"),
        ("franz-go", "ProducerLinger=7ms"),
        ("java", "linger.ms=7"),
    ] {
        // A bootstrap that is never reached: validate resolves without connecting.
        let text =
            base(engine).replace("[topic]", "[cluster]\nbootstrap = \"127.0.0.1:1\"\n[topic]");
        let file = write(dir.path(), "ok.toml", &format!("{text}linger = \"7ms\"\n"));
        let out = kbench()
            .arg("validate")
            .arg(&file)
            .arg("--properties")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(says), "{stdout}");
    }
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

/// `[consume]` with a Go engine sending: the stamp rides in the payload (sent inline), and the
/// run's consumers read every message back.
#[test]
fn consumers_read_back_what_the_engines_sent() {
    if !go() {
        return;
    }
    for (engine, _) in ENGINES {
        let text = format!("{}[consume]\nconsumers = 1\n", base(engine));
        let r = run(&scenario(&text, &["load.rate=300/s", "load.duration=2s"]));
        assert_accounted(&r);
        let c = &r.counts;
        assert_eq!(c.acked, 600, "{engine}: {:?}", r.events);
        assert_eq!(
            (c.consumed, c.missing, c.duplicates),
            (Some(600), Some(0), Some(0)),
            "{engine}: {:?}",
            r.consume
        );
        assert!(
            r.latency_us.e2e.count >= 600,
            "{engine}: {:?}",
            r.latency_us.e2e
        );
    }
}
