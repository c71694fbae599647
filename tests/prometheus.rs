//! The metrics endpoint with the real thing: Debian's Prometheus scrapes a kbench run on
//! 127.0.0.1 every second and its HTTP API gives the acked rate; `promtool check metrics` lints a
//! scrape; the Grafana dashboard's queries pass `promtool check rules`. Skipped (with a message)
//! without Prometheus, unless KBENCH_REQUIRE_PROMETHEUS=1 (the README's test command installs it).
//! Also, without any of that: the exposition's counters at the end of a run are the result's.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::scenario;
use kbench::live::metrics::{prometheus_text, Metrics};

/// GET http://127.0.0.1:port/path, the body (HTTP/1.0: the server closes when done).
fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    Some(text.split_once("\r\n\r\n")?.1.to_string())
}

/// The sample `name{...}`'s value in a text exposition.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(&format!("{name}{{")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Runs a scenario on the embedded broker with a metrics endpoint; the result and the endpoint's
/// final exposition.
fn run_with_metrics(toml: &str) -> (kbench::result::RunResult, String) {
    let m = std::sync::Arc::new(Metrics::bind("127.0.0.1:0").unwrap());
    let s = scenario(toml, &[]);
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let interrupts = kbench::signal::Interrupts::none();
    let how = kbench::RunHow {
        metrics: Some(&m),
        ..kbench::RunHow::under(dir.path(), common::info(&s), &interrupts)
    };
    let (r, _) = rt.block_on(kbench::run_one(&s, how)).unwrap();
    let text = m.text();
    (r, text)
}

#[test]
fn the_exposition_ends_with_the_results_counts() {
    let (r, text) = run_with_metrics(
        "name = \"metrics\"\n[load]\nrate = \"1000/s\"\nduration = \"2s\"\nwarmup = \"500ms\"\n",
    );
    assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
    // Every sample line is `name{labels} number`.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
        assert!(
            line.contains("scenario=\"metrics\"") && line.contains("shard=\"0\""),
            "{line}"
        );
    }
    let c = |n| sample(&text, n).unwrap() as u64;
    assert_eq!(
        c("kbench_messages_acked_total"),
        r.counts.acked + r.warmup_counts.acked
    );
    assert_eq!(
        c("kbench_messages_sent_total"),
        r.counts.sent + r.warmup_counts.sent
    );
    assert_eq!(
        c("kbench_messages_failed_total"),
        r.counts.failed + r.warmup_counts.failed
    );
    assert_eq!(sample(&text, "kbench_target_rate"), Some(1000.0));
    assert_eq!(c("kbench_in_flight"), 0);
    // The Prometheus text format names the counters' HELP and TYPE after their samples.
    let plain = prometheus_text(&text);
    assert!(plain.contains("# TYPE kbench_messages_acked_total counter"));
    assert!(!plain.contains("# EOF"));
}

#[test]
fn a_consume_run_publishes_what_it_read_back_and_its_e2e_latency() {
    let (r, text) = run_with_metrics(
        "name = \"metrics\"\n[load]\nrate = \"500/s\"\nduration = \"3s\"\nwarmup = \"500ms\"\n[consume]\nmode = \"partitions\"\n",
    );
    let consumed = r.counts.consumed.unwrap() + r.warmup_counts.consumed.unwrap();
    assert_eq!(
        sample(&text, "kbench_messages_consumed_total"),
        Some(consumed as f64)
    );
    assert_eq!(consumed, r.counts.acked + r.warmup_counts.acked);
    for stream in ["e2e", "e2e_service"] {
        let p99 = text
            .lines()
            .find(|l| {
                l.starts_with("kbench_latency_seconds{")
                    && l.contains(&format!("stream=\"{stream}\""))
                    && l.contains("percentile=\"99\"")
            })
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok());
        // A finished interval's p99, in seconds: positive, and no more than the run's max.
        let p99 = p99.unwrap_or_else(|| panic!("no {stream} p99 in\n{text}"));
        assert!(p99 > 0.0, "{stream} p99 {p99}");
        assert!(
            p99 * 1e6 <= r.latency_us.e2e.max as f64 * 1.02,
            "{stream} p99 {p99}"
        );
    }
}

fn prometheus_installed() -> bool {
    let found = ["prometheus", "promtool"]
        .iter()
        .all(|b| Command::new(b).arg("--version").output().is_ok());
    if !found {
        assert!(
            std::env::var("KBENCH_REQUIRE_PROMETHEUS").map_or(true, |v| v != "1"),
            "Prometheus is required (apt-get install prometheus)"
        );
        common::skipped(
            "prometheus",
            "prometheus/promtool are missing (Debian package prometheus)",
        );
    }
    found
}

