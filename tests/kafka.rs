//! On a real Apache Kafka 4.1 cluster: three KRaft nodes (scripts/kafka.sh) on 127.0.0.1, one
//! cluster for this test binary, shared by its tests one at a time (`common::kafka::shared`), every
//! check on a topic of its own; `cargo test --test kafka NAME` runs one. What the embedded broker and
//! tansu cannot show: acks=all against acks=1 on replication factor 3, min.insync.replicas with a
//! node down, a leader killed mid-run with and without idempotence, watermarks that can be
//! trusted. Skipped (with a message) without Java and Maven, unless KBENCH_REQUIRE_KAFKA=1 (the
//! README's test command). Three JVM brokers and the generator share this machine's CPUs.

mod common;

use std::time::{Duration, Instant};

use common::kafka::{shared, Kafka};
use common::{assert_accounted, run, scenario};
use kbench::result::RunResult;

fn base(k: &Kafka, topic: &str) -> String {
    format!(
        r#"
name = "{topic}"
[cluster]
bootstrap = "{}"
connect_timeout = "20s"
[topic]
name = "{topic}"
partitions = 3
replication = 3
[producer]
workers = 2
linger = "0ms"
[message]
size = "200B"
keys = "sequential"
key_cardinality = 1000000
"#,
        k.bootstrap
    )
}

/// Keys read back: (distinct messages, missing of `expected` keys 0..expected, duplicated).
fn exactly_once(k: &Kafka, topic: &str, r: &RunResult) -> (usize, u64, u64) {
    let keys = k.keys_in(topic, r.broker.partitions);
    let dup = keys
        .values()
        .filter(|&&n| n > 1)
        .map(|&n| (n - 1) as u64)
        .sum();
    let acked = r.counts.acked + r.warmup_counts.acked;
    let missing = acked.saturating_sub(keys.len() as u64);
    (keys.len(), missing, dup)
}

/// At `rate = "max"` librdkafka's queue (100k messages on a real cluster) still drains after the
/// window: throughput is the acks inside it, equal to the interval series summed over the window,
/// and the rest is the drain.
#[test]
fn rate_max_by_duration_counts_only_the_window() {
    let Some(k) = shared() else {
        return;
    };
    let k = &*k;
    let r = run(&scenario(
        &base(k, "max-window"),
        &[
            "producer.acks=all",
            "message.size=1KiB",
            "load.rate=max",
            "load.duration=4s",
        ],
    ));
    assert_accounted(&r);
    assert_eq!(r.duration_s, 4.0);
    let sum = common::interval_rate(&r);
    let tp = r.throughput.msgs_per_sec;
    eprintln!(
        "Kafka rate=max 4 s: throughput {tp}, intervals {sum}, drain {:?}",
        r.drain
    );
    assert!(
        (tp - sum).abs() <= 0.01 * sum,
        "throughput {tp} msg/s, the intervals inside the window {sum} msg/s"
    );
    let d = r.drain.expect("a duration run has a drain");
    assert_eq!(r.counts.acked, (tp * 4.0).round() as u64 + d.messages);
}

