//! Running a capacity search: probes one after another through a [`Runner`] (each an ordinary
//! fixed-rate run with its own result.json), then `capacity.json` and the answer line; the report
//! stage draws the knee chart from the returned [`CapacityReport`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::{judge, Probe, Search};
use crate::result::run_dir;
use crate::runner::Runner;
use crate::scenario::Scenario;
use crate::units::Rate;

pub const SCHEMA: &str = "kbench.capacity/v1";

/// The search's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The highest confirmed (or, if stopped early, highest) passing rate in msg/s; null when
    /// even `start_rate` failed.
    pub rate: Option<f64>,
    /// [highest pass, lowest fail] in msg/s.
    pub bracket: [Option<f64>; 2],
    /// The final passing rate passed a second probe.
    pub confirmed: bool,
    /// The search stopped because the load generator fell behind: the capacity is at least `rate`.
    pub limited_by_generator: bool,
    /// The search stopped at `max_total`.
    pub budget_exhausted: bool,
    /// The search stopped at a probe whose counts do not add up: no answer can be trusted.
    #[serde(default)]
    pub invalid: bool,
    /// The rate and reasons of the probe that stopped the search (limited or invalid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<String>,
    /// Stopped by Ctrl-C.
    pub interrupted: bool,
    pub probes: usize,
    pub elapsed_s: f64,
    /// The answer in words.
    pub line: String,
}

/// `capacity.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityReport {
    pub schema: String,
    pub scenario: String,
    /// e.g. "p99 <= 50ms".
    pub slo: String,
    /// The tightest latency limit of the SLO, in ms (the knee chart's SLO line).
    #[serde(default)]
    pub slo_ms: f64,
    pub answer: Answer,
    pub probes: Vec<Probe>,
}

fn elapsed_text(secs: f64) -> String {
    let s = secs.round() as u64;
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// The answer line, e.g. `capacity 41.2k msg/s at p99 <= 50ms (bracket 41.2k..43.3k, 11 probes, 4m10s)`.
pub fn answer_line(a: &Answer, slo: &str, max_rate: f64) -> String {
    let h = |v: f64| Rate::human(v);
    let tail = format!("{} probes, {}", a.probes, elapsed_text(a.elapsed_s));
    if a.invalid {
        return format!(
            "no capacity answer: {} ({tail})",
            a.stopped_by
                .as_deref()
                .unwrap_or("a probe's counts do not add up")
        );
    }
    match (a.rate, a.bracket[1]) {
        (None, _) if a.limited_by_generator => format!(
            "no capacity answer at {slo}: the first probe was limited by this load generator, not the cluster ({}); add producer instances, run on more machines or warm the cluster up, then search again ({tail})",
            a.stopped_by.as_deref().unwrap_or("it fell behind its schedule")
        ),
        (None, None) if a.interrupted => format!("no capacity answer at {slo}: interrupted during the first probe ({tail})"),
        (None, _) => format!("capacity below {} msg/s at {slo}: the first probe failed ({tail})", h(a.bracket[1].unwrap_or(0.0))),
        (Some(r), _) if a.limited_by_generator => format!(
            "capacity >= {} msg/s at {slo}: limited by this load generator; add producer instances or run on more machines ({tail})",
            h(r)
        ),
        (Some(r), None) if r >= max_rate => format!("capacity >= {} msg/s at {slo}: max_rate reached ({tail})", h(r)),
        (Some(r), fail) => {
            let mut line = format!("capacity {} msg/s at {slo} (bracket {}..{}, {tail})", h(r), h(r), fail.map_or("?".into(), h));
            if a.budget_exhausted {
                line.push_str("; stopped by max_total");
            }
            if a.interrupted {
                line.push_str("; interrupted");
            }
            if !a.confirmed {
                line.push_str("; not confirmed by a second probe");
            }
            line
        }
    }
}

/// The scenario of one probe: `s` at a fixed `rate` for the step duration.
fn probe_scenario(
    s: &Scenario,
    spec: &crate::scenario::capacity::CapacitySpec,
    rate: f64,
) -> Scenario {
    let mut probe = s.clone();
    probe.load.rate = Rate::PerSec(rate);
    probe.load.duration = Some(spec.step_duration);
    probe.load.messages = None;
    probe.capacity = None;
    probe
}

/// The line printed for probe `n` as the search goes.
fn probe_line(n: usize, rate: f64, probe: &Probe) -> String {
    format!(
        "probe {n:>2}: {:>8} msg/s  p50 {:>9}  p99 {:>9}  achieved {:>6}  {}{}",
        Rate::human(rate),
        crate::units::human_us(probe.p50_us as f64),
        crate::units::human_us(probe.p99_us as f64),
        probe
            .achieved_rate_ratio
            .map_or("-".into(), |a| format!("{a:.3}")),
        probe.verdict,
        if probe.reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", probe.reasons.join("; "))
        }
    )
}

