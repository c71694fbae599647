//! Transactional producers on the embedded broker (librdkafka's mock cluster implements the
//! transaction coordinator: InitProducerId, AddPartitionsToTxn, EndTxn): commits on a message
//! boundary, one commit-latency sample per commit, aborted transactions counted apart and not
//! readable by a read_committed consumer.

mod common;

use common::{assert_accounted, run, scenario};

const TX: &str = r#"
name = "tx"
[topic]
name = "tx"
partitions = 3
[producer]
workers = 2
linger = "1ms"
acks = "all"
idempotence = true
[load]
rate = "2000/s"
messages = 5000
"#;

#[test]
fn commits_every_100_messages() {
    let s = scenario(TX, &["producer.transaction={ messages = 100 }"]);
    let r = run(&s);
    assert_accounted(&r);
    let t = r
        .transactions
        .expect("a transactional run reports its transactions");
    assert_eq!(
        (t.committed, t.aborted, t.failed),
        (50, 0, 0),
        "{:?}",
        r.events
    );
    assert_eq!(r.counts.acked, 5_000);
    assert_eq!(r.latency_us.commit.count, 50);
    assert!(r.latency_us.commit.p50 > 0);
    let commits: u64 = r.intervals.iter().map(|i| i.commits).sum();
    assert_eq!(commits, 50);
    let m = kbench::gate::Metric::parse("commit.p99").unwrap();
    assert_eq!(
        kbench::gate::value(&m, &r),
        Some(r.latency_us.commit.p99 as f64)
    );
}

#[test]
fn aborted_transactions_are_counted_apart_and_never_delivered() {
    let s = scenario(
        TX,
        &[
            "producer.transaction={ messages = 100, abort_every = 10 }",
            "message.keys=sequential",
            "message.key_cardinality=1000000",
        ],
    );
    let r = run(&s);
    assert_accounted(&r);
    let t = r.transactions.unwrap();
    assert_eq!(
        (t.committed, t.aborted, t.failed),
        (45, 5, 0),
        "{:?}",
        r.events
    );
    assert_eq!(r.counts.aborted, 500, "{:?}", r.counts);
    assert_eq!(r.counts.acked, 4_500);
    assert_eq!(r.loss_rate, 0.0, "aborted on purpose is no loss");
    assert_eq!(r.latency_us.commit.count, 45);
    // A transactional result is a valid v2 result.
    common::assert_schema(&r);
}
