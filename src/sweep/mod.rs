//! Sweeps: many runs from one scenario file (`[matrix]` x `[experiment] repeat`), and what a
//! performance engineer wants from them: per-cell medians and spread, a ranked table ("best
//! throughput with p99 under the SLO"), and charts of each varied key's effect.
//!
//! `summary.json` is a pure function of the runs' result files.

pub mod run;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::result::RunResult;

pub const SCHEMA: &str = "kbench.sweep/v1";

/// Median and spread of one metric over a cell's runs, and the median's 95% interval (a seeded
/// bootstrap over the runs, `crate::stats`: the median itself for one run).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    #[serde(default)]
    pub low: f64,
    #[serde(default)]
    pub high: f64,
}

impl Stat {
    pub fn of(values: &[f64]) -> Option<Stat> {
        if values.is_empty() {
            return None;
        }
        let i = crate::stats::median_interval(values);
        Some(Stat {
            median: i.median,
            min: values.iter().cloned().fold(f64::MAX, f64::min),
            max: values.iter().cloned().fold(f64::MIN, f64::max),
            low: i.low,
            high: i.high,
        })
    }

    /// Whether two medians' intervals overlap: the runs cannot tell them apart.
    pub fn overlaps(&self, o: &Stat) -> bool {
        self.low <= o.high && o.low <= self.high
    }
}

/// One cell of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellSummary {
    /// The matrix values of the cell, e.g. {"producer.acks": "all"}.
    pub vars: BTreeMap<String, String>,
    /// The cell's result.json files.
    pub runs: Vec<String>,
    /// Acked msg/s.
    pub throughput: Stat,
    /// Corrected latency (µs).
    pub p50_us: Stat,
    pub p99_us: Stat,
    pub p999_us: Stat,
    /// Achieved compression ratio (librdkafka statistics), when known.
    pub compression_ratio: Option<Stat>,
    /// Failed messages over all runs.
    pub failed: u64,
    /// Median p99 within `slo_p99`, when the experiment has one.
    pub within_slo: Option<bool>,
    /// Why the cell's figures cannot be trusted (a run whose counts do not add up): such a
    /// cell is listed, marked, and never ranked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invalid: Vec<String>,
}

/// `summary.json` of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub schema: String,
    pub scenario: String,
    pub slo_p99_us: Option<u64>,
    pub runs_planned: usize,
    pub runs_done: usize,
    /// False when the sweep was interrupted.
    pub complete: bool,
    pub cells: Vec<CellSummary>,
    /// Cell indexes, best first: within the SLO by throughput, then the rest by p99. Invalid
    /// cells are not in it.
    pub ranking: Vec<usize>,
}

/// A finished run of a sweep.
#[derive(Debug, Clone)]
pub struct DoneRun {
    /// Its cell in the plan.
    pub cell: usize,
    pub vars: Vec<(String, String)>,
    /// Its result.json.
    pub path: String,
    pub result: RunResult,
}

/// Summarizes finished runs.
pub fn summarize(
    scenario: &str,
    slo_p99_us: Option<u64>,
    runs_planned: usize,
    complete: bool,
    done: &[DoneRun],
) -> Summary {
    let mut by_cell: BTreeMap<usize, Vec<&DoneRun>> = BTreeMap::new();
    for d in done {
        by_cell.entry(d.cell).or_default().push(d);
    }
    let cells: Vec<CellSummary> = by_cell
        .values()
        .filter_map(|runs| {
            let pick = |f: fn(&RunResult) -> f64| {
                Stat::of(&runs.iter().map(|r| f(&r.result)).collect::<Vec<_>>())
            };
            let p99 = pick(|r| r.latency_us.corrected.p99 as f64)?;
            let ratios: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.result.client.as_ref().and_then(|c| c.compression_ratio))
                .collect();
            Some(CellSummary {
                vars: runs[0].vars.iter().cloned().collect(),
                runs: runs.iter().map(|r| r.path.clone()).collect(),
                throughput: pick(|r| r.throughput.msgs_per_sec)?,
                p50_us: pick(|r| r.latency_us.corrected.p50 as f64)?,
                p99_us: p99,
                p999_us: pick(|r| r.latency_us.corrected.p999 as f64)?,
                compression_ratio: Stat::of(&ratios),
                failed: runs.iter().map(|r| r.result.counts.failed).sum(),
                within_slo: slo_p99_us.map(|slo| p99.median <= slo as f64),
                invalid: runs
                    .iter()
                    .filter_map(|r| r.result.accounting_error())
                    .map(|e| format!("counts do not add up: {e}"))
                    .collect(),
            })
        })
        .collect();
    let mut ranking: Vec<usize> = (0..cells.len())
        .filter(|&i| cells[i].invalid.is_empty())
        .collect();
    ranking.sort_by(|&a, &b| rank_cmp(&cells[a], &cells[b]));
    Summary {
        schema: SCHEMA.into(),
        scenario: scenario.into(),
        slo_p99_us,
        runs_planned,
        runs_done: done.len(),
        complete,
        cells,
        ranking,
    }
}

