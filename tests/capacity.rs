//! Capacity search on the embedded broker, with a known answer: sync mode with W workers behind
//! an injected round trip of R ms delivers at most about W / R messages per second.

mod common;

use common::{info, scenario};
use kbench::capacity::drive;
use kbench::result::RunResult;
use kbench::signal::Interrupts;

#[test]
fn the_search_finds_the_closed_loop_bound() {
    let s = scenario(
        r#"
name = "cap"
[topic]
name = "cap"
[producer]
mode = "sync"
workers = 4
linger = "0ms"
[load]
warmup = "500ms"
[[faults]]
at = "0s"
action = "delay"
rtt = "20ms"
[capacity]
slo = { p99 = "100ms" }
start_rate = "50/s"
max_rate = "5k/s"
step_duration = "2s"
precision = "5%"
max_total = "3m"
"#,
        &[],
    );
    let out = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (report, dir) = rt
        .block_on(kbench::orchestrate::capacity(
            &s,
            info(&s),
            out.path(),
            &Interrupts::none(),
            true,
        ))
        .unwrap();
    let a = &report.answer;
    let found = a.rate.expect("a capacity is found");
    assert!(a.confirmed, "{}", a.line);
    assert!(!a.limited_by_generator && !a.budget_exhausted);
    // The physical bound from what the passing probes measured: W / mean service latency.
    let best = report
        .probes
        .iter()
        .rfind(|p| p.verdict == "pass" && p.rate == found)
        .expect("the answer was probed");
    let r = RunResult::read(std::path::Path::new(&best.result)).unwrap();
    let bound = 4.0 / (r.latency_us.service.mean / 1e6);
    assert!(
        (found - bound).abs() / bound <= 0.15,
        "capacity {found} vs bound {bound:.0} msg/s"
    );
    // Against the nominal W / R (R = the injected 20 ms, a lower bound on the real round trip),
    // the SLO-bound capacity sits lower: queueing near saturation lifts p99 first.
    assert!(
        (150.0..=230.0).contains(&found),
        "capacity {found} vs 4 / 20 ms = 200 msg/s"
    );
    // Every probe kept its result; the report and the knee chart are written.
    assert!(report
        .probes
        .iter()
        .all(|p| std::path::Path::new(&p.result).exists()));
    assert!(report.probes.iter().any(|p| p.verdict == "fail"));
    let saved: drive::CapacityReport =
        serde_json::from_str(&std::fs::read_to_string(dir.join("capacity.json")).unwrap()).unwrap();
    assert_eq!(&saved, &report);
    assert!(dir.join("capacity-knee.svg").exists() && dir.join("capacity-knee.png").exists());
    assert!(
        a.line.starts_with(&format!(
            "capacity {} msg/s at p99 <= 100ms (bracket",
            kbench::units::Rate::human(found)
        )),
        "{}",
        a.line
    );
    assert_eq!(drive::read_answer(&dir).unwrap(), found);
}
