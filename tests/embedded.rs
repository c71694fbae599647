//! End-to-end runs on the embedded broker (librdkafka's mock cluster, in-process).

mod common;

use std::time::{Duration, Instant};

use common::{assert_accounted, run, run_in, scenario};
use kbench::recorder::hist;
use kbench::result::Status;
use kbench::signal::Interrupts;

const BASE: &str = r#"
name = "e2e"
[topic]
name = "e2e"
partitions = 3
[producer]
workers = 2
linger = "1ms"
[message]
size = "100B"
"#;

#[test]
fn async_run_by_count_accounts_for_every_message() {
    let s = scenario(BASE, &["load.messages=20000", "message.keys=random"]);
    let r = run(&s);
    assert_accounted(&r);
    assert_eq!(r.status, Status::Completed);
    assert_eq!(r.counts.sent, 20_000);
    assert_eq!(r.counts.acked, 20_000);
    assert_eq!(r.counts.unresolved, 0);
    assert!(r.errors.is_empty());
    assert_eq!(r.latency_us.corrected.count, 20_000);
    assert_eq!(r.latency_us.service.count, 20_000);
    assert_eq!(r.latency_us.send_lag.count, 20_000);
    assert!(r.throughput.msgs_per_sec > 0.0);
    assert!(r.target_rate.is_none() && r.achieved_rate_ratio.is_none());
    // Bytes: 100 B payload + 4-digit key (cardinality 10000).
    let bytes_per_msg = r.throughput.bytes_per_sec / r.throughput.msgs_per_sec;
    assert!((bytes_per_msg - 104.0).abs() < 0.01, "{bytes_per_msg}");
    // The stored histogram is the one the summary came from.
    let h = hist::decode(&r.histograms.corrected).unwrap();
    assert_eq!(hist::LatencyStats::of(&h), r.latency_us.corrected);
    // The interval series adds up to the totals.
    let sent: u64 = r.intervals.iter().map(|i| i.sent).sum();
    let acked: u64 = r.intervals.iter().map(|i| i.acked).sum();
    assert_eq!((sent, acked), (20_000, 20_000));
    assert_eq!(r.broker.kind, kbench::result::BrokerKind::Embedded);
    assert_eq!(r.broker.partitions, 3);
    assert!(r.notes.iter().any(|n| n.contains("acks are not honoured")));
}

#[test]
fn sync_run_has_one_message_in_flight_per_worker() {
    let s = scenario(
        BASE,
        &[
            "producer.mode=sync",
            "producer.workers=3",
            "load.messages=600",
        ],
    );
    let r = run(&s);
    assert_accounted(&r);
    assert_eq!((r.counts.sent, r.counts.acked), (600, 600));
    assert!(r.notes.iter().any(|n| n.contains("closed-loop")));
    // Closed loop: throughput cannot exceed workers / mean service latency (plus noise).
    let bound = 3.0 / (r.latency_us.service.mean / 1e6);
    assert!(
        r.throughput.msgs_per_sec <= bound * 1.2,
        "{} msg/s > bound {bound}",
        r.throughput.msgs_per_sec
    );
}

#[test]
fn fire_and_forget_sets_acks_zero() {
    let s = scenario(
        BASE,
        &["producer.mode=fire-and-forget", "load.messages=5000"],
    );
    assert_eq!(s.producer.acks().as_rdkafka(), "0");
    let r = run(&s);
    assert_accounted(&r);
    assert_eq!((r.counts.sent, r.counts.acked), (5_000, 5_000));
    assert!(r.notes.iter().any(|n| n.contains("acks=0")));
}

#[test]
fn every_compression_codec_works() {
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let set = format!("producer.compression={codec}");
        let s = scenario(
            BASE,
            &[&set, "load.messages=2000", "message.compressibility=0.5"],
        );
        let r = run(&s);
        assert_accounted(&r);
        assert_eq!(r.counts.acked, 2_000, "codec {codec}: {:?}", r.errors);
        assert_eq!(r.spec.producer.compression.as_rdkafka(), codec);
    }
}

#[test]
fn fixed_rate_sends_its_schedule_exactly() {
    let s = scenario(
        BASE,
        &["load.rate=1000/s", "load.duration=3s", "load.warmup=500ms"],
    );
    let r = run(&s);
    assert_accounted(&r);
    // 3 s at 1000/s measured, 0.5 s warm-up: the schedule fixes the counts on any machine.
    assert_eq!(r.counts.sent, 3_000);
    assert_eq!(r.warmup_counts.sent, 500);
    assert_eq!(r.counts.acked, 3_000);
    assert_eq!(r.target_rate, Some(1000.0));
    // The achieved ratio is acked msg/s over the target (how close a machine gets is measured
    // by benches/rates.sh, not asserted here).
    let ratio = r.achieved_rate_ratio.expect("a target rate gives a ratio");
    let expected = r.throughput.msgs_per_sec / 1000.0;
    assert!((ratio - expected).abs() < 1e-4, "{ratio} vs {expected}");
    assert!(ratio > 0.0);
    // Warm-up is excluded from latency, included in the interval series.
    assert_eq!(r.latency_us.corrected.count, 3_000);
    let series: u64 = r.intervals.iter().map(|i| i.sent).sum();
    assert_eq!(series, 3_500);
    // Corrected latency is never below service latency.
    assert!(r.latency_us.corrected.p50 >= r.latency_us.service.p50);
}