/// Runs the search for scenario `s` (which has a `[capacity]` section) and writes everything
/// under `<out>/<timestamp>-<name>-capacity/`.
pub async fn run(
    s: &Scenario,
    out: &Path,
    runner: &mut impl Runner,
) -> anyhow::Result<(CapacityReport, PathBuf)> {
    let spec = s
        .capacity
        .clone()
        .context("the scenario has no [capacity] section")?;
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let dir = run_dir(out, &now, &format!("{}-capacity", s.name));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let started = Instant::now();
    let per_probe = (s.load.warmup.0 + spec.step_duration.0).as_secs_f64() + 1.0;
    let mut search = Search::from_spec(&spec);
    let mut probes: Vec<Probe> = Vec::new();
    let (mut limited, mut budget, mut interrupted) = (false, false, false);
    let mut stopped_by = None;
    while let Some(rate) = search.next_rate() {
        if started.elapsed().as_secs_f64() + per_probe > spec.max_total.0.as_secs_f64() {
            budget = true;
            search.stop();
            break;
        }
        let probe_s = probe_scenario(s, &spec, rate);
        let probe_dir = dir.join(format!("probe-{:02}-{}", probes.len() + 1, rate.round()));
        let result = runner.run(&probe_s, &probe_dir).await?;
        let probe = judge(
            &spec,
            &s.gate.validity,
            &result,
            probe_dir.join("result.json").display().to_string(),
        );
        runner.say(&probe_line(probes.len() + 1, rate, &probe));
        let verdict = probe.verdict.clone();
        probes.push(probe);
        if result.status == crate::result::Status::Interrupted {
            interrupted = true;
            search.stop();
            break;
        }
        if verdict == "limited" || verdict == "invalid" {
            let p = probes.last().expect("just pushed");
            stopped_by = Some(format!(
                "probe {} at {} msg/s: {}",
                probes.len(),
                Rate::human(rate),
                p.reasons.join("; ")
            ));
            limited = verdict == "limited";
            search.stop();
            break;
        }
        search.record(rate, verdict == "pass");
    }
    let mut answer = Answer {
        rate: search.pass,
        bracket: [search.pass, search.fail],
        confirmed: search.confirmed,
        limited_by_generator: limited,
        budget_exhausted: budget,
        invalid: stopped_by.is_some() && !limited,
        stopped_by,
        interrupted,
        probes: probes.len(),
        elapsed_s: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        line: String::new(),
    };
    answer.line = answer_line(
        &answer,
        &spec.slo_text(),
        spec.max_rate.per_sec().unwrap_or(f64::MAX),
    );
    let report = CapacityReport {
        schema: SCHEMA.into(),
        scenario: s.name.clone(),
        slo: spec.slo_text(),
        slo_ms: spec
            .slo
            .values()
            .map(|d| d.0.as_secs_f64() * 1e3)
            .fold(f64::MAX, f64::min),
        answer,
        probes,
    };
    let json = serde_json::to_vec_pretty(&report)?;
    crate::result::write_atomic(&dir.join("capacity.json"), &json)?;
    Ok((report, dir))
}

/// Why a capacity answer fails its gate (`--floor`, `--baseline`): exit 99.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GateFailure(pub String);

impl From<String> for GateFailure {
    fn from(message: String) -> GateFailure {
        GateFailure(message)
    }
}

/// A capacity floor or a baseline, for `--floor` / `--baseline` on `kbench capacity`.
#[derive(Debug, Clone, Default)]
pub struct CapacityGate {
    pub floor: Option<f64>,
    pub baseline: Option<f64>,
    /// Largest allowed drop against the baseline (fraction).
    pub max_drop: f64,
}

