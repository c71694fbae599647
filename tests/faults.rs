//! Fault injection on the embedded broker: the proof that kbench measures what happens.

mod common;

use common::{assert_accounted, run, scenario};
use kbench::recorder::hist;

#[test]
fn an_outage_shows_as_a_stall_in_corrected_latency_and_nothing_is_lost() {
    // 500 msg/s for 6 s; every broker down from 2 s to 4 s (D = 2 s).
    let s = scenario(
        r#"
name = "outage"
[topic]
name = "outage"
[producer]
workers = 2
linger = "1ms"
properties = { "reconnect.backoff.ms" = "50", "reconnect.backoff.max.ms" = "200" }
[load]
rate = "500/s"
duration = "6s"
[[faults]]
at = "2s"
action = "broker-down"
broker = "all"
duration = "2s"
"#,
        &[],
    );
    let r = run(&s);
    assert_accounted(&r);
    assert_eq!(r.counts.sent, 3_000);
    assert_eq!(
        (r.counts.acked, r.counts.failed, r.counts.unresolved),
        (3_000, 0, 0)
    );
    // Nothing lost. Without idempotence a batch appended just before the connection dropped is
    // sent again (at-least-once), so a duplicate is possible, and must then be reported.
    let landed = r
        .landed_messages
        .expect("the embedded broker reports watermarks");
    assert!(
        landed >= 3_000,
        "acked messages missing from the topic: {landed}"
    );
    if landed > 3_000 {
        assert!(
            r.notes.iter().any(|n| n.contains("duplicates")),
            "{:?}",
            r.notes
        );
    }
    // The first message due in the outage waits about D.
    let max = r.latency_us.corrected.max;
    assert!(
        (1_800_000..=3_000_000).contains(&max),
        "corrected max {max} µs for a 2 s outage"
    );
    // Messages due in the first half of the outage wait more than D/2: 1 s x 500/s of 3000.
    let h = hist::decode(&r.histograms.corrected).unwrap();
    let over = h.count_between(1_000_000, hist::HIGHEST_US) as f64 / h.len() as f64;
    assert!((0.10..=0.25).contains(&over), "share over D/2: {over}");
    let faults: Vec<&str> = r
        .events
        .iter()
        .filter(|e| e.kind == "fault")
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(faults, vec!["all brokers down for 2s", "all brokers up"]);
    let down = r.events.iter().find(|e| e.kind == "fault").unwrap();
    assert!((down.t_s - 2.0).abs() < 0.1, "fault at {}", down.t_s);
}

#[test]
fn a_20ms_round_trip_shows_in_service_latency() {
    let s = scenario(
        r#"
name = "delay"
[topic]
name = "delay"
[producer]
workers = 1
linger = "0ms"
[load]
rate = "200/s"
duration = "2s"
warmup = "500ms"
[[faults]]
at = "0s"
action = "delay"
rtt = "20ms"
"#,
        &[],
    );
    let r = run(&s);
    assert_accounted(&r);
    let p50 = r.latency_us.service.p50;
    assert!(
        (20_000..=30_000).contains(&p50),
        "service p50 {p50} µs with a 20 ms round trip"
    );
    assert!(r.latency_us.corrected.p50 >= p50);
}

const ERRORS: &str = r#"
name = "errors"
[topic]
name = "errors"
[producer]
workers = 2
acks = "all"
linger = "2ms"
[load]
rate = "1000/s"
duration = "3s"
[[faults]]
at = "1s"
action = "errors"
error = "NOT_LEADER_OR_FOLLOWER"
count = 50
"#;

#[test]
fn retried_errors_lose_and_duplicate_nothing() {
    let r = run(&scenario(ERRORS, &["producer.idempotence=false"]));
    assert_accounted(&r);
    assert_eq!(r.counts.failed, 0, "retried, not failed: {:?}", r.errors);
    assert_eq!(r.counts.acked, 3_000);
    assert_eq!(
        r.landed_messages,
        Some(3_000),
        "the topic holds exactly the acked messages"
    );
    assert!(r
        .events
        .iter()
        .any(|e| e.detail.contains("50 produce requests fail")));
}

/// With idempotence, librdkafka's mock cluster now and then acks a retried batch as a duplicate
/// without having appended it (measured: 2997 of 3000 landed in about one run of three, never
/// without idempotence). kbench must not hide that: the accounting stays exact and any shortfall
/// in the topic is reported in a note. A real broker is needed to show idempotence holds.
#[test]
fn retried_errors_with_idempotence_are_accounted_and_any_loss_is_reported() {
    let r = run(&scenario(ERRORS, &["producer.idempotence=true"]));
    assert_accounted(&r);
    assert_eq!(
        (r.counts.acked, r.counts.failed),
        (3_000, 0),
        "{:?}",
        r.errors
    );
    let landed = r
        .landed_messages
        .expect("the embedded broker reports watermarks");
    assert!(
        landed <= r.counts.acked,
        "idempotence never duplicates: {landed}"
    );
    if landed != r.counts.acked {
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("acked but not in the topic")),
            "a shortfall must be reported: {:?}",
            r.notes
        );
    }
}

#[test]
fn a_run_by_count_against_a_dead_broker_ends_at_its_timeout_with_a_report() {
    // Every broker goes down for good 300 ms in; 10M messages at rate = max can never all be
    // sent. load.timeout ends the sending, the grace ends the wait, and the result says why.
    let s = scenario(
        r#"
name = "dead"
[topic]
name = "dead"
[producer]
workers = 2
linger = "1ms"
message_timeout = "2s"
[load]
messages = 10000000
timeout = "3s"
grace = "1s"
[[faults]]
at = "300ms"
action = "broker-down"
broker = "all"
"#,
        &[],
    );
    let start = std::time::Instant::now();
    let r = run(&s);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert_accounted(&r);
    assert!(r.counts.sent < 10_000_000);
    assert!(
        r.events.iter().any(|e| e.kind == "timeout"),
        "{:?}",
        r.events
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("load.timeout (3s) passed")),
        "{:?}",
        r.notes
    );
    assert!(r.counts.failed + r.counts.unresolved > 0);
}