#[test]
fn interrupt_writes_a_partial_result() {
    let s = scenario(BASE, &["load.rate=500/s", "load.duration=60s"]);
    let dir = tempfile::tempdir().unwrap();
    let interrupts = Interrupts::none();
    let i2 = interrupts.clone();
    // Interrupted once 300 messages are out (progress, not a wall-clock delay; bounded anyway).
    let watch = move |live: kbench::run::Live| {
        std::thread::spawn(move || {
            let start = Instant::now();
            while live.sent() <= 300 && start.elapsed() < Duration::from_secs(60) {
                std::thread::sleep(Duration::from_millis(10));
            }
            i2.raise();
        });
    };
    let (r, path) = common::run_watched(&s, dir.path(), interrupts, watch).unwrap();
    assert_eq!(r.status, Status::Interrupted);
    assert!(path.join("result.json").exists());
    assert_accounted(&r);
    // More than the 300 seen before the interrupt, far fewer than the 30,000 scheduled.
    assert!(
        r.counts.sent > 300 && r.counts.sent < 30_000,
        "{}",
        r.counts.sent
    );
    assert!(r
        .events
        .iter()
        .any(|e| e.kind == kbench::event::EventKind::Interrupted));
}

#[test]
fn unreachable_cluster_fails_fast_with_a_broker_error() {
    let s = scenario(
        BASE,
        &[
            "cluster.bootstrap=127.0.0.1:1",
            "cluster.connect_timeout=2s",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let err = run_in(&s, dir.path(), Interrupts::none()).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(6));
    assert_eq!(kbench::exit_code_of(&err), kbench::exit::BROKER);
    let msg = format!("{err:#}");
    assert!(msg.contains("127.0.0.1:1") && msg.contains("2s"), "{msg}");
}

#[test]
fn local_rejections_are_failures_by_kind() {
    // A raw property bypasses the typed check: librdkafka rejects every send at once.
    let toml = format!("{BASE}\n[producer.properties]\n\"message.max.bytes\" = \"1000\"\n");
    let s = scenario(&toml, &["message.size=2000B", "load.messages=50"]);
    let r = run(&s);
    assert_accounted(&r);
    assert_eq!(r.counts.sent, 50);
    assert_eq!(r.counts.failed, 50);
    assert_eq!(
        r.errors.get("MSG_SIZE_TOO_LARGE"),
        Some(&50),
        "{:?}",
        r.errors
    );
    assert_eq!(r.throughput.msgs_per_sec, 0.0);
}

#[test]
fn result_matches_its_json_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schemas/result.v3.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema itself is valid");
    // Long enough for librdkafka's statistics (the breakdown) and a fault's recovery time.
    let text = format!("{BASE}[[faults]]\nat = \"2s\"\naction = \"exec\"\ncommand = [\"true\"]\n");
    let s = scenario(
        &text,
        &["load.rate=500/s", "load.duration=3s", "load.warmup=200ms"],
    );
    let r = run(&s);
    assert!(
        r.intervals.iter().any(|i| i.client.is_some()),
        "statistics arrived"
    );
    assert!(
        r.events.iter().any(|e| e.recovery_s.is_some()),
        "{:?}",
        r.events
    );
    let value = serde_json::to_value(&r).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // And the schema rejects a result that breaks it.
    let mut broken = value.clone();
    broken["counts"]["sent"] = serde_json::json!(-1);
    assert!(!validator.is_valid(&broken));
}

#[test]
fn partitioners_spread_as_named_and_counts_show_it() {
    let counts = |r: &kbench::result::RunResult| -> Vec<u64> {
        let mut v = vec![0u64; 3];
        for p in &r.partitions {
            v[p.partition as usize] = p.messages;
        }
        v
    };
    let manual = run(&scenario(
        BASE,
        &["load.messages=600", "producer.partitioner={ manual = 2 }"],
    ));
    assert_eq!(counts(&manual), vec![0, 0, 600]);
    let rr = run(&scenario(
        BASE,
        &["load.messages=600", "producer.partitioner=round-robin"],
    ));
    assert_eq!(counts(&rr), vec![200, 200, 200]);
    // Three distinct keys, hashed: at most three partitions, each key always in the same one.
    let keyed = run(&scenario(
        BASE,
        &[
            "load.messages=600",
            "producer.partitioner=murmur2_random",
            "message.keys=sequential",
            "message.key_cardinality=2",
        ],
    ));
    let c = counts(&keyed);
    assert_eq!(c.iter().sum::<u64>(), 600);
    assert!(c.iter().filter(|n| **n > 0).count() <= 2, "{c:?}");
    assert!(
        c.iter().all(|n| *n == 0 || *n % 300 == 0),
        "each key in one partition: {c:?}"
    );
    let bytes: u64 = rr.partitions.iter().map(|p| p.bytes).sum();
    assert_eq!(bytes, 600 * 100);
}

#[test]
fn unpaced_batches_count_warmup_and_stop_exactly() {
    // rate = "max" enqueues in batches: the warm-up is still decided per enqueue instant, the
    // count stop is exact, and every message (warm-up included) is accounted for.
    let s = scenario(
        BASE,
        &[
            "load.messages=30001",
            "load.warmup=300ms",
            "message.keys=sequential",
            "message.key_cardinality=1000",
        ],
    );
    let r = run(&s);
    assert_accounted(&r);
    assert_eq!(r.counts.sent, 30_001);
    assert_eq!(r.counts.acked, 30_001);
    assert!(r.warmup_counts.sent > 0, "{:?}", r.warmup_counts);
    assert_eq!(r.warmup_counts.sent, r.warmup_counts.acked);
    assert_eq!(r.latency_us.service.count, 30_001);
    assert_eq!(r.produced.as_ref().unwrap().distinct_keys, Some(1000));
    let sent: u64 = r.intervals.iter().map(|i| i.sent).sum();
    assert_eq!(sent, 30_001 + r.warmup_counts.sent);
}