#[test]
fn many_topics_are_created_together_and_deleted_after() {
    let Some(k) = shared() else {
        return;
    };
    let k = &*k;
    let text = format!(
        "{}\n[consume]\nmode = \"partitions\"\n",
        base(k, "multi-{i}")
    );
    let r = run(&scenario(
        &text,
        &[
            "topic.count=5",
            "topic.partitions=2",
            "topic.delete_after=true",
            "load.rate=500/s",
            "load.duration=3s",
        ],
    ));
    assert_accounted(&r);
    assert_eq!(r.topics.len(), 5);
    assert_eq!(
        r.topics.iter().map(|t| t.messages).sum::<u64>(),
        r.counts.acked
    );
    assert_eq!(r.partitions.len(), 10);
    assert_eq!(r.counts.consumed, Some(r.counts.acked));
    assert!(
        r.events
            .iter()
            .any(|e| e.kind == kbench::event::EventKind::TopicsDeleted
                && e.detail.starts_with("deleted the 5 topics")),
        "{:?}",
        r.events
    );
    let start = Instant::now();
    while !k.topics_named("multi-").is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "topics left: {:?}",
            k.topics_named("multi-")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn acks_all_costs_more_than_acks_1() {
    let Some(k) = shared() else {
        return;
    };
    let k = &*k;
    // A B B A, and the lower p50 of each: noise (a JVM still warming up after the start, a
    // neighbour on the shared CPUs) only ever adds latency.
    let mut p50 = [u64::MAX; 2];
    for (round, acks) in ["1", "all", "all", "1"].into_iter().enumerate() {
        let topic = format!("acks-{acks}-{round}");
        let r = run(&scenario(
            &base(k, &topic),
            &[
                &format!("producer.acks={acks}"),
                "load.rate=500/s",
                "load.duration=4s",
                "load.warmup=1s",
            ],
        ));
        assert_accounted(&r);
        assert_eq!(r.broker.kind, kbench::result::BrokerKind::External);
        assert_eq!(r.counts.sent, 2_000);
        assert_eq!(r.counts.acked, 2_000, "acks={acks}: {:?}", r.errors);
        assert_eq!(r.loss_rate, 0.0);
        assert!(
            !r.notes.iter().any(|n| n.contains("acks are not honoured")),
            "{:?}",
            r.notes
        );
        assert!(
            !r.notes.iter().any(|n| n.contains("replication factor 1")),
            "{:?}",
            r.notes
        );
        eprintln!(
            "kafka acks={acks}: service p50 {} µs, p99 {} µs; corrected p99 {} µs",
            r.latency_us.service.p50, r.latency_us.service.p99, r.latency_us.corrected.p99
        );
        let i = usize::from(acks == "all");
        p50[i] = p50[i].min(r.latency_us.service.p50);
    }
    // acks=all waits for the followers of an RF=3 topic; acks=1 only for the leader.
    assert!(
        p50[1] > p50[0],
        "acks=all p50 {} µs vs acks=1 {} µs",
        p50[1],
        p50[0]
    );
}

#[test]
fn fire_and_forget_lands_what_watermarks_say() {
    let Some(k) = shared() else {
        return;
    };
    let k = &*k;
    let topic = "acks-0";
    let r = run(&scenario(
        &base(k, topic),
        &[
            "producer.mode=fire-and-forget",
            "load.messages=3000",
            "load.rate=1000/s",
        ],
    ));
    assert_accounted(&r);
    let landed = r.landed_messages.expect("Kafka's watermarks are read");
    let (read, _, dup) = exactly_once(k, topic, &r);
    // On Kafka the watermarks are right: they count what a consumer reads back.
    assert_eq!(landed, read as u64 + dup);
    assert_eq!(
        landed, 3_000,
        "acks=0 on a healthy cluster loses nothing here"
    );
}

#[test]
fn every_codec_lands_exactly() {
    let Some(k) = shared() else {
        return;
    };
    let k = &*k;
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("codec-{codec}");
        let r = run(&scenario(
            &base(k, &topic),
            &[
                &format!("producer.compression={codec}"),
                "message.compressibility=0.5",
                "load.messages=1500",
            ],
        ));
        assert_accounted(&r);
        assert_eq!(r.counts.acked, 1_500, "{codec}: {:?}", r.errors);
        assert_eq!(r.landed_messages, Some(1_500), "{codec}");
        let (read, missing, dup) = exactly_once(k, &topic, &r);
        assert_eq!((read, missing, dup), (1_500, 0, 0), "{codec}");
    }
}

#[test]
fn min_insync_3_refuses_acks_all_with_a_node_down() {
    let Some(k) = shared() else {
        return;
    };
    let k = &*k;
    let topic = "min-isr-3";
    let text = base(k, topic);
    // Create the topic with all three nodes up.
    let r = run(&scenario(
        &text,
        &[
            "topic.configs={ \"min.insync.replicas\" = \"3\" }",
            "load.messages=100",
        ],
    ));
    assert_eq!(r.counts.acked, 100, "{:?}", r.errors);
    k.sh(&["kill", "3"]);
    let _revive = Revive(k, "3");
    k.wait_for(topic, "node 3 leaving the ISR", |_, isr| isr == 2);
    let r = run(&scenario(
        &text,
        &[
            "producer.acks=all",
            "producer.retries=0",
            "load.messages=300",
            "load.rate=300/s",
        ],
    ));
    assert_accounted(&r);
    assert_eq!(r.counts.acked, 0, "{:?}", r.counts);
    assert_eq!(r.counts.failed, 300, "{:?}", r.counts);
    assert_eq!(
        r.errors.get("NOT_ENOUGH_REPLICAS"),
        Some(&300),
        "{:?}",
        r.errors
    );
    // acks=1 needs only the leader.
    let r = run(&scenario(&text, &["producer.acks=1", "load.messages=300"]));
    assert_accounted(&r);
    assert_eq!(r.counts.acked, 300, "{:?}", r.errors);
    k.sh(&["restart", "3"]);
    k.wait_for(topic, "node 3 back in the ISR", |_, isr| isr == 3);
}

