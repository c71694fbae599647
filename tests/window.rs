//! Throughput means what the cluster acked inside the measured window: a cluster slower than the
//! plan reads as slower, what it acked after the window is the drain, and the headline equals the
//! interval series summed over the window.

mod common;

use common::*;
use kbench::gate::{judge, GateSpec, Verdict};

/// One partition on the embedded broker, 20 ms round trip, one request in flight of at most 10
/// messages: the cluster acks at most 10 / 20 ms = 500 msg/s.
const SLOW: &str = r#"
name = "slow-cluster"
[topic]
name = "slow-cluster"
partitions = 1
[producer]
workers = 1
linger = "0ms"
max_in_flight = 1
batch_messages = 10
[load]
rate = "1000/s"
duration = "4s"
grace = "30s"
[[faults]]
at = "0s"
action = "delay"
rtt = "20ms"
"#;

#[test]
fn a_cluster_slower_than_the_target_reads_as_slower() {
    let r = run(&scenario(SLOW, &[]));
    assert_accounted(&r);
    assert_schema(&r);
    // The cluster's capacity, from its own acks per interval inside the window.
    let capacity = interval_rate(&r);
    assert!(
        (350.0..=520.0).contains(&capacity),
        "the cluster acked {capacity} msg/s per interval"
    );
    let tp = r.throughput.msgs_per_sec;
    assert!(
        (tp - capacity).abs() <= 0.1 * capacity,
        "throughput {tp} msg/s, the cluster's capacity {capacity} msg/s"
    );
    let ratio = r.achieved_rate_ratio.unwrap();
    assert!(ratio <= capacity / 1000.0 + 0.05, "achieved {ratio}");
    // Every scheduled message was acked in the end: the rest of them is the drain.
    assert_eq!(r.counts.acked, 4000, "{:?}", r.counts);
    let d = r.drain.expect("a duration run reports its drain");
    assert_eq!(d.messages, r.counts.acked - (tp * 4.0).round() as u64);
    assert!(d.s > 1.0 && d.msgs_per_sec > 0.0, "{d:?}");
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("fell behind the schedule")),
        "{:?}",
        r.notes
    );
    // A gate on the target's throughput fails, and so does a capacity-style achieved ratio.
    let mut g = GateSpec::default();
    g.thresholds.insert("throughput".into(), ">= 950/s".into());
    let rep = judge(std::slice::from_ref(&r), &[], &g).unwrap();
    assert_eq!(rep.verdict, Verdict::Fail, "{:?}", rep.checks);
    let mut g = GateSpec::default();
    g.thresholds
        .insert("achieved_rate_ratio".into(), ">= 0.95".into());
    let rep = judge(std::slice::from_ref(&r), &[], &g).unwrap();
    assert_eq!(rep.verdict, Verdict::Fail, "{:?}", rep.checks);
    // The summary says where the rest went.
    let text = kbench::report::terminal::summary(&r);
    assert!(text.contains("drain "), "{text}");
}

#[test]
fn a_rate_the_cluster_keeps_up_with_is_achieved_with_a_tiny_drain() {
    let r = run(&scenario(
        SLOW,
        &[
            "load.rate=200/s",
            "load.duration=3s",
            "producer.max_in_flight=5",
        ],
    ));
    assert_accounted(&r);
    let ratio = r.achieved_rate_ratio.unwrap();
    assert!(ratio >= 0.99, "achieved {ratio}");
    let d = r.drain.unwrap();
    // At most the messages of the last round trip (20 ms at 200/s, plus one batch) come after.
    assert!(d.messages <= 15, "{d:?}");
    assert!(!r.notes.iter().any(|n| n.contains("fell behind")));
}

#[test]
fn rate_max_by_duration_counts_only_the_window() {
    let r = run(&scenario(
        r#"
name = "max-window"
[topic]
name = "max-window"
partitions = 2
[producer]
workers = 2
[message]
size = "100B"
[load]
rate = "max"
duration = "3s"
"#,
        &[],
    ));
    assert_accounted(&r);
    assert_eq!(r.duration_s, 3.0);
    let sum = interval_rate(&r);
    let tp = r.throughput.msgs_per_sec;
    assert!(
        (tp - sum).abs() <= 0.01 * sum,
        "throughput {tp} msg/s, the intervals inside the window {sum} msg/s"
    );
    let d = r.drain.unwrap();
    assert_eq!(
        r.counts.acked,
        (tp * 3.0).round() as u64 + d.messages,
        "acked = in-window + drain"
    );
}
