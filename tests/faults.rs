//! Fault injection on the embedded broker: the proof that kbench measures what happens.

mod common;

use common::{assert_accounted, run, scenario};
use kbench::recorder::hist;

#[test]
fn an_outage_shows_as_a_stall_in_corrected_latency_and_nothing_is_lost() {
    // 500 msg/s for 6 s; every broker down from 2 s to 4 s (D = 2 s). A consumer reads it all
    // back: the stall shows end to end too.
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
[consume]
mode = "partitions"
properties = { "reconnect.backoff.ms" = "50", "reconnect.backoff.max.ms" = "200" }
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
    // Read back from the other side: every ack once; a copy the producer wrote twice (a retry
    // without idempotence) is a duplicate there, not a second message.
    assert_eq!(r.counts.consumed, Some(3_000), "{:?}", r.consume);
    assert_eq!(r.counts.missing, Some(0));
    let dups = r.counts.duplicates.unwrap();
    assert!(
        dups <= r.landed_messages.unwrap_or(0).saturating_sub(3_000),
        "{dups} duplicates"
    );
    let e2e = r.latency_us.e2e;
    assert!(
        e2e.max >= 1_800_000 && e2e.max >= r.latency_us.corrected.max,
        "e2e max {} µs for a 2 s outage",
        e2e.max
    );
    let h = hist::decode(&r.histograms.e2e).unwrap();
    let over = h.count_between(1_000_000, hist::HIGHEST_US) as f64 / h.len() as f64;
    assert!((0.10..=0.30).contains(&over), "e2e share over D/2: {over}");
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
        .filter(|e| e.kind == kbench::event::EventKind::Fault)
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(faults, vec!["all brokers down for 2s", "all brokers up"]);
    let down = r
        .events
        .iter()
        .find(|e| e.kind == kbench::event::EventKind::Fault)
        .unwrap();
    assert!((down.t_s - 2.0).abs() < 0.1, "fault at {}", down.t_s);
    // Back to normal latency and rate some time after the brokers came back at 4 s.
    let recovery = down
        .recovery_s
        .expect("a fault start at a fixed rate has a recovery");
    let recovery = recovery.expect("the run recovered before it ended");
    assert!(
        (2.0..4.0).contains(&recovery),
        "recovered after {recovery} s"
    );
    let up = r
        .events
        .iter()
        .rfind(|e| e.kind == kbench::event::EventKind::Fault)
        .unwrap();
    assert_eq!(
        up.recovery_s, None,
        "only a fault's start has a recovery time"
    );
}

#[test]
fn exec_faults_run_commands_and_record_what_they_said() {
    // Any cluster: here the embedded broker, with commands that break nothing.
    let s = scenario(
        r#"
name = "exec"
[topic]
name = "exec"
[producer]
workers = 1
[load]
rate = "200/s"
duration = "2s"
[[faults]]
at = "200ms"
action = "exec"
command = ["sh", "-c", "echo broke it; exit 3"]
undo = ["echo", "undone"]
duration = "500ms"
[[faults]]
at = "300ms"
action = "exec"
command = ["sleep", "30"]
timeout = "300ms"
[[faults]]
at = "1500ms"
action = "exec"
command = ["sleep", "30"]
"#,
        &[],
    );
    let start = std::time::Instant::now();
    let r = run(&s);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(25),
        "killed at the end, not awaited"
    );
    assert_accounted(&r);
    let of = |kind: &str| -> Vec<String> {
        r.events
            .iter()
            .filter(|e| e.kind.as_str() == kind)
            .map(|e| e.detail.clone())
            .collect()
    };
    let faults = of("fault");
    assert_eq!(faults.len(), 4, "{faults:?}");
    assert!(
        faults[0].starts_with("exec `sh -c echo broke it; exit 3` for 500ms"),
        "{faults:?}"
    );
    assert_eq!(faults[2], "exec `echo undone`");
    let execs = of("fault-exec");
    for want in [
        "`sh -c echo broke it; exit 3`: FAILED, exit 3: broke it",
        "`echo undone`: exit 0: undone",
        "`sleep 30`: timed out after 300ms: killed",
        "`sleep 30`: still running when the run ended: killed",
    ] {
        assert!(execs.iter().any(|e| e == want), "{want:?} in {execs:?}");
    }
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
        r.events
            .iter()
            .any(|e| e.kind == kbench::event::EventKind::Timeout),
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
    // Every message of the count is accounted: what was never sent is unsent, and loss.
    assert_eq!(r.counts.scheduled, Some(10_000_000));
    assert_eq!(r.counts.sent + r.counts.unsent, 10_000_000);
    assert!(
        r.counts.unsent > 0 && r.loss_rate > 0.0,
        "{:?} {}",
        r.counts,
        r.loss_rate
    );
}