/// An idempotent or plain acks=all run at 400 msg/s for 20 s whose partition-0 leader is
/// SIGKILLed at 3 s and restarted 4 s later (the stall lasted 4 to 7 s here: long enough a run
/// that the recovery falls inside it).
fn failover(k: &Kafka, topic: &str, idempotence: bool, consume: bool, extra: &[&str]) -> RunResult {
    let mut text = base(k, topic);
    if consume {
        // A consumer group of two reads it all back, through the node's death and return.
        text.push_str("[consume]\nconsumers = 2\ngrace = \"30s\"\n");
    }
    k.create_topic(topic, 3);
    let (leader, _) = k
        .leader_and_isr(topic, 0)
        .expect("partition 0 has a leader");
    let with_fault = format!(
        "{text}\n[[faults]]\nat = \"3s\"\naction = \"exec\"\ncommand = {}\nundo = {}\nduration = \"4s\"\n",
        k.fault_argv(&["kill", &leader.to_string()]),
        k.fault_argv(&["restart", &leader.to_string()]),
    );
    let idempotence = format!("producer.idempotence={idempotence}");
    let mut sets = vec![
        "producer.acks=all",
        &idempotence,
        "load.rate=400/s",
        "load.duration=20s",
        "load.grace=30s",
    ];
    sets.extend_from_slice(extra);
    let r = run(&scenario(&with_fault, &sets));
    assert_accounted(&r);
    let faults: Vec<&str> = r
        .events
        .iter()
        .filter(|e| e.kind == kbench::event::EventKind::FaultExec)
        .map(|e| e.detail.as_str())
        .collect();
    assert!(faults.iter().all(|f| f.contains("exit 0")), "{faults:?}");
    k.wait_for(topic, "the killed node back in the ISR", |_, isr| isr == 3);
    r
}

#[test]
fn leader_failover_with_idempotence_keeps_one_copy() {
    let Some(k) = shared() else {
        return;
    };
    let k = &*k;
    let topic = "failover-idempotent";
    let r = failover(k, topic, true, true, &[]);
    assert_eq!(
        r.counts.failed + r.counts.unresolved,
        0,
        "{:?} {:?}",
        r.counts,
        r.errors
    );
    assert_eq!(r.counts.acked, 8_000);
    let (read, missing, dup) = exactly_once(k, topic, &r);
    assert_eq!((missing, dup), (0, 0), "{read} read back");
    // The consumers agree, and the stall shows end to end as well.
    let c = &r.counts;
    assert_eq!(
        (c.consumed, c.missing, c.duplicates),
        (Some(8_000), Some(0), Some(0)),
        "{:?} {:?}",
        r.consume,
        r.events
    );
    assert!(r.latency_us.e2e.max >= r.latency_us.corrected.max / 2);
    eprintln!(
        "kafka failover e2e: p50 {} µs, p99 {} µs, max {} µs",
        r.latency_us.e2e.p50, r.latency_us.e2e.p99, r.latency_us.e2e.max
    );
    // The stall shows in corrected latency, and the time to recover is reported.
    assert!(
        r.latency_us.corrected.max > 500_000,
        "{:?}",
        r.latency_us.corrected
    );
    let start = r
        .events
        .iter()
        .find(|e| e.kind == kbench::event::EventKind::Fault)
        .unwrap();
    let recovery = start
        .recovery_s
        .expect("a fault start at a fixed rate has a recovery");
    eprintln!(
        "kafka failover (idempotent): corrected p99 {} µs, max {} µs, recovery {recovery:?} s",
        r.latency_us.corrected.p99, r.latency_us.corrected.max
    );
    let recovery = recovery.expect("back to normal before the run ended");
    assert!(recovery > 0.5, "recovered after {recovery} s");
}

#[test]
fn leader_failover_without_idempotence_is_at_least_once() {
    let Some(k) = shared() else {
        return;
    };
    let k = &*k;
    let topic = "failover-plain";
    let r = failover(k, topic, false, false, &[]);
    let (read, missing, dup) = exactly_once(k, topic, &r);
    eprintln!(
        "kafka failover without idempotence: {} acked, {read} distinct read back, {missing} missing, {dup} duplicates",
        r.counts.acked
    );
    assert_eq!(missing, 0, "acks=all lost an acked message");
    assert!(
        r.notes.iter().any(|n| n.contains("at-least-once")),
        "{:?}",
        r.notes
    );
}

/// A scenario of `messages` to `topic` over the SCRAM-SHA-512 listeners, its password from
/// $KBENCH_TEST_KAFKA_PASSWORD; `extra` adds sections.
fn scram_scenario(k: &Kafka, topic: &str, extra: &str, messages: u32) -> String {
    format!(
        "name = \"sasl\"\n[cluster]\nbootstrap = \"{}\"\nconnect_timeout = \"20s\"\n\
         [cluster.security]\nprotocol = \"SASL_PLAINTEXT\"\nmechanism = \"SCRAM-SHA-512\"\n\
         username = \"kbench\"\npassword = {{ env = \"KBENCH_TEST_KAFKA_PASSWORD\" }}\n\
         [topic]\nname = \"{topic}\"\n{extra}[load]\nmessages = {messages}\n",
        k.read("sasl-bootstrap")
    )
}