/// Judges an answer: `Err(message)` when it breaks the floor or drops too far below the baseline.
pub fn check_gate(a: &Answer, g: &CapacityGate) -> Result<(), GateFailure> {
    let found = a.rate.unwrap_or(0.0);
    if let Some(floor) = g.floor {
        if found < floor {
            return Err(format!(
                "capacity {} msg/s is below the floor {} msg/s",
                Rate::human(found),
                Rate::human(floor)
            )
            .into());
        }
    }
    if let Some(base) = g.baseline {
        if base > 0.0 && (base - found) / base > g.max_drop {
            return Err(format!(
                "capacity {} msg/s is {:.1}% below the baseline {} msg/s (allowed {:.1}%)",
                Rate::human(found),
                (base - found) / base * 100.0,
                Rate::human(base),
                g.max_drop * 100.0
            )
            .into());
        }
    }
    Ok(())
}

/// Reads a saved `capacity.json` (a file or its directory).
pub fn read_report(path: &Path) -> anyhow::Result<CapacityReport> {
    let file = if path.is_dir() {
        path.join("capacity.json")
    } else {
        path.to_path_buf()
    };
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let r: CapacityReport =
        serde_json::from_str(&text).map_err(|e| crate::result::ResultError::Invalid {
            path: file.display().to_string(),
            detail: e.to_string(),
        })?;
    if r.schema != SCHEMA {
        return Err(crate::result::ResultError::Schema {
            path: file.display().to_string(),
            found: r.schema,
        }
        .into());
    }
    Ok(r)
}

/// Whether `path` is a saved capacity search: a `capacity.json`, or a directory holding one.
pub fn is_search(path: &Path) -> bool {
    path.join("capacity.json").is_file()
        || path.file_name().is_some_and(|n| n == "capacity.json") && path.is_file()
}

/// Reads the answer of a saved `capacity.json` (a file or its directory).
pub fn read_answer(path: &Path) -> anyhow::Result<f64> {
    read_report(path)?
        .answer
        .rate
        .context("the baseline capacity search found no capacity")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(rate: Option<f64>, fail: Option<f64>) -> Answer {
        Answer {
            rate,
            bracket: [rate, fail],
            confirmed: true,
            limited_by_generator: false,
            budget_exhausted: false,
            invalid: false,
            stopped_by: None,
            interrupted: false,
            probes: 11,
            elapsed_s: 250.0,
            line: String::new(),
        }
    }

    #[test]
    fn answer_lines_say_what_was_found() {
        let slo = "p99 <= 50ms";
        assert_eq!(
            answer_line(&answer(Some(41_200.0), Some(43_300.0)), slo, 2e6),
            "capacity 41.2k msg/s at p99 <= 50ms (bracket 41.2k..43.3k, 11 probes, 4m10s)"
        );
        let mut limited = answer(Some(80_000.0), None);
        limited.limited_by_generator = true;
        assert!(answer_line(&limited, slo, 2e6)
            .contains(">= 80.0k msg/s at p99 <= 50ms: limited by this load generator"));
        assert!(answer_line(&answer(Some(2e6), None), slo, 2e6)
            .contains(">= 2.00M msg/s at p99 <= 50ms: max_rate reached"));
        assert!(answer_line(&answer(None, Some(1000.0)), slo, 2e6)
            .starts_with("capacity below 1000 msg/s"));
        // A first probe the generator could not drive says so: never "capacity below 0".
        let mut cold = answer(None, None);
        cold.limited_by_generator = true;
        cold.stopped_by = Some("probe 1 at 64.0k msg/s: send-lag p99 2 s".into());
        let line = answer_line(&cold, slo, 2e6);
        assert!(line.starts_with("no capacity answer at p99 <= 50ms: the first probe was limited by this load generator"), "{line}");
        assert!(
            line.contains("probe 1 at 64.0k msg/s") && !line.contains("below 0"),
            "{line}"
        );
        let mut invalid = answer(Some(1000.0), Some(2000.0));
        invalid.invalid = true;
        invalid.stopped_by = Some("probe 3 at 1500 msg/s: counts do not add up".into());
        assert!(answer_line(&invalid, slo, 2e6).starts_with("no capacity answer: probe 3"));
    }

    #[test]
    fn capacity_gates_check_floor_and_baseline() {
        let a = answer(Some(900.0), Some(1000.0));
        let g = |floor, baseline| CapacityGate {
            floor,
            baseline,
            max_drop: 0.1,
        };
        assert!(check_gate(&a, &g(Some(800.0), None)).is_ok());
        assert!(check_gate(&a, &g(Some(1000.0), None))
            .unwrap_err()
            .0
            .contains("below the floor"));
        assert!(check_gate(&a, &g(None, Some(990.0))).is_ok());
        assert!(check_gate(&a, &g(None, Some(1100.0)))
            .unwrap_err()
            .0
            .contains("18.2% below the baseline"));
    }
}
