//! The plan: every run a scenario file asks for, decided up front and printed by `--dry-run`.
//!
//! A plain scenario is one run. A sweep (`[matrix]`) is the cartesian product of its matrix
//! values, each cell run `experiment.repeat` times, either interleaved (every cell once, then
//! again: machine noise spreads evenly over the cells) or grouped (all repeats of a cell
//! together). Pure: the same file and overrides always give the same plan.

use std::fmt::Write;
use std::time::Duration;

mod matrix;
mod run;
mod scheduled;

pub use matrix::{check_inputs, load, Loaded, Origin};
pub use run::{
    fault_steps, FaultStep, InstancePlan, PartitionPlan, Planned, RunPlan, StopPlan, WorkerSpec,
    STOP_SLACK, WORKER_SEED_STRIDE,
};
pub use scheduled::Scheduled;

use serde::{Deserialize, Serialize};

use crate::scenario::{Cell, Experiment, Order, Scenario, StopCondition};

/// Which part of a sharded run this is: shard `index` (from 0) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpec {
    pub index: u32,
    pub count: u32,
}

/// One run of a plan.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// Position in the plan, from 0.
    pub index: usize,
    /// Which cell (from 0) and which repeat (from 1).
    pub cell: usize,
    pub repeat: u32,
    /// The matrix values of the cell.
    pub vars: Vec<(String, String)>,
    pub scenario: Scenario,
    /// The run's directory name inside the sweep directory, e.g. `run-003-acks=all,linger=5ms`.
    pub dir_name: String,
}

/// Keeps file-name-safe characters.
fn slug(vars: &[(String, String)]) -> String {
    let text: Vec<String> = vars
        .iter()
        .map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k)))
        .collect();
    text.join(",")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "=,.-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect()
}

/// Expands cells into runs.
pub fn plan(cells: &[Cell], exp: &Experiment) -> Vec<RunSpec> {
    let order: Vec<(usize, u32)> = match exp.order {
        Order::Interleaved => (1..=exp.repeat)
            .flat_map(|r| (0..cells.len()).map(move |c| (c, r)))
            .collect(),
        Order::Grouped => (0..cells.len())
            .flat_map(|c| (1..=exp.repeat).map(move |r| (c, r)))
            .collect(),
    };
    order
        .into_iter()
        .enumerate()
        .map(|(index, (cell, repeat))| {
            let c = &cells[cell];
            let mut dir_name = format!("run-{:03}", index + 1);
            if !c.vars.is_empty() {
                let _ = write!(dir_name, "-{}", slug(&c.vars));
            }
            if exp.repeat > 1 {
                let _ = write!(dir_name, "-r{repeat}");
            }
            RunSpec {
                index,
                cell,
                repeat,
                vars: c.vars.clone(),
                scenario: c.scenario.clone(),
                dir_name,
            }
        })
        .collect()
}

/// Expected length of one run, when it can be known: warm-up plus the measured part (a count at
/// a fixed rate is count / rate; a count at `max` is unknown).
pub fn estimate(s: &Scenario) -> Option<Duration> {
    let measured = match s.load.stop() {
        StopCondition::Duration(d) => d,
        StopCondition::Count(n) => Duration::from_secs_f64(n as f64 / s.load.rate.per_sec()?),
    };
    Some(s.load.warmup.0 + measured)
}