/// The ranking order: cells within the SLO first; among them the higher throughput (a tie when
/// within 1%, as at a fixed rate where every cell delivers the target, or when the repeats'
/// intervals overlap), then the lower p99; cells over the SLO by p99.
fn rank_cmp(ca: &CellSummary, cb: &CellSummary) -> std::cmp::Ordering {
    let ok = |c: &CellSummary| c.within_slo.unwrap_or(true);
    let (ta, tb) = (ca.throughput.median, cb.throughput.median);
    let tie = throughput_tie(ca, cb);
    ok(cb).cmp(&ok(ca)).then_with(|| {
        if ok(ca) && !tie {
            tb.total_cmp(&ta)
        } else {
            ca.p99_us.median.total_cmp(&cb.p99_us.median)
        }
    })
}

/// Whether two cells' throughputs cannot be told apart: within 1%, or (with repeats)
/// overlapping intervals.
pub fn throughput_tie(ca: &CellSummary, cb: &CellSummary) -> bool {
    let (ta, tb) = (ca.throughput.median, cb.throughput.median);
    (ta - tb).abs() <= 0.01 * ta.max(tb) || ca.throughput.overlaps(&cb.throughput)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(tp: f64, p99: f64, slo: Option<bool>) -> CellSummary {
        let st = |v: f64| Stat {
            median: v,
            min: v,
            max: v,
            low: v,
            high: v,
        };
        CellSummary {
            vars: BTreeMap::new(),
            runs: vec![],
            throughput: st(tp),
            p50_us: st(p99 / 2.0),
            p99_us: st(p99),
            p999_us: st(p99),
            compression_ratio: None,
            failed: 0,
            within_slo: slo,
            invalid: Vec::new(),
        }
    }

    #[test]
    fn overlapping_repeats_are_a_throughput_tie_and_p99_decides() {
        let from = |tp: &[f64], p99: f64| {
            let mut c = cell(0.0, p99, Some(true));
            c.throughput = Stat::of(tp).unwrap();
            c
        };
        // 5% apart in the median, but the repeats overlap: a tie, so the lower p99 ranks first.
        let (a, b) = (
            from(&[1000.0, 1100.0, 1050.0], 9.0),
            from(&[1060.0, 1000.0, 1120.0], 5.0),
        );
        assert!(throughput_tie(&a, &b));
        assert_eq!(rank_cmp(&a, &b), std::cmp::Ordering::Greater);
        // Apart: the higher throughput ranks first whatever its p99.
        let c = from(&[1500.0, 1510.0, 1490.0], 9.0);
        assert!(!throughput_tie(&a, &c));
        assert_eq!(rank_cmp(&c, &b), std::cmp::Ordering::Less);
    }

    #[test]
    fn ranking_prefers_slo_then_throughput_then_p99() {
        let cells = [
            cell(1000.0, 5.0, Some(true)),
            cell(5000.0, 50.0, Some(false)),
            cell(2000.0, 9.0, Some(true)),
            cell(2010.0, 3.0, Some(true)), // a tie with the previous: lower p99 first
            cell(4000.0, 40.0, Some(false)),
        ];
        let mut ranking: Vec<usize> = (0..5).collect();
        ranking.sort_by(|&a, &b| rank_cmp(&cells[a], &cells[b]));
        assert_eq!(ranking, vec![3, 2, 0, 4, 1]);
    }

    #[test]
    fn stats_take_median_and_range() {
        let s = Stat::of(&[3.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 10.0));
        assert_eq!(Stat::of(&[5.0]).unwrap().median, 5.0);
        assert!(Stat::of(&[]).is_none());
    }
}
