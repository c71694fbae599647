//! `[consume]` on the embedded broker: consumers in the same run read back every ack, time it
//! from the schedule (e2e), and report duplicates, missing messages and a backlog's drain.

mod common;

use common::{assert_accounted, run, scenario};
use kbench::recorder::hist;
use kbench::result::RunResult;

/// The read-back identities of a `[consume]` run.
fn assert_read_back(r: &RunResult) {
    assert_accounted(r);
    let c = &r.counts;
    let consumed = c.consumed.expect("a [consume] run counts what it read");
    assert_eq!(
        consumed, c.acked,
        "every ack read back: {c:?} {:?} {:?}",
        r.consume, r.events
    );
    assert_eq!(c.missing, Some(0), "{:?}", r.consume);
    // One e2e sample per message read (its first reading), in the totals and in the intervals.
    assert_eq!(r.latency_us.e2e.count, consumed);
    assert_eq!(r.latency_us.e2e_service.count, consumed);
    let by_interval: u64 = r.intervals.iter().map(|i| i.consumed).sum();
    let warmup = r.warmup_counts.consumed.unwrap_or(0);
    assert_eq!(by_interval, consumed + warmup);
    let last = r.intervals.last().expect("intervals");
    assert_eq!(last.lag, Some(0), "the lag ends at zero: {last:?}");
}

#[test]
fn consumers_read_back_every_ack_and_time_it_from_the_schedule() {
    // 20 ms injected round trip on every connection, the consumers' fetches included.
    let s = scenario(
        r#"
name = "e2e"
[topic]
partitions = 4
[producer]
linger = "0ms"
[load]
rate = "100/s"
duration = "3s"
warmup = "500ms"
[consume]
consumers = 2
[[faults]]
at = "0s"
action = "delay"
rtt = "20ms"
"#,
        &[],
    );
    let r = run(&s);
    assert_read_back(&r);
    assert_eq!(r.counts.acked, 300);
    assert_eq!(r.counts.duplicates, Some(0));
    let (e2e, corrected) = (r.latency_us.e2e, r.latency_us.corrected);
    eprintln!("e2e {e2e:?}\ncorrected {corrected:?}");
    // A produce round trip and a fetch round trip at least.
    assert!(e2e.p50 >= 15_000, "e2e p50 {} µs", e2e.p50);
    assert!(
        e2e.p50 > corrected.p50,
        "read back after the ack, typically"
    );
    let c = r.consume.as_ref().unwrap();
    assert_eq!((c.consumers, c.mode.as_str()), (2, "group"));
    assert!(c.missing.is_empty() && c.backlog.is_none());
    // Everywhere results go: the interval series, the gate, the .hlog.
    assert!(r.intervals.iter().any(|i| i.e2e_p99_us.is_some()));
    let m = kbench::gate::Metric::parse("e2e.p99").unwrap();
    assert_eq!(kbench::gate::value(&m, &r), Some(e2e.p99 as f64));
    let m = kbench::gate::Metric::parse("missing_rate").unwrap();
    assert_eq!(kbench::gate::value(&m, &r), Some(0.0));
    let dir = tempfile::tempdir().unwrap();
    r.write(dir.path()).unwrap();
    let (_, entries) =
        kbench::result::hlog::read(&std::fs::read(dir.path().join("latency.hlog")).unwrap())
            .unwrap();
    let logged: u64 = entries
        .iter()
        .filter(|e| e.tag.as_deref() == Some("e2e"))
        .map(|e| e.hist.len())
        .sum();
    assert_eq!(
        logged,
        r.counts.consumed.unwrap() + r.warmup_counts.consumed.unwrap()
    );
}

#[test]
fn a_late_start_builds_a_backlog_and_measures_its_drain() {
    // Partitions assigned directly; the consumers start 2 s into a 3 s run at 200 msg/s.
    let s = scenario(
        r#"
name = "backlog"
[topic]
partitions = 3
[producer]
linger = "50ms"
[load]
rate = "200/s"
duration = "3s"
[consume]
consumers = 2
mode = "partitions"
start_after = "2s"
"#,
        &[],
    );
    let r = run(&s);
    assert_read_back(&r);
    let b = r.consume.as_ref().unwrap().backlog.expect("a backlog");
    eprintln!("backlog {b:?}");
    // The backlog is what was acked before the consumers started: at most the 2 s x 200/s due
    // by then (400, and a few for the edge); fewer when acks lag on a busy machine (265 was seen
    // with the whole suite running), but a backlog all the same.
    assert_eq!(b.start_s, 2.0);
    assert!((100..=420).contains(&b.messages), "{b:?}");
    // How fast the drain goes is the machine's business; that it was measured is the check.
    let catch_up = b.catch_up_s.expect("caught up before the run ended");
    assert!(catch_up > 0.0 && b.drain_rate.unwrap() > 0.0, "{b:?}");
    // Messages of the first 2 s waited for the consumers: e2e says so.
    let h = hist::decode(&r.histograms.e2e).unwrap();
    let late = h.count_between(1_000_000, hist::HIGHEST_US) as f64 / h.len() as f64;
    assert!(
        (0.2..0.7).contains(&late),
        "share read over 1 s late: {late}"
    );
    // The result still matches its schema, backlog and all.
    common::assert_schema(&r);
}