/// `kbench run` of `text` (with `password` in $KBENCH_TEST_KAFKA_PASSWORD); returns (exit code,
/// stdout + stderr + result.json, elapsed).
fn run_binary(text: &str, password: &str) -> (Option<i32>, String, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secure.toml");
    std::fs::write(&path, text).unwrap();
    let out_dir = dir.path().join("out");
    let start = Instant::now();
    let out = assert_cmd::Command::cargo_bin("kbench")
        .unwrap()
        .arg("run")
        .arg(&path)
        .args(["--no-charts", "--out"])
        .arg(&out_dir)
        .env("KBENCH_TEST_KAFKA_PASSWORD", password)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let mut printed = String::from_utf8_lossy(&out.stdout).into_owned();
    printed += &String::from_utf8_lossy(&out.stderr);
    for run in std::fs::read_dir(&out_dir).into_iter().flatten().flatten() {
        printed += &std::fs::read_to_string(run.path().join("result.json")).unwrap_or_default();
    }
    (out.status.code(), printed, start.elapsed())
}

#[test]
fn sasl_scram_and_tls_on_the_real_thing() {
    let Some(k) = shared() else {
        return;
    };
    let k = &*k;
    let password = k.read("scram-password");
    let sasl = scram_scenario(k, "sasl", "", 500);
    // The right password: a successful SCRAM login, and every message delivered.
    let (code, printed, _) = run_binary(&sasl, &password);
    assert_eq!(code, Some(0), "{printed}");
    assert!(printed.contains("acked 500"), "{printed}");
    assert!(!printed.contains(&password), "the password leaked");
    // A wrong one: refused at once (well inside connect_timeout), with librdkafka's reason.
    let wrong = "not-the-password-9c2e";
    let (code, printed, took) = run_binary(&sasl, wrong);
    assert_eq!(code, Some(3), "{printed}");
    assert!(printed.contains("Authentication failed"), "{printed}");
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert!(!printed.contains(wrong), "the password leaked");
    // TLS with the cluster's throwaway CA.
    let tls = format!(
        "name = \"tls\"\n[cluster]\nbootstrap = \"{}\"\nconnect_timeout = \"20s\"\n\
         [cluster.security]\nprotocol = \"SSL\"\nca = \"{}\"\n[topic]\nname = \"tls\"\n\
         [load]\nmessages = 500\n",
        k.read("ssl-bootstrap"),
        k.state().join("ca.pem").display()
    );
    let (code, printed, _) = run_binary(&tls, "");
    assert_eq!(code, Some(0), "{printed}");
    assert!(printed.contains("acked 500"), "{printed}");
}

#[test]
fn a_byte_rate_quota_shows_as_throttling() {
    let Some(k) = shared() else {
        return;
    };
    let k = &*k;
    // kbench's client.id is "kbench-<scenario name>": a 20 kB/s produce quota for this one.
    k.sh(&[
        "java",
        "kafka.admin.ConfigCommand",
        "--bootstrap-server",
        &k.bootstrap,
        "--alter",
        "--add-config",
        "producer_byte_rate=20000",
        "--entity-type",
        "clients",
        "--entity-name",
        "kbench-quota",
    ]);
    // Kafka applies a quota change within a moment: retry the run until a throttle shows.
    let start = Instant::now();
    loop {
        let r = run(&scenario(
            &base(k, "quota"),
            &["load.rate=1000/s", "load.duration=4s", "load.grace=30s"],
        ));
        assert_accounted(&r);
        let throttle = r
            .client
            .as_ref()
            .and_then(|c| c.breakdown)
            .map_or(0, |b| b.throttle_ms);
        let events = r
            .events
            .iter()
            .filter(|e| e.kind == kbench::event::EventKind::Throttle)
            .count();
        eprintln!("kafka quota 20 kB/s at 200 kB/s offered: throttle up to {throttle} ms, {events} events");
        if throttle > 0 {
            assert!(events > 0, "{:?}", r.events);
            let m = kbench::gate::Metric::parse("client.throttle").unwrap();
            assert_eq!(kbench::gate::value(&m, &r), Some(throttle as f64));
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no throttling seen"
        );
    }
}

