//! Many topics (`topic.count`): per-topic results, the spread over topics, and read-back across
//! them, on the embedded broker.

mod common;

use common::{assert_accounted, run, scenario};
use kbench::payload::TopicPick;
use kbench::scenario::topics::TopicDist;

#[test]
fn eight_topics_of_two_partitions_share_the_load_evenly() {
    let s = scenario(
        r#"
name = "topics"
[topic]
name = "bench-{i}"
count = 8
partitions = 2
[load]
rate = "2000/s"
duration = "2s"
[consume]
mode = "partitions"
"#,
        &[],
    );
    let r = run(&s);
    assert_accounted(&r);
    assert_eq!(r.topics.len(), 8);
    let names: Vec<&str> = r.topics.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names[0], "bench-0");
    assert_eq!(names[7], "bench-7");
    let total: u64 = r.topics.iter().map(|t| t.messages).sum();
    assert_eq!(total, r.counts.acked);
    let mean = total as f64 / 8.0;
    for t in &r.topics {
        let off = (t.messages as f64 - mean).abs() / mean;
        assert!(off <= 0.12, "{} has {} of mean {mean}", t.name, t.messages);
        assert!(t.p99_us > 0 && t.p99_us >= t.p50_us, "{t:?}");
    }
    // Partitions by topic: 16 of them, adding up too.
    assert_eq!(r.partitions.len(), 16);
    assert!(r.partitions.iter().all(|p| p.topic.is_some()));
    assert_eq!(r.partitions.iter().map(|p| p.messages).sum::<u64>(), total);
    // The consumer reads all eight topics back.
    assert_eq!(r.counts.consumed, Some(r.counts.acked));
    assert_eq!(r.counts.missing, Some(0));
    // The worst topic's p99 is a gate metric.
    let m = kbench::gate::Metric::parse("topic.p99.max").unwrap();
    let worst = r.topics.iter().map(|t| t.p99_us).max().unwrap();
    assert_eq!(kbench::gate::value(&m, &r), Some(worst as f64));
    common::assert_schema(&r);
}

#[test]
fn a_zipf_spread_makes_topic_0_the_hottest_at_its_share() {
    let s = scenario(
        r#"
name = "zipf-topics"
[topic]
name = "hot-{i}"
count = 10
partitions = 1
distribution = { zipf = 1.1 }
[load]
rate = "max"
messages = 20000
"#,
        &[],
    );
    let r = run(&s);
    assert_accounted(&r);
    let hottest = r.topics.iter().max_by_key(|t| t.messages).unwrap();
    assert_eq!(hottest.name, "hot-0");
    let share = r.topics[0].messages as f64 / r.counts.acked as f64;
    let expected = TopicPick::shares(&TopicDist::Zipf(1.1), 10)[0];
    assert!(
        (share - expected).abs() / expected < 0.1,
        "topic 0 got {share:.4}, expected {expected:.4}"
    );
}

#[test]
fn a_thousand_topics_run_on_the_embedded_broker() {
    let started = std::time::Instant::now();
    let s = scenario(
        r#"
name = "thousand"
[topic]
name = "t-{i}"
count = 1000
partitions = 1
[producer]
workers = 2
[load]
rate = "max"
messages = 20000
"#,
        &[],
    );
    let r = run(&s);
    assert_accounted(&r);
    assert_eq!(r.topics.len(), 1000);
    assert_eq!(
        r.topics.iter().map(|t| t.messages).sum::<u64>(),
        r.counts.acked
    );
    assert!(r.topics.iter().all(|t| t.messages > 0));
    // Too many partitions to read watermarks one request at a time: no landed count.
    assert_eq!(r.landed_messages, None);
    eprintln!(
        "1000 topics: {:.1} s end to end, peak RSS {} MiB",
        started.elapsed().as_secs_f64(),
        r.process.peak_rss_bytes.unwrap_or(0) >> 20
    );
}
