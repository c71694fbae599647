//! A metric of one scenario over its run history: one point per run in the order they ran, a
//! series per resolved scenario (its hash) and environment (fingerprint), the band of each series' last N runs shaded (what a
//! gate against the history compares with), a run with repeats drawn at its median with its
//! interval as a bar, invalid runs drawn as crosses.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{color, err, font, legend, Chart, Drawn};
use crate::history::Row;
use crate::units::{human_us, Rate};

/// The metrics a trend draws, by the names `--metric` takes.
pub const METRICS: [&str; 4] = ["throughput", "p50", "p99", "loss_rate"];

pub struct Trend<'a> {
    /// The runs, oldest first.
    pub rows: &'a [Row],
    /// One of [`METRICS`].
    pub metric: &'a str,
    /// How many of each series' last runs the band spans.
    pub last: usize,
    pub stem: String,
}

/// A row's value of `metric` (throughput in msg/s, latencies in µs, loss as a fraction).
pub fn value(r: &Row, metric: &str) -> f64 {
    match metric {
        "throughput" => r.throughput,
        "p50" => r.p50_us,
        "p99" => r.p99_us,
        _ => r.loss_rate,
    }
}

/// A row's interval of `metric` (a run with repeats), if it has one.
pub fn interval(r: &Row, metric: &str) -> Option<(f64, f64)> {
    match metric {
        "throughput" => r.throughput_interval,
        "p50" => r.p50_interval,
        "p99" => r.p99_interval,
        _ => None,
    }
}

fn label(metric: &str, v: f64) -> String {
    match metric {
        "throughput" => Rate::human(v),
        "loss_rate" => format!("{:.3}%", v * 100.0),
        _ => human_us(v),
    }
}

impl Trend<'_> {
    /// The (scenario hash, fingerprint) pairs, in order of first appearance: one series each
    /// (runs of a changed scenario, or on another environment, are not comparable).
    fn series(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        for r in self.rows {
            let key = (r.scenario_hash.as_str(), r.fingerprint.as_str());
            if !out.contains(&key) {
                out.push(key);
            }
        }
        out
    }
}

impl Chart for Trend<'_> {
    fn stem(&self) -> &str {
        &self.stem
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        let values: Vec<f64> = self
            .rows
            .iter()
            .map(|r| interval(r, self.metric).map_or(value(r, self.metric), |i| i.1))
            .collect();
        let top = values.iter().cloned().fold(0.0, f64::max).max(1e-9) * 1.15;
        let n = self.rows.len().max(1) as f64;
        let metric = self.metric;
        let mut chart = ChartBuilder::on(root)
            .caption(format!("{metric} over the run history"), font(24))
            .margin(16)
            .margin_right(48)
            .x_label_area_size(48)
            .y_label_area_size(90)
            .build_cartesian_2d(0.5f64..n + 0.5, 0f64..top)
            .map_err(err)?;
        let ids: Vec<i64> = self.rows.iter().map(|r| r.id).collect();
        chart
            .configure_mesh()
            .x_labels(self.rows.len().min(20))
            .x_label_formatter(&|x| {
                let i = x.round() as usize;
                ids.get(i.wrapping_sub(1))
                    .map_or(String::new(), |id| format!("#{id}"))
            })
            .y_label_formatter(&|y| label(metric, *y))
            .x_desc("run (history id), in the order they ran")
            .y_desc(metric)
            .label_style(font(15))
            .axis_desc_style(font(16))
            .draw()
            .map_err(err)?;
        for (s, (hash, print)) in self.series().into_iter().enumerate() {
            let c = color(s);
            let ours = |r: &Row| r.scenario_hash == hash && r.fingerprint == print;
            let at: Vec<(f64, f64, bool)> = self
                .rows
                .iter()
                .enumerate()
                .filter(|(_, r)| ours(r))
                .map(|(i, r)| ((i + 1) as f64, value(r, metric), r.valid))
                .collect();
            let valid: Vec<&(f64, f64, bool)> = at.iter().filter(|p| p.2).collect();
            let band = &valid[valid.len().saturating_sub(self.last)..];
            if let (Some(first), Some(last)) = (band.first(), band.last()) {
                let lo = band.iter().map(|p| p.1).fold(f64::MAX, f64::min);
                let hi = band.iter().map(|p| p.1).fold(f64::MIN, f64::max);
                chart
                    .draw_series([Rectangle::new(
                        [
                            (first.0 - 0.4, lo),
                            (last.0 + 0.4, hi.max(lo + top * 0.004)),
                        ],
                        c.mix(0.18).filled(),
                    )])
                    .map_err(err)?;
            }
            chart
                .draw_series(LineSeries::new(
                    valid.iter().map(|p| (p.0, p.1)),
                    c.stroke_width(2),
                ))
                .map_err(err)?
                .label(format!(
                    "{}: {print}, scenario {}",
                    s + 1,
                    hash.trim_start_matches("fnv1a64:").get(..8).unwrap_or(hash)
                ))
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
            chart
                .draw_series(valid.iter().map(|p| Circle::new((p.0, p.1), 5, c.filled())))
                .map_err(err)?;
            // A run with repeats: its median's interval as a bar.
            let bars = self.rows.iter().enumerate().filter_map(|(i, r)| {
                let (lo, hi) = interval(r, metric).filter(|_| ours(r))?;
                let x = (i + 1) as f64;
                Some(PathElement::new(vec![(x, lo), (x, hi)], c.stroke_width(2)))
            });
            chart.draw_series(bars).map_err(err)?;
            chart
                .draw_series(
                    at.iter()
                        .filter(|p| !p.2)
                        .map(|p| Cross::new((p.0, p.1), 7, c.stroke_width(3))),
                )
                .map_err(err)?;
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight, 14)
    }
}