#[test]
fn transactions_commit_and_abort() {
    let Some(k) = shared() else {
        return;
    };
    let k = &*k;
    let topic = "tx-abort";
    let r = run(&scenario(
        &base(k, topic),
        &[
            "producer.acks=all",
            "producer.idempotence=true",
            "producer.transaction={ messages = 100, abort_every = 10 }",
            "load.messages=2000",
            "load.rate=1000/s",
            "consume={ consumers = 1, isolation = \"read_committed\" }",
        ],
    ));
    assert_accounted(&r);
    // The run's own read_committed consumer reads exactly the committed messages.
    assert_eq!(r.counts.consumed, Some(1_800), "{:?}", r.consume);
    assert_eq!((r.counts.missing, r.counts.duplicates), (Some(0), Some(0)));
    let t = r.transactions.expect("transactions reported");
    assert_eq!(
        (t.committed, t.aborted, t.failed),
        (18, 2, 0),
        "{:?}",
        r.events
    );
    assert_eq!((r.counts.acked, r.counts.aborted), (1_800, 200));
    // A read_committed consumer sees the committed transactions' messages, none of the aborted.
    assert_eq!(k.committed_records(topic, r.broker.partitions), 1_800);
    // What transactions cost: throughput and commit latency at 10, 100, 1000 per transaction.
    for (n, count) in [(10, 2_000), (100, 5_000), (1000, 10_000)] {
        let topic = format!("tx-{n}");
        let r = run(&scenario(
            &base(k, &topic),
            &[
                "producer.acks=all",
                "producer.idempotence=true",
                &format!("producer.transaction={{ messages = {n} }}"),
                &format!("load.messages={count}"),
            ],
        ));
        assert_accounted(&r);
        assert_eq!(r.counts.acked, count);
        eprintln!(
            "kafka transactions of {n}: {:.0} msg/s, {} commits, commit p50 {} µs, p99 {} µs",
            r.throughput.msgs_per_sec,
            r.latency_us.commit.count,
            r.latency_us.commit.p50,
            r.latency_us.commit.p99
        );
    }
}

/// HdrHistogram's own Java tools read kbench's `latency.hlog` (the jar comes with Kafka's, from
/// Maven Central), and the whole-log percentiles are result.json's within the interval
/// histograms' precision (2 significant digits against the run's 3).
#[test]
fn hdrhistogram_log_processor_reads_the_log() {
    if !common::kafka::installed() {
        assert!(
            std::env::var("KBENCH_REQUIRE_KAFKA").map_or(true, |v| v != "1"),
            "Java and the Kafka jars are required"
        );
        common::skipped(
            "hlog",
            "Java or the Kafka jars (with HdrHistogram) are missing",
        );
        return;
    }
    let s = scenario(
        "name = \"hlog\"\n[load]\nrate = \"2000/s\"\nduration = \"2s\"\n",
        &[],
    );
    let dir = tempfile::tempdir().unwrap();
    let (r, path) = common::run_in(&s, dir.path(), kbench::signal::Interrupts::none()).unwrap();
    let out = std::process::Command::new("bash")
        .args([
            "scripts/kafka.sh",
            "java",
            "org.HdrHistogram.HistogramLogProcessor",
            "-i",
        ])
        .arg(path.join("latency.hlog"))
        .args(["-tag", "corrected", "-outputValueUnitRatio", "1"])
        // Fine percentile steps, so rows fall right at p50 and p99.
        .args(["-percentilesOutputTicksPerHalf", "200"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Rows: value, percentile, total count, 1/(1-percentile); then the summary lines.
    let rows: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
        })
        .collect();
    let at = |q: f64| rows.iter().find(|(_, p)| *p >= q).map(|(v, _)| *v).unwrap();
    let total: u64 = text
        .lines()
        .find_map(|l| l.split("Total count    =").nth(1))
        .and_then(|v| v.trim().trim_end_matches(']').trim().parse().ok())
        .expect("a total count line");
    assert_eq!(total, r.counts.acked);
    for (q, want) in [
        (0.5, r.latency_us.corrected.p50),
        (0.99, r.latency_us.corrected.p99),
    ] {
        let got = at(q);
        let off = (got - want as f64).abs() / want as f64;
        assert!(
            off <= 0.02,
            "p{q}: HistogramLogProcessor {got} µs, result.json {want} µs"
        );
    }
}

/// Restarts a killed node if the test holding it fails, so the next test finds three nodes.
struct Revive<'a>(&'a Kafka, &'static str);

impl Drop for Revive<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.sh(&["restart", self.1]);
        }
    }
}

/// `kbench run FILE --out DIR/out` of scenario `text` written to DIR; (exit code, stderr,
/// whether DIR/out exists, elapsed).
fn run_file(text: &str) -> (Option<i32>, String, bool, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.toml");
    std::fs::write(&path, text).unwrap();
    let start = Instant::now();
    let out = assert_cmd::Command::cargo_bin("kbench")
        .unwrap()
        .arg("run")
        .arg(&path)
        .args(["--no-charts", "--out"])
        .arg(dir.path().join("out"))
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (
        out.status.code(),
        stderr,
        dir.path().join("out").exists(),
        start.elapsed(),
    )
}