/// All brokers down for 3 s at 1000 msg/s, messages timing out after 1.5 s, a 5 s grace.
const OUTAGE: &str = r#"
name = "outage-loss"
[topic]
name = "outage-loss"
[producer]
workers = 2
linger = "1ms"
message_timeout = "1500ms"
[load]
rate = "1000/s"
duration = "6s"
grace = "5s"
[[faults]]
at = "1s"
action = "broker-down"
broker = "all"
duration = "3s"
[gate]
p99 = "<= 10s"
"#;

#[test]
fn an_outage_that_loses_messages_shows_the_loss_and_fails_a_p99_only_gate() {
    let s = scenario(OUTAGE, &[]);
    let r = run(&s);
    // The identity, the failed stream and loss_rate, checked against their definitions.
    assert_accounted(&r);
    let c = &r.counts;
    assert_eq!(c.scheduled, Some(6_000));
    assert!(
        c.failed + c.unresolved > 0,
        "the outage lost messages: {c:?}"
    );
    assert!(r.loss_rate > 0.0);
    assert!(r.errors.contains_key("_MSG_TIMED_OUT"), "{:?}", r.errors);
    // What failed waited at least the message timeout from its due time.
    assert!(
        r.latency_us.failed.max >= 1_500_000,
        "{:?}",
        r.latency_us.failed
    );
    // The p99 of the acked messages alone may meet the gate; the implicit loss check does not.
    let rep = kbench::gate::judge(std::slice::from_ref(&r), &[], &s.gate).unwrap();
    assert_eq!(rep.verdict, kbench::gate::Verdict::Fail, "{:?}", rep.checks);
    let loss = rep
        .checks
        .iter()
        .find(|c| c.metric.name == "loss_rate")
        .expect("the implicit loss check is in the table");
    assert_eq!(loss.verdict, kbench::gate::Verdict::Fail);
    assert_eq!(loss.threshold.as_deref(), Some(kbench::gate::IMPLICIT_LOSS));
    // A resilience test states the loss it accepts.
    let mut tolerant = s.gate.clone();
    tolerant
        .thresholds
        .insert("loss_rate".into(), "<= 100%".into());
    let rep = kbench::gate::judge(std::slice::from_ref(&r), &[], &tolerant).unwrap();
    assert!(
        rep.checks
            .iter()
            .all(|c| c.metric.name != "loss_rate" || c.verdict == kbench::gate::Verdict::Pass),
        "{:?}",
        rep.checks
    );
}

#[test]
fn a_sync_run_behind_a_slow_broker_counts_what_it_never_sent() {
    // One sync worker behind a 10 ms round trip delivers about 100 msg/s of the 2000/s asked.
    let s = scenario(
        r#"
name = "sync-overload"
[topic]
name = "sync-overload"
[producer]
mode = "sync"
workers = 1
linger = "0ms"
[load]
rate = "2000/s"
duration = "3s"
[[faults]]
at = "0s"
action = "delay"
rtt = "10ms"
[gate]
p99 = "<= 10s"
"#,
        &[],
    );
    let r = run(&s);
    assert_accounted(&r);
    let c = &r.counts;
    let scheduled = c.scheduled.expect("a paced run schedules");
    assert!(
        (5_940..=6_060).contains(&scheduled),
        "6,000 scheduled within 1%: {c:?}"
    );
    assert!(c.sent < 2_000 && c.unsent > 4_000, "{c:?}");
    assert!(r.latency_us.unsent.count == c.unsent && r.latency_us.unsent.max > 1_000_000);
    // Gated, the run cannot pass: it lost (never sent) most of its schedule.
    let rep = kbench::gate::judge(std::slice::from_ref(&r), &[], &s.gate).unwrap();
    assert_ne!(rep.verdict, kbench::gate::Verdict::Pass, "{:?}", rep.checks);
    assert!(
        r.notes.iter().any(|n| n.contains("never sent")),
        "{:?}",
        r.notes
    );
}

