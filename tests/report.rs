//! Charts, comparison tables and HTML from literal results: no broker needed.

use std::path::Path;

mod common;

use common::literal;
use kbench::compare::Comparison;
use kbench::report;
use kbench::scenario::Acks;

fn assert_chart_files(dir: &Path, stems: &[&str]) {
    for stem in stems {
        let png = std::fs::read(dir.join(format!("{stem}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{stem}.png is a PNG");
        assert!(
            png.len() > 10_000,
            "{stem}.png has content: {} bytes",
            png.len()
        );
        let svg = std::fs::read_to_string(dir.join(format!("{stem}.svg"))).unwrap();
        assert!(
            svg.contains("<svg") && svg.trim_end().ends_with("</svg>"),
            "{stem}.svg"
        );
        assert!(svg.contains("<text"), "{stem}.svg has text");
    }
}

#[test]
fn run_charts_render_for_edge_cases() {
    let spanning: Vec<u64> = (0..2000).map(|i| 3 + (i * i * 997) % 4_000_000).collect();
    let cases = [
        ("one interval", literal(&[100, 200, 300], 1, 0)),
        ("only failures", literal(&[], 3, 40)),
        ("µs to seconds", literal(&spanning, 12, 0)),
        ("many", literal(&(1..50_000).collect::<Vec<u64>>(), 5, 3)),
    ];
    for (name, r) in cases {
        let dir = tempfile::tempdir().unwrap();
        let files =
            report::write_run_report(&r, dir.path()).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert_eq!(files.len(), 7, "{name}: 3 charts x 2 formats + html");
        assert_chart_files(
            dir.path(),
            &["latency-spectrum", "timeline", "latency-histogram"],
        );
        let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
        assert_eq!(html.matches("<svg").count(), 3, "{name}: charts inlined");
        assert!(!html.contains("<?xml"), "no XML declaration inside HTML");
        for fetch in ["src=", "href=", "@import", "url("] {
            assert!(!html.contains(fetch), "{name}: nothing fetched ({fetch})");
        }
        assert!(!html.contains("<script"), "no scripts");
        assert!(
            html.contains("a &lt;tagged&gt; &amp; quoted"),
            "{name}: text escaped"
        );
    }
}

#[test]
fn comparison_labels_by_differing_keys_and_tables_ratios() {
    let a = literal(&[1000, 2000, 3000, 4000], 2, 0);
    let mut b = literal(&[2000, 4000, 6000, 8000], 2, 1);
    b.spec.producer.acks = Some(Acks::All);
    b.spec.cluster.bootstrap = Some("other:1".into()); // ignored: not part of the experiment
    let c = Comparison::new(vec![("a".into(), a), ("b".into(), b)]);
    assert_eq!(c.differing, vec!["producer.acks"]);
    assert_eq!(c.entries[0].label, "acks=1");
    assert_eq!(c.entries[1].label, "acks=all");
    let md = kbench::report::compare::markdown(&c);
    let expected = "\
| run | throughput | drained | p50 | p99 | p99.9 | max | failed | loss |
|---|---|---|---|---|---|---|---|---|
| acks=1 (reference) | 2 msg/s | 0 msgs | 2.00 ms | 4.00 ms | 4.00 ms | 4.00 ms | 0 | 0.000% |
| acks=all | 2 msg/s (1.00x) | 0 msgs | 4.00 ms (2.00x) | 8.00 ms (2.00x) | 8.00 ms (2.00x) | 8.00 ms (2.00x) | 1 | 20.000% |

Latencies are corrected latency (from each message's due time). Ratios are to the reference run.
Differing keys: producer.acks.
";
    assert_eq!(md, expected);
    let dir = tempfile::tempdir().unwrap();
    let files = report::write_comparison_report(&c, dir.path()).unwrap();
    assert_eq!(files.len(), 8);
    assert_chart_files(
        dir.path(),
        &["compare-spectrum", "compare-bars", "compare-scatter"],
    );
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 3);
    assert!(html.contains("acks=all"));
}

#[test]
fn results_are_read_from_files_and_directories_and_bad_ones_are_named() {
    let root = tempfile::tempdir().unwrap();
    for (i, name) in ["r1", "r2"].iter().enumerate() {
        let mut r = literal(&[100, 200], 1, 0);
        r.started_at = format!("2026-11-21T00:00:0{i}Z");
        r.write(&root.path().join(name)).unwrap();
    }
    let all = report::read_results(&[root.path().to_path_buf()]).unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[0].0.ends_with("r1/result.json"));
    let one = report::read_results(&[root.path().join("r2")]).unwrap();
    assert_eq!(one.len(), 1);

    let bad = root.path().join("bad.json");
    std::fs::write(&bad, "{\"schema\": \"kbench.result/v0\"}").unwrap();
    let e = report::read_results(std::slice::from_ref(&bad))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad.json") && e.contains("unsupported result schema"),
        "{e}"
    );
    std::fs::write(&bad, "not json").unwrap();
    let e = report::read_results(std::slice::from_ref(&bad))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a kbench result"), "{e}");
    std::fs::write(&bad, "{\"schema\": \"kbench.result/v1\", \"counts\": 5}").unwrap();
    let e = report::read_results(&[bad]).unwrap_err().to_string();
    assert!(e.contains("not a kbench result"), "{e}");
    let empty = tempfile::tempdir().unwrap();
    assert!(report::read_results(&[empty.path().to_path_buf()]).is_err());
}

