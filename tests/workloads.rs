//! Realistic workloads on the embedded broker: size and key distributions, headers, corpora and
//! rate profiles, checked against what the result says was produced.

mod common;

use common::{assert_accounted, run, scenario};
use kbench::result::RunResult;

const BASE: &str = r#"
name = "workload"
[topic]
name = "workload"
partitions = 6
[producer]
workers = 2
linger = "1ms"
partitioner = "murmur2_random"
"#;

fn partition_counts(r: &RunResult) -> Vec<u64> {
    let mut v = vec![0u64; 6];
    for p in &r.partitions {
        v[p.partition as usize] = p.messages;
    }
    v
}

fn max_over_min(v: &[u64]) -> f64 {
    let max = *v.iter().max().unwrap() as f64;
    let min = *v.iter().min().unwrap() as f64;
    max / min.max(1.0)
}

#[test]
fn zipf_keys_skew_the_partitions_and_random_keys_do_not() {
    let zipf = run(&scenario(
        BASE,
        &[
            "load.messages=6000",
            "message.keys={ distribution = \"zipf\", cardinality = 1000, exponent = 1.5 }",
        ],
    ));
    let random = run(&scenario(
        BASE,
        &[
            "load.messages=6000",
            "message.keys={ distribution = \"random\", cardinality = 1000 }",
        ],
    ));
    for r in [&zipf, &random] {
        assert_accounted(r);
        assert_eq!(r.counts.acked, 6000);
        assert_eq!(r.produced.as_ref().unwrap().key_cardinality, Some(1000));
    }
    let (z, u) = (partition_counts(&zipf), partition_counts(&random));
    // The hottest zipf key alone gets 1/zeta(1.5) = 38% of the messages.
    let top = *z.iter().max().unwrap() as f64 / 6000.0;
    assert!(top > 0.38, "zipf: {z:?}");
    assert!(max_over_min(&u) < 1.4, "random: {u:?}");
    assert!(max_over_min(&z) > 2.0 * max_over_min(&u), "{z:?} vs {u:?}");
    // Few distinct keys under zipf, nearly all of them under uniform keys.
    let distinct = |r: &RunResult| r.produced.as_ref().unwrap().distinct_keys.unwrap();
    assert!(distinct(&zipf) < 700, "{}", distinct(&zipf));
    assert!(distinct(&random) > 990, "{}", distinct(&random));
}

#[test]
fn same_seed_same_messages_and_sizes_follow_the_distribution() {
    let over = |seed: &str| {
        vec![
            "load.messages=4000".to_string(),
            "message.size={ distribution = \"lognormal\", median = \"800B\", p99 = \"16KiB\" }"
                .into(),
            "message.keys={ distribution = \"zipf\", cardinality = 100000, exponent = 1.1 }".into(),
            "message.headers={ count = 2, size = \"32B\" }".into(),
            format!("message.seed={seed}"),
        ]
    };
    let go = |seed: &str| {
        let o = over(seed);
        let o: Vec<&str> = o.iter().map(String::as_str).collect();
        run(&scenario(BASE, &o))
    };
    let (a, b, c) = (go("42"), go("42"), go("7"));
    assert_accounted(&a);
    let (pa, pb, pc) = (
        a.produced.as_ref().unwrap(),
        b.produced.as_ref().unwrap(),
        c.produced.as_ref().unwrap(),
    );
    assert_eq!(pa.size_hist, pb.size_hist, "same seed, same sizes");
    assert_eq!(pa.distinct_keys, pb.distinct_keys);
    assert_eq!(partition_counts(&a), partition_counts(&b), "same keys");
    assert_ne!(pa.size_hist, pc.size_hist, "another seed, other sizes");
    // lognormal(median 800 B, p99 16 KiB), from 4000 messages.
    let s = &pa.size_bytes;
    assert!((s.p50 as f64 / 800.0 - 1.0).abs() < 0.1, "{s:?}");
    assert!((s.p99 as f64 / 16384.0 - 1.0).abs() < 0.35, "{s:?}");
    assert_eq!(pa.header_bytes, 2 * 32 + 2 * "kbench-0".len() as u64);
    // Bytes per partition add up to what was produced (payload + key; headers apart).
    let bytes: u64 = a.partitions.iter().map(|p| p.bytes).sum();
    assert!(bytes as f64 > s.mean * 4000.0, "{bytes}");
}

#[test]
fn corpus_lines_are_the_payloads() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("samples.jsonl"),
        "{\"id\":1}\n{\"id\":2,\"name\":\"a longer record\"}\n\n{\"x\":[1,2,3]}\n",
    )
    .unwrap();
    let path = dir.path().join("corpus.toml");
    std::fs::write(
        &path,
        format!(
            "{BASE}[message]\npayload = {{ file = \"samples.jsonl\" }}\n[load]\nmessages = 900\n"
        ),
    )
    .unwrap();
    // The file is found next to the scenario, whatever the working directory.
    let s = kbench::plan::load(kbench::plan::Origin::File(&path), &[], None)
        .unwrap()
        .scenario();
    let r = run(&s);
    assert_accounted(&r);
    let p = r.produced.as_ref().unwrap();
    assert_eq!(p.size_bytes.min, 8);
    assert_eq!(p.size_bytes.max, 33);
    assert_eq!(r.counts.acked, 900);
}

#[test]
fn profile_phases_reach_their_target_rates() {
    let r = run(&scenario(
        BASE,
        &[
            "load.warmup=500ms",
            "load.interval=500ms",
            r#"load.profile=[{ rate = "1k/s", duration = "2s" }, { ramp = ["1k/s", "5k/s"], duration = "2s" }, { burst = "8k/s", duration = "1s", name = "spike" }]"#,
        ],
    ));
    assert_accounted(&r);
    assert_eq!(r.counts.failed + r.counts.unresolved, 0);
    let names: Vec<&str> = r.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["1k/s", "ramp 1k/s→5k/s", "spike"]);
    let planned = [2000u64, 6000, 8000];
    for (p, want) in r.phases.iter().zip(planned) {
        assert_eq!(p.planned, want, "{}", p.name);
        assert!(p.sent.abs_diff(want) <= 2, "{}: sent {}", p.name, p.sent);
        assert!(
            (p.achieved_rate_ratio - 1.0).abs() < 0.05,
            "{}: achieved {:.3} of target",
            p.name,
            p.achieved_rate_ratio
        );
        assert!(p.latency_us.count > 0 && p.hist.is_some());
    }
    assert_eq!((r.phases[1].start_s, r.phases[1].end_s), (2.5, 4.5));
    assert_eq!(r.phases[1].target_rate_end, 5000.0);
    // The whole run's target is the profile's mean: 16000 messages in 5 s.
    assert_eq!(r.target_rate, Some(3200.0));
    let sent: u64 = r.phases.iter().map(|p| p.sent).sum();
    assert_eq!(sent, r.counts.sent);
    let summary = kbench::report::terminal::summary(&r);
    assert!(summary.contains("ramp 1k/s→5k/s"), "{summary}");
}

#[test]
fn poisson_arrivals_keep_the_rate() {
    let r = run(&scenario(
        BASE,
        &[
            "load.rate=4k/s",
            "load.duration=2s",
            "load.arrivals=poisson",
        ],
    ));
    assert_accounted(&r);
    let ratio = r.achieved_rate_ratio.unwrap();
    // 8000 exponential gaps: the count is within a few percent of the mean.
    assert!((ratio - 1.0).abs() < 0.06, "{ratio}");
}
