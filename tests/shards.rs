//! Scale-out: three shard processes against one `kbench broker`, merged into one result that is
//! as exact as a single run.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, SystemTime};

use assert_cmd::Command;
use kbench::recorder::hist::{self, LatencyStats};
use kbench::result::{hlog, RunResult};

fn kbench() -> Command {
    Command::cargo_bin("kbench").unwrap()
}

fn result_in(dir: &Path) -> (PathBuf, RunResult) {
    let path = dir.join("result.json");
    let r = RunResult::read(&path).unwrap();
    (path, r)
}

#[test]
fn three_shards_merge_exactly() {
    let mut broker = StdCommand::new(assert_cmd::cargo::cargo_bin("kbench"))
        .args([
            "broker",
            "--brokers",
            "1",
            "--topic",
            "shared:3",
            "--seconds",
            "120",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut bootstrap = String::new();
    BufReader::new(broker.stdout.take().unwrap())
        .read_line(&mut bootstrap)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(
        &scenario,
        "name = \"scale\"\n[topic]\nname = \"shared\"\npartitions = 3\ncreate = false\n[producer]\nworkers = 1\nlinger = \"1ms\"\n[load]\nrate = \"900/s\"\nduration = \"3s\"\n[consume]\nmode = \"partitions\"\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let start =
        humantime::format_rfc3339_seconds(SystemTime::now() + Duration::from_secs(4)).to_string();
    let shards: Vec<_> = (0..3)
        .map(|i| {
            StdCommand::new(assert_cmd::cargo::cargo_bin("kbench"))
                .arg("run")
                .arg(&scenario)
                .args([
                    "--bootstrap",
                    bootstrap.trim(),
                    "--shard",
                    &format!("{i}/3"),
                    "--start-at",
                    &start,
                ])
                .arg("--no-charts")
                .arg("--quiet")
                .arg("--out")
                .arg(&out)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut s in shards {
        assert!(s.wait().unwrap().success());
    }
    let _ = broker.kill();
    let _ = broker.wait();

    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 3);
    let shards: Vec<(PathBuf, RunResult)> = dirs.iter().map(|d| result_in(d)).collect();
    for (i, (_, r)) in shards.iter().enumerate() {
        let shard = r.shard.expect("a shard says so");
        assert_eq!((shard.index, shard.count), (i as u32, 3));
        assert_eq!(r.target_rate, Some(300.0));
        assert_eq!(r.t0_unix_ms, shards[0].1.t0_unix_ms, "aligned start");
    }
    // The schedules interleave exactly: 900/s for 3 s is 2700 messages over the three shards.
    let sent: u64 = shards.iter().map(|(_, r)| r.counts.sent).sum();
    assert_eq!(sent, 2_700);

    let merged_dir = dir.path().join("merged");
    let m = kbench()
        .arg("merge")
        .arg(&out)
        .arg("--out")
        .arg(&merged_dir)
        .output()
        .unwrap();
    assert_eq!(
        m.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&m.stderr)
    );
    let (_, merged) = result_in(&merged_dir);
    let sum = |f: fn(&RunResult) -> u64| shards.iter().map(|(_, r)| f(r)).sum::<u64>();
    assert_eq!(merged.counts.sent, sum(|r| r.counts.sent));
    assert_eq!(merged.counts.acked, sum(|r| r.counts.acked));
    assert_eq!(merged.counts.failed, sum(|r| r.counts.failed));
    assert_eq!(merged.target_rate, Some(900.0));
    // One histogram built from all three shards' samples gives the merged percentiles.
    let mut all = hist::new_hist();
    for (_, r) in &shards {
        hist::add(&mut all, &hist::decode(&r.histograms.corrected).unwrap());
    }
    assert_eq!(merged.latency_us.corrected, LatencyStats::of(&all));
    assert_eq!(merged.latency_us.corrected.p99, all.value_at_quantile(0.99));
    // Each shard read back its own records only (the others' are foreign to it), on its own
    // clock; the merge adds them up exactly.
    let mut e2e = hist::new_hist();
    for (_, r) in &shards {
        assert_eq!(r.counts.consumed, Some(r.counts.acked), "{:?}", r.consume);
        let c = r.consume.as_ref().unwrap();
        assert!(
            c.foreign > 0,
            "the other shards' records are foreign: {c:?}"
        );
        hist::add(&mut e2e, &hist::decode(&r.histograms.e2e).unwrap());
    }
    assert_eq!(merged.counts.consumed, Some(merged.counts.acked));
    assert_eq!(merged.counts.missing, Some(0));
    assert_eq!(merged.latency_us.e2e, LatencyStats::of(&e2e));
    assert_eq!(merged.consume.as_ref().map(|c| c.consumers), Some(3));
    // Intervals line up by wall-clock second and add up.
    // Same t0 everywhere: the merged series spans the longest shard's (a shard whose last ack
    // falls just past a second boundary has one interval more).
    let longest = shards.iter().map(|(_, r)| r.intervals.len()).max().unwrap();
    assert_eq!(merged.intervals.len(), longest);
    let acked: u64 = merged.intervals.iter().map(|i| i.acked).sum();
    assert_eq!(acked, merged.counts.acked + merged.warmup_counts.acked);
    assert_eq!(merged.intervals[1].sent, sum(|r| r.intervals[1].sent));
    // librdkafka's counters add up over the shards, and the breakdown the client.* gates read
    // survives the merge.
    let clients: Vec<_> = shards
        .iter()
        .map(|(_, r)| r.client.clone().unwrap())
        .collect();
    let c = merged.client.as_ref().expect("a merged client summary");
    assert!(c.txmsgs > 0 && c.breakdown.is_some(), "{c:?}");
    assert_eq!(c.txmsgs, clients.iter().map(|c| c.txmsgs).sum::<i64>());
    assert_eq!(c.requests, clients.iter().map(|c| c.requests).sum::<i64>());
    let rtt_p99 = clients
        .iter()
        .filter_map(|c| c.breakdown.map(|b| b.rtt_us.p99))
        .max();
    assert_eq!(c.breakdown.map(|b| b.rtt_us.p99), rtt_p99);
    let broker_requests =
        |c: &kbench::result::ClientSummary| -> u64 { c.brokers.iter().map(|b| b.requests).sum() };
    assert_eq!(
        broker_requests(c),
        clients.iter().map(broker_requests).sum::<u64>()
    );
    let info = merged.merge.as_ref().unwrap();
    assert_eq!((info.shards, info.merged.clone()), (3, vec![0, 1, 2]));
    assert!(merged_dir.join("latency.hlog").exists() && merged_dir.join("timeline.png").exists());

    // .hlog round trip: every interval histogram of every stream comes back.
    let (base, entries) =
        hlog::read(&std::fs::read(dirs[0].join("latency.hlog")).unwrap()).unwrap();
    let r0 = &shards[0].1;
    assert_eq!(
        base.unwrap(),
        SystemTime::UNIX_EPOCH + Duration::from_millis(r0.t0_unix_ms)
    );
    for tag in &hlog::TAGS {
        assert!(
            entries.iter().any(|e| e.tag.as_deref() == Some(*tag)),
            "{tag}"
        );
    }
    let corrected: u64 = entries
        .iter()
        .filter(|e| e.tag.as_deref() == Some("corrected"))
        .map(|e| e.hist.len())
        .sum();
    assert_eq!(corrected, r0.counts.acked + r0.warmup_counts.acked);

    // A missing shard is an error, unless allowed; a duplicate is always one.
    let two = [dirs[0].clone(), dirs[1].clone()];
    let m = kbench()
        .arg("merge")
        .args(&two)
        .arg("--out")
        .arg(dir.path().join("m2"))
        .output()
        .unwrap();
    assert_eq!(m.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&m.stderr).contains("shards [2] of 3 are missing"));
    let m = kbench()
        .arg("merge")
        .args(&two)
        .arg("--allow-partial")
        .arg("--out")
        .arg(dir.path().join("m3"))
        .output()
        .unwrap();
    assert_eq!(m.status.code(), Some(0));
    let (_, partial) = result_in(&dir.path().join("m3"));
    assert_eq!(partial.merge.unwrap().missing, vec![2]);
    assert!(partial.notes.iter().any(|n| n.contains("PARTIAL")));
    let m = kbench()
        .arg("merge")
        .args([&dirs[0], &dirs[0], &dirs[1], &dirs[2]])
        .arg("--out")
        .arg(dir.path().join("m4"))
        .output()
        .unwrap();
    assert_eq!(m.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&m.stderr).contains("appears twice"));
}