/// A version-1 result (written before the schedule counts and the failed stream existed).
fn v1_text(failed: u64) -> String {
    let r = literal(&(1..=1000).collect::<Vec<u64>>(), 2, failed);
    let mut v = serde_json::to_value(&r).unwrap();
    v["schema"] = "kbench.result/v1".into();
    let o = v.as_object_mut().unwrap();
    for key in ["loss_rate", "drain"] {
        o.remove(key);
    }
    for c in ["counts", "warmup_counts"] {
        let c = v[c].as_object_mut().unwrap();
        for key in ["scheduled", "unsent", "unresolved_by"] {
            c.remove(key);
        }
    }
    for s in ["latency_us", "histograms"] {
        let s = v[s].as_object_mut().unwrap();
        s.remove("failed");
        s.remove("unsent");
    }
    serde_json::to_string_pretty(&v).unwrap()
}

#[test]
fn version_1_results_still_read_report_and_compare() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for (d, failed) in [(&a, 0), (&b, 10)] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("result.json"), v1_text(failed)).unwrap();
    }
    let r = kbench::result::RunResult::read(&b.join("result.json")).unwrap();
    assert_eq!(r.schema, "kbench.result/v1");
    // v1 knew only failed and unresolved: that is its loss.
    assert!(
        (r.loss_rate - 10.0 / 1010.0).abs() < 1e-9,
        "{}",
        r.loss_rate
    );
    assert_eq!(r.counts.scheduled, None);
    assert_eq!(r.latency_us.failed.count, 0);
    let kbench = || assert_cmd::Command::cargo_bin("kbench").unwrap();
    let out = kbench().arg("report").arg(&a).arg(&b).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(a.join("report.html").exists());
    let out = kbench()
        .arg("compare")
        .arg(&a)
        .arg(&b)
        .arg("--out")
        .arg(dir.path().join("cmp"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("0.990%"), "the loss column: {stdout}");
}

/// The summary every user reads, from a fixed result: a snapshot, so a change to it is a
/// deliberate one (update the text below and the README's quickstart output together).
#[test]
fn the_terminal_summary_of_a_fixed_result() {
    let r = literal(&[1000, 2000, 3000, 4000], 2, 1);
    let text = kbench::report::terminal::summary(&r);
    let expected = r#"kbench lit: literal
  broker     embedded, 3 brokers at 127.0.0.1:1; topic kbench (6 partitions)
  producer   async, 1 instance(s) x 2 workers, acks=1, compression=none, linger=5ms, batch=1000000B
  load       100B messages at max, 10s measured after 0s warm-up  [completed]

  throughput 2 msg/s, 200 B/s over 2.00 s (target 1000/s, achieved 99.0%)
  messages   scheduled 5 = sent + unsent 0; sent 5 = acked 4 + failed 1 + unresolved 0

  latency           p50        p90        p99      p99.9        max       mean
  corrected     2.00 ms    4.00 ms    4.00 ms    4.00 ms    4.00 ms    2.50 ms
  service       2.00 ms    4.00 ms    4.00 ms    4.00 ms    4.00 ms    2.50 ms
  send lag   (no samples)
  failed >=     30.02 s    30.02 s    30.02 s    30.02 s    30.02 s    30.01 s

  LOSS       20.000% of the scheduled messages did not make it (failed + unresolved + unsent)
  errors     _MSG_TIMED_OUT x1
  events     1 (see result.json), first: a <tagged> & quoted "event" at 0.5s
  note: a note
"#;
    assert_eq!(text, expected, "the summary changed:\n{text}");
    // A drain is printed under the throughput when the run had one.
    let mut drained = r.clone();
    drained.drain = Some(kbench::result::Drain {
        s: 1.5,
        messages: 1200,
        bytes: 120_000,
        msgs_per_sec: 800.0,
    });
    let text = kbench::report::terminal::summary(&drained);
    assert!(
        text.contains("\n  drain      1,200 msgs acked in 1.50 s after the window (800 msg/s), not in the throughput\n"),
        "{text}"
    );
}