#[test]
fn topics_are_created_with_configs_checked_and_refused() {
    let Some(k) = shared() else {
        return;
    };
    let text = base(&k, "made-by-kbench");
    // Created through the admin API, with its partitions and configs.
    let r = run(&scenario(
        &text,
        &[
            "load.messages=100",
            "topic.partitions=4",
            "topic.configs={ \"retention.ms\" = \"600000\" }",
        ],
    ));
    assert_eq!((r.broker.partitions, r.counts.acked), (4, 100));
    assert_eq!(
        k.topic_config("made-by-kbench", "retention.ms").as_deref(),
        Some("600000")
    );
    // It exists now: another partition count is a note naming both counts.
    let r = run(&scenario(
        &text,
        &["load.messages=100", "topic.partitions=2"],
    ));
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("has 4 partitions, the scenario asks for 2")),
        "{:?}",
        r.notes
    );
    // create = false and missing: exit 3 before any load, naming the topic.
    let missing =
        base(&k, "not-there").replace("replication = 3\n", "replication = 3\ncreate = false\n");
    let (code, stderr, wrote, _) = run_file(&missing);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("topic \"not-there\" does not exist and [topic] create = false"),
        "{stderr}"
    );
    assert!(!wrote, "no load, no result");
}

#[test]
fn a_wrong_ca_fails_fast() {
    let Some(k) = shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other-ca.pem");
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=not-the-cluster-ca", "-keyout"])
        .arg(dir.path().join("other-ca.key"))
        .arg("-out")
        .arg(&other)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let tls = format!(
        "name = \"wrong-ca\"\n[cluster]\nbootstrap = \"{}\"\nconnect_timeout = \"20s\"\n\
         [cluster.security]\nprotocol = \"SSL\"\nca = \"{}\"\n[topic]\nname = \"tls\"\n\
         [load]\nmessages = 10\n",
        k.read("ssl-bootstrap"),
        other.display()
    );
    let (code, stderr, _, took) = run_file(&tls);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("certificate verify failed"), "{stderr}");
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

/// A transaction timeout above the broker's `transaction.max.timeout.ms` (15 min): Kafka refuses
/// the producer's transactions, and kbench stops with the broker's reason instead of hanging.
#[test]
fn a_broker_refusing_transactions_stops_with_a_clear_error() {
    let Some(k) = shared() else {
        return;
    };
    let text = base(&k, "tx-refused").replace(
        "[producer]\n",
        "[producer]\nacks = \"all\"\nidempotence = true\ntransaction = { messages = 100 }\n\
         properties = { \"transaction.timeout.ms\" = \"900001\" }\n",
    ) + "[load]\nmessages = 500\n";
    let (code, stderr, _, took) = run_file(&text);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("transactions on instance 0")
            && stderr.contains("Transaction timeout is larger than the maximum"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(60), "no hang: {took:?}");
}

/// acks=all on a topic of replication factor 1 waits for nobody else: the result says so.
#[test]
fn acks_all_on_one_replica_is_noted() {
    let Some(k) = shared() else {
        return;
    };
    let r = run(&scenario(
        &base(&k, "one-replica"),
        &[
            "topic.replication=1",
            "producer.acks=all",
            "load.messages=200",
        ],
    ));
    assert_eq!(r.counts.acked, 200, "{:?}", r.errors);
    assert!(
        r.notes.iter().any(|n| n.contains("replication factor 1")),
        "{:?}",
        r.notes
    );
}

/// The external engines kbench drives (sarama, franz-go, the Java producer).
const ENGINES: [&str; 3] = ["sarama", "franz-go", "java"];

/// The external engines on the 3-node cluster: acks 0, 1 and all, every codec, each message read back
/// exactly once (keys unique per message).
#[test]
fn engines_land_exactly_what_they_ack() {
    let Some(k) = shared() else {
        return;
    };
    if !common::engines_buildable() {
        return;
    }
    let cases = [
        ("0", "none"),
        ("1", "gzip"),
        ("all", "snappy"),
        ("all", "lz4"),
        ("all", "zstd"),
    ];
    for (engine, (acks, codec)) in ENGINES.into_iter().flat_map(|e| cases.map(|c| (e, c))) {
        let topic = format!("{engine}-{acks}-{codec}");
        // A settled topic (every partition led, in sync): acks=0 has no answer to retry on.
        k.create_topic(&topic, 3);
        let mode = if acks == "0" {
            "fire-and-forget"
        } else {
            "async"
        };
        let (engine_set, mode, acks_set, codec_set) = (
            format!("producer.engine={engine}"),
            format!("producer.mode={mode}"),
            format!("producer.acks={acks}"),
            format!("producer.compression={codec}"),
        );
        let mut sets = vec![
            &engine_set,
            &mode,
            &acks_set,
            &codec_set,
            "message.compressibility=0.5",
            "load.messages=1500",
            "load.rate=1500/s",
        ];
        if codec == "zstd" {
            // One case carries headers: two of 8 bytes on every message.
            sets.push("message.headers={ count = 2, size = \"8B\" }");
        }
        let r = run(&scenario(&base(&k, &topic), &sets));
        assert_accounted(&r);
        assert_eq!(
            r.counts.acked, 1_500,
            "{engine} acks={acks} {codec}: {:?}",
            r.errors
        );
        let landed = r.landed_messages.expect("Kafka's watermarks are read");
        if acks == "0" {
            // acks=0 confirms nothing: on this busy machine the brokers were still appending
            // sarama's one-message requests seconds after the run (the watermarks read at its end
            // moved by 939 to 1,432 of 1,500). What was sent lands in the end, exactly once.
            let total = k.wait_for_records(&topic, 3, 1_500, Duration::from_secs(60));
            eprintln!("{engine} acks=0: {landed} landed when the run ended, {total} within 60 s");
        }
        let (read, missing, dup) = exactly_once(&k, &topic, &r);
        eprintln!("{engine} acks={acks} {codec}: {read} read back, {missing} missing, {dup} duplicated; watermarks moved by {landed}");
        assert_eq!(
            (read, missing, dup),
            (1_500, 0, 0),
            "{engine} acks={acks} {codec}"
        );
        if acks == "0" {
            continue;
        }
        assert_eq!(landed, 1_500, "{engine} acks={acks} {codec}");
        let names: Vec<String> = k.first_headers(&topic).into_iter().map(|h| h.0).collect();
        match codec {
            "zstd" => assert_eq!(names, ["kbench-0", "kbench-1"], "{engine} {codec}"),
            _ => assert!(names.is_empty(), "{codec}: {names:?}"),
        }
    }
}