/// Estimated wall time of a plan (runs, cooldowns, about a second of set-up per run), or `None`
/// when some run's length is unknown.
pub fn total_estimate(runs: &[RunSpec], exp: &Experiment) -> Option<Duration> {
    let mut total = Duration::ZERO;
    for r in runs {
        total += estimate(&r.scenario)? + Duration::from_secs(1);
    }
    total += exp.cooldown.0 * runs.len().saturating_sub(1) as u32;
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Format;
    use std::path::Path;

    const SWEEP: &str = r#"
name = "s"
[load]
rate = "1k/s"
duration = "5s"
warmup = "1s"
[matrix]
"producer.acks" = ["1", "all"]
"producer.linger" = ["0ms", "5ms", "20ms"]
[experiment]
repeat = 2
cooldown = "2s"
"#;

    fn text_cells(text: &str, overrides: &[String]) -> Result<Loaded, crate::scenario::InputError> {
        let path = Path::new("sweep.toml");
        let format = Format::Toml;
        load(Origin::Text { path, text, format }, overrides, None)
    }

    fn cells(text: &str, overrides: &[&str]) -> Vec<Cell> {
        let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        text_cells(text, &o).unwrap().cells
    }

    #[test]
    fn a_matrix_expands_into_every_combination_and_repeat() {
        let c = cells(SWEEP, &[]);
        assert_eq!(c.len(), 6);
        assert_eq!(
            c[1].vars,
            vec![
                ("producer.acks".into(), "1".into()),
                ("producer.linger".into(), "5ms".into())
            ]
        );
        assert_eq!(c[1].scenario.producer.linger.to_string(), "5ms");
        assert!(c[0].scenario.matrix.is_empty(), "cells hold no matrix");
        let exp = c[0].scenario.experiment.clone().unwrap();
        let runs = plan(&c, &exp);
        assert_eq!(runs.len(), 12);
        // Interleaved: all cells, then all cells again.
        let order: Vec<(usize, u32)> = runs.iter().map(|r| (r.cell, r.repeat)).collect();
        assert_eq!(
            &order[..7],
            &[(0, 1), (1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (0, 2)]
        );
        assert_eq!(runs[3].dir_name, "run-004-acks=all,linger=0ms-r1");
        // 12 runs of 6 s + 1 s set-up, 11 cooldowns of 2 s.
        assert_eq!(
            total_estimate(&runs, &exp),
            Some(Duration::from_secs(12 * 7 + 22))
        );
        let grouped = Experiment {
            order: Order::Grouped,
            ..exp
        };
        let order: Vec<usize> = plan(&c, &grouped).iter().map(|r| r.cell).collect();
        assert_eq!(&order[..4], &[0, 0, 1, 1]);
        let text = crate::report::plan::runs(&runs, &grouped);
        assert!(text.contains("12 runs (6 cells x 2 repeats"));
    }

    #[test]
    fn set_fixes_a_matrix_key_for_every_cell() {
        let c = cells(SWEEP, &["producer.acks=1", "message.size=4KiB"]);
        assert_eq!(c.len(), 3);
        assert!(c
            .iter()
            .all(|c| c.scenario.producer.acks().as_rdkafka() == "1"));
        assert!(c
            .iter()
            .all(|c| c.scenario.message.size.fixed() == Some(4096)));
        assert_eq!(c[0].vars.len(), 1);
    }

    #[test]
    fn bad_matrix_keys_and_values_name_their_line() {
        let bad = SWEEP.replace("\"producer.linger\"", "\"producer.lingr\"");
        let e = text_cells(&bad, &[]).unwrap_err();
        assert_eq!(e.location, "sweep.toml:9", "{e}");
        assert!(e.to_string().contains("producer.lingr: unknown key"), "{e}");
        let bad = SWEEP.replace("[\"0ms\", \"5ms\", \"20ms\"]", "[\"0ms\", \"fast\"]");
        let e = text_cells(&bad, &[]).unwrap_err();
        assert_eq!(e.location, "sweep.toml:9", "{e}");
        assert!(e.to_string().contains("producer.linger"), "{e}");
        let bad = SWEEP.replace("[\"1\", \"all\"]", "[]");
        let e = text_cells(&bad, &[]).unwrap_err();
        assert!(
            e.to_string()
                .contains("sweep.toml:8: matrix.producer.acks: expected a non-empty list"),
            "{e}"
        );
    }

    #[test]
    fn a_plain_scenario_is_one_run() {
        let c = cells("name = \"one\"\n", &[]);
        assert_eq!(c.len(), 1);
        let runs = plan(&c, &Experiment::default());
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].dir_name, "run-001");
    }
}