/// Kills a child when dropped.
struct Killed(std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn prometheus_scrapes_a_run_and_sees_its_rate_and_its_exact_count() {
    if !prometheus_installed() {
        return;
    }
    let [kport, pport] = common::free_ports();
    let dir = tempfile::tempdir().unwrap();
    let mut run = Killed(
        Command::new(assert_cmd::cargo::cargo_bin("kbench"))
            .args([
                "run",
                "--rate",
                "2000/s",
                "--duration",
                "12s",
                "--quiet",
                "--no-charts",
            ])
            .args([
                "--metrics-addr",
                &format!("127.0.0.1:{kport}"),
                "--metrics-hold",
                "5s",
            ])
            .arg("--out")
            .arg(dir.path().join("out"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: kbench\n    static_configs:\n      - targets: [\"127.0.0.1:{kport}\"]\n"),
    )
    .unwrap();
    let _prom = Killed(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{pport}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The scrape itself passes promtool's lint.
    let deadline = Instant::now() + Duration::from_secs(30);
    let scrape = loop {
        match get(kport, "/metrics").filter(|t| t.contains("kbench_messages_acked_total")) {
            Some(t) => break t,
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            None => panic!("no scrape from kbench"),
        }
    };
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(scrape.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Prometheus' own view of the acked rate, once its 5 s window holds at least four 1 s scrapes.
    let samples = "/api/v1/query?query=count_over_time(kbench_messages_acked_total%5B5s%5D)";
    let deadline = Instant::now() + Duration::from_secs(40);
    while instant_value(pport, samples).unwrap_or(0.0) < 4.0 {
        assert!(
            Instant::now() < deadline,
            "Prometheus never had 4 scrapes in 5 s"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let query = "/api/v1/query?query=rate(kbench_messages_acked_total%5B5s%5D)";
    let rate = instant_value(pport, query).expect("Prometheus has a rate");
    eprintln!("Prometheus: rate(kbench_messages_acked_total[5s]) = {rate:.0} at a 2000/s target");
    // The counters step once per 1 s interval, so a 5 s window holds 4 to 6 steps of 2000.
    assert!(
        (1400.0..=2600.0).contains(&rate),
        "acked rate {rate} against 2000/s"
    );
    // After the run (and its hold, which the 1 s scrapes see), the counter Prometheus stored
    // last is the result's acked count, warm-up included, to the message.
    let deadline = Instant::now() + Duration::from_secs(60);
    while run.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the run did not end");
        std::thread::sleep(Duration::from_millis(200));
    }
    let r = kbench::result::RunResult::read(&result_in(&dir.path().join("out"))).unwrap();
    let last = instant_value(
        pport,
        "/api/v1/query?query=max_over_time(kbench_messages_acked_total%5B10m%5D)",
    )
    .expect("Prometheus has the counter");
    eprintln!("Prometheus: last kbench_messages_acked_total = {last}");
    assert_eq!(last, (r.counts.acked + r.warmup_counts.acked) as f64);
}

/// The first value of a Prometheus instant query's answer.
fn instant_value(port: u16, query: &str) -> Option<f64> {
    let body = get(port, query)?;
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    v["data"]["result"][0]["value"][1]
        .as_str()?
        .parse::<f64>()
        .ok()
}

/// The result.json one run wrote under `out`.
fn result_in(out: &std::path::Path) -> std::path::PathBuf {
    let run = std::fs::read_dir(out)
        .expect("the output directory exists")
        .next()
        .expect("a run directory")
        .unwrap()
        .path();
    run.join("result.json")
}

#[test]
fn the_grafana_dashboard_queries_are_valid_promql_over_kbench_metrics() {
    let dash: serde_json::Value =
        serde_json::from_str(include_str!("../deploy/grafana/kbench.json")).unwrap();
    assert_eq!(dash["uid"], "kbench");
    let exprs: Vec<String> = dash["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .map(|t| t["expr"].as_str().unwrap().to_string())
        .collect();
    assert!(exprs.len() >= 8);
    let exported = [
        "kbench_messages_sent_total",
        "kbench_messages_acked_total",
        "kbench_messages_failed_total",
        "kbench_queue_full_total",
        "kbench_target_rate",
        "kbench_in_flight",
        "kbench_messages_consumed_total",
        "kbench_latency_seconds",
    ];
    for e in &exprs {
        assert!(
            exported.iter().any(|m| e.contains(m)),
            "{e} uses no kbench metric"
        );
    }
    for m in exported {
        assert!(exprs.iter().any(|e| e.contains(m)), "{m} is on no panel");
    }
    if !prometheus_installed() {
        return;
    }
    // Grafana's variables filled in, every query as a recording rule for promtool.
    let dir = tempfile::tempdir().unwrap();
    let rules: String = exprs
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let e = e
                .replace("$__rate_interval", "1m")
                .replace("$scenario", ".*");
            format!("      - record: kbench:panel{i}\n        expr: '{e}'\n")
        })
        .collect();
    let file = dir.path().join("rules.yml");
    std::fs::write(
        &file,
        format!("groups:\n  - name: kbench-dashboard\n    rules:\n{rules}"),
    )
    .unwrap();
    let out = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