/// Each external engine, idempotent, through the same leader failover: kbench's counts (acked, failed,
/// and what its consumers read back, missing and duplicated) agree with what a reader finds in
/// the topic. kbench measures the client, it does not vouch for it: whatever a client lost or
/// duplicated is asserted to be reported, and printed for docs/engines.md; franz-go and the Java
/// producer promise exactly once with idempotence, and are held to it.
#[test]
fn engines_idempotent_failover_is_reported_as_the_topic_holds_it() {
    let Some(k) = shared() else {
        return;
    };
    if !common::engines_buildable() {
        return;
    }
    let k = &*k;
    for engine in ENGINES {
        let topic = format!("{engine}-failover");
        let set = format!("producer.engine={engine}");
        let r = failover(k, &topic, true, true, &[&set]);
        let (read, missing, dup) = exactly_once(k, &topic, &r);
        let c = &r.counts;
        eprintln!(
            "{engine} idempotent failover: {} sent, {} acked, {} failed {:?}, {} unresolved; \
             the topic holds {read} distinct ({missing} acked missing, {dup} duplicates); \
             kbench's consumers: {:?} read, {:?} missing, {:?} duplicates",
            c.sent, c.acked, c.failed, r.errors, c.unresolved, c.consumed, c.missing, c.duplicates
        );
        assert_eq!(c.acked + c.failed + c.unresolved, c.sent, "{c:?}");
        assert_eq!(c.failed, r.errors.values().sum::<u64>(), "{:?}", r.errors);
        assert_eq!(
            (c.consumed, c.duplicates),
            (Some(read as u64), Some(dup)),
            "{engine}: kbench's consumers and the reader disagree"
        );
        assert_eq!(c.missing, Some(missing), "{engine}: {:?}", r.consume);
        if engine != "sarama" {
            assert_eq!(
                (c.acked, missing, dup),
                (c.sent, 0, 0),
                "{engine}: {:?}",
                r.errors
            );
        }
        assert!(
            r.latency_us.corrected.max > 500_000,
            "{engine}: {:?}",
            r.latency_us.corrected
        );
    }
}

/// min.insync.replicas=3 with a node killed: every acks=all send of each external engine fails as
/// NOT_ENOUGH_REPLICAS; a wrong SCRAM password is exit 3; the right one delivers.
#[test]
fn engines_report_refusals_by_kafkas_names() {
    let Some(k) = shared() else {
        return;
    };
    if !common::engines_buildable() {
        return;
    }
    let topic = "go-engines-min-isr-3";
    let text = base(&k, topic);
    let r = run(&scenario(
        &text,
        &[
            "topic.configs={ \"min.insync.replicas\" = \"3\" }",
            "load.messages=10",
        ],
    ));
    assert_eq!(r.counts.acked, 10, "{:?}", r.errors);
    k.sh(&["kill", "3"]);
    let _revive = Revive(&k, "3");
    k.wait_for(topic, "node 3 leaving the ISR", |_, isr| isr == 2);
    for engine in ENGINES {
        let set = format!("producer.engine={engine}");
        let r = run(&scenario(
            &text,
            &[
                &set,
                "producer.acks=all",
                "producer.retries=0",
                "load.messages=200",
                "load.rate=200/s",
            ],
        ));
        assert_accounted(&r);
        assert_eq!(
            r.counts.failed, 200,
            "{engine}: {:?} {:?}",
            r.counts, r.errors
        );
        assert_eq!(
            r.errors.get("NOT_ENOUGH_REPLICAS"),
            Some(&200),
            "{engine}: {:?}",
            r.errors
        );
    }
    k.sh(&["restart", "3"]);
    k.wait_for(topic, "node 3 back in the ISR", |_, isr| isr == 3);

    let password = k.read("scram-password");
    for engine in ENGINES {
        let sasl = scram_scenario(
            &k,
            &format!("{engine}-sasl"),
            &format!("[producer]\nengine = \"{engine}\"\n"),
            300,
        );
        let (code, printed, _) = run_binary(&sasl, &password);
        assert_eq!(code, Some(0), "{engine}: {printed}");
        assert!(printed.contains("acked 300"), "{engine}: {printed}");
        assert!(!printed.contains(&password), "the password leaked");
        let wrong = "not-the-password-4b1d";
        let (code, printed, _) = run_binary(&sasl, wrong);
        assert_eq!(code, Some(3), "{engine}: {printed}");
        assert!(!printed.contains(wrong), "the password leaked");
    }
}