#[test]
fn a_stragglers_late_acks_are_the_drain_not_throughput() {
    // 500/s for 2 s; from 1.9 s on every request takes 1.5 s: the last acks arrive long after
    // the window. Throughput is what was acked inside the planned 2 s; the rest is the drain.
    let s = scenario(
        r#"
name = "straggler"
[topic]
name = "straggler"
[producer]
workers = 1
linger = "0ms"
[load]
rate = "500/s"
duration = "2s"
[[faults]]
at = "1900ms"
action = "delay"
rtt = "1500ms"
"#,
        &[],
    );
    let r = run(&s);
    assert_accounted(&r);
    assert_eq!(r.counts.acked, 1_000, "{:?}", r.counts);
    assert_eq!(r.duration_s, 2.0);
    let d = r.drain.expect("a duration run has a drain");
    assert!(d.s > 1.0, "{d:?}");
    // The ~50 messages sent from 1.9 s on (and any in flight then) are acked after the window.
    assert!((40..=200).contains(&d.messages), "{d:?}");
    let in_window = (r.counts.acked - d.messages) as f64 / 2.0;
    assert_eq!(r.throughput.msgs_per_sec, in_window);
    assert_eq!(r.achieved_rate_ratio, Some(in_window / 500.0));
}

/// 20 ms of round trip on every broker, a low rate: the breakdown from librdkafka's statistics.
fn breakdown_of(overrides: &[&str]) -> kbench::result::RunResult {
    let s = scenario(
        r#"
name = "breakdown"
[topic]
name = "breakdown"
[producer]
workers = 1
linger = "0ms"
[load]
rate = "100/s"
duration = "4s"
[[faults]]
at = "0s"
action = "delay"
rtt = "20ms"
"#,
        overrides,
    );
    let r = run(&s);
    assert_accounted(&r);
    r
}

#[test]
fn the_breakdown_says_where_the_time_went() {
    // The round trip: 20 ms injected.
    let r = breakdown_of(&[]);
    let b = r
        .client
        .as_ref()
        .and_then(|c| c.breakdown)
        .expect("statistics arrived");
    eprintln!("breakdown at rtt 20 ms: {b:?}");
    assert!((19_000..=26_000).contains(&b.rtt_us.p50), "{b:?}");
    assert!(r.intervals.iter().filter(|i| i.client.is_some()).count() >= 3);
    // Linger: the queue (one message per linger window, so each waits all of it).
    let r = breakdown_of(&["producer.linger=50ms", "load.rate=10/s"]);
    let b = r.client.as_ref().and_then(|c| c.breakdown).unwrap();
    eprintln!("breakdown at linger 50 ms: {b:?}");
    assert!(b.int_latency_us.p50 >= 30_000, "{b:?}");
    // One request in flight per broker at more than one request per round trip: requests wait.
    let r = breakdown_of(&[
        "producer.max_in_flight=1",
        "load.rate=1000/s",
        "topic.partitions=1",
    ]);
    let b = r.client.as_ref().and_then(|c| c.breakdown).unwrap();
    let service = r.latency_us.service.p50 as f64;
    eprintln!("breakdown at max_in_flight 1, 1000/s: {b:?}; service p50 {service} µs");
    assert!(b.outbuf_latency_us.p50 >= 10_000, "{b:?}");
    // Medians do not add exactly; docs/measuring.md states 10% (measured within 2%).
    let parts = (b.int_latency_us.p50 + b.outbuf_latency_us.p50 + b.rtt_us.p50) as f64;
    assert!(
        (parts - service).abs() / service < 0.1,
        "queue + output buffer + round trip {parts} µs vs service p50 {service} µs"
    );
    // The breakdown is a gate metric too.
    let m = kbench::gate::Metric::parse("client.outbuf_latency.p50").unwrap();
    assert_eq!(
        kbench::gate::value(&m, &r),
        Some(b.outbuf_latency_us.p50 as f64)
    );
}

#[test]
fn a_sync_batch_delivers_n_messages_per_round_trip() {
    // sarama's SendMessages: one worker enqueues N, then waits for all N acks; with 20 ms of
    // round trip that is about N / 20 ms.
    let throughput = |n: u32| {
        let s = scenario(
            r#"
name = "sync-batch"
[topic]
partitions = 1
[producer]
mode = "sync"
workers = 1
linger = "0ms"
[load]
rate = "max"
duration = "3s"
warmup = "500ms"
[[faults]]
at = "0s"
action = "delay"
rtt = "20ms"
"#,
            &[&format!("producer.sync_batch={n}")],
        );
        let r = run(&s);
        assert_accounted(&r);
        assert!(
            r.notes.iter().any(|t| n == 1 || t.contains("sync_batch")),
            "{:?}",
            r.notes
        );
        r.throughput.msgs_per_sec
    };
    for n in [1u32, 8] {
        let got = throughput(n);
        let expected = n as f64 / 0.020;
        eprintln!("sync_batch {n}: {got:.0} msg/s, expected about {expected:.0}");
        assert!(
            (0.6 * expected..=1.15 * expected).contains(&got),
            "sync_batch {n}: {got} msg/s against {expected}"
        );
    }
}