/// The Java producer (it cannot talk to the embedded broker, so its every-mode checks are here):
/// async, sync (batches of 4) and fire-and-forget account for every message; `[consume]` reads
/// each back with its end-to-end latency; the JVM options are in the result.
#[test]
fn java_accounts_for_every_mode_and_reads_back() {
    let Some(k) = shared() else {
        return;
    };
    if !common::engines_buildable() {
        return;
    }
    for (mode, batch) in [("async", 1), ("sync", 4), ("fire-and-forget", 1)] {
        let topic = format!("java-mode-{mode}");
        k.create_topic(&topic, 3);
        let mut text = base(&k, &topic);
        if mode == "async" {
            text.push_str("[consume]\nconsumers = 1\n");
        }
        let (mode_set, batch_set) = (
            format!("producer.mode={mode}"),
            format!("producer.sync_batch={batch}"),
        );
        let r = run(&scenario(
            &text,
            &[
                "producer.engine=java",
                &mode_set,
                &batch_set,
                "load.rate=200/s",
                "load.duration=2s",
            ],
        ));
        assert_accounted(&r);
        let c = &r.counts;
        assert_eq!(
            (c.sent, c.acked, c.failed, c.unresolved),
            (400, 400, 0, 0),
            "{mode}: {:?}",
            r.events
        );
        let e = r.engine.as_ref().expect("the engine is recorded");
        assert!(e.client.contains("kafka-clients 4.1.2"), "{e:?}");
        assert!(e.cpu_s.is_some() && e.peak_rss_bytes.is_some(), "{e:?}");
        let jvm = &r.client_properties.producer["jvm.options"];
        assert!(jvm.contains("-Xmx512M") && jvm.contains("UseG1GC"), "{jvm}");
        if mode == "async" {
            assert_eq!(
                (c.consumed, c.missing, c.duplicates),
                (Some(400), Some(0), Some(0)),
                "{:?}",
                r.consume
            );
            assert!(r.latency_us.e2e.count >= 400, "{:?}", r.latency_us.e2e);
            let m = e.metrics.as_ref().expect("the producer's metrics");
            assert!(
                m["records-per-request-avg"].as_f64().unwrap_or(0.0) > 0.0,
                "{m}"
            );
        }
    }
}

/// scenarios/clients.toml at a small scale (linger and rate fixed, 1 s per cell): one cell per
/// client and acks, and the comparison's client settings table with every client and its
/// marked rows.
#[test]
fn the_clients_sweep_writes_the_settings_table() {
    let Some(k) = shared() else {
        return;
    };
    if !common::engines_buildable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("kbench")
        .unwrap()
        .arg("run")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/clients.toml"
        ))
        .args(["--bootstrap", &k.bootstrap, "--quiet", "--no-charts"])
        .args(["--set", "producer.linger=5ms", "--set", "load.rate=1000/s"])
        .args(["--set", "load.duration=1s", "--set", "load.warmup=1s"])
        .arg("--out")
        .arg(dir.path())
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let sweep = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let md = std::fs::read_to_string(sweep.join("comparison.md")).unwrap();
    let settings = md
        .split("## Client settings")
        .nth(1)
        .expect("a settings table");
    let header = settings.lines().find(|l| l.starts_with("| key")).unwrap();
    for engine in ["librdkafka", "sarama", "franz-go", "java"] {
        assert!(header.contains(engine), "{header}");
    }
    let row = |key: &str| common::settings_row(&md, key);
    // The same acks on every client, both values over the sweep's cells.
    assert!(
        row("producer.acks").contains("RequiredAcks=1 / all"),
        "{settings}"
    );
    assert!(row("producer.acks").ends_with("| yes |"), "{settings}");
    // No client but librdkafka bounds messages per batch: marked.
    assert!(
        row("producer.batch_messages").contains("| no: "),
        "{settings}"
    );
}
