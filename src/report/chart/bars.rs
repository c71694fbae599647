//! Grouped bars for a comparison: throughput per run (left), and corrected p50 / p99 / p99.9 per
//! run (right, log scale).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{color, err, font, legend, ms, Chart, Drawn, Scale, PERCENTILE_SHADES};
use crate::compare::Comparison;
use crate::units::Rate;

pub struct Bars<'a> {
    pub comparison: &'a Comparison,
}

/// The label under group `x` (groups are centred on integers).
fn group_label(labels: &[String], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() > 1e-6 || i < 0.0 {
        return String::new();
    }
    labels.get(i as usize).cloned().unwrap_or_default()
}

impl Chart for Bars<'_> {
    fn stem(&self) -> &str {
        "compare-bars"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        let entries = &self.comparison.entries;
        let labels: Vec<String> = entries.iter().map(|e| e.label.clone()).collect();
        let n = entries.len().max(1) as f64;
        let root = root
            .titled("throughput and corrected latency per run", font(24))
            .map_err(err)?;
        let (left, right) = root.split_horizontally(root.dim_in_pixel().0 as i32 * 2 / 5);

        let top = entries
            .iter()
            .map(|e| e.result.throughput.msgs_per_sec)
            .fold(1.0, f64::max)
            * 1.15;
        let mut chart = ChartBuilder::on(&left)
            .margin(12)
            .x_label_area_size(60)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.5f64..n - 0.5, 0f64..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(entries.len().max(1))
            .x_label_formatter(&|x| group_label(&labels, *x))
            .y_label_formatter(&|v| Rate::human(*v))
            .y_desc("acked msg/s")
            .label_style(font(14))
            .axis_desc_style(font(16))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(entries.iter().enumerate().map(|(i, e)| {
                let x = i as f64;
                Rectangle::new(
                    [(x - 0.3, 0.0), (x + 0.3, e.result.throughput.msgs_per_sec)],
                    color(i).filled(),
                )
            }))
            .map_err(err)?;

        type Pick = fn(&crate::result::RunResult) -> u64;
        let stats: [(&str, Pick); 3] = [
            ("p50", |r| r.latency_us.corrected.p50),
            ("p99", |r| r.latency_us.corrected.p99),
            ("p99.9", |r| r.latency_us.corrected.p999),
        ];
        let values: Vec<f64> = entries
            .iter()
            .flat_map(|e| stats.iter().map(|(_, f)| ms(f(&e.result))))
            .collect();
        let scale = Scale::of(values);
        let mut chart = ChartBuilder::on(&right)
            .margin(12)
            .x_label_area_size(60)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.5f64..n - 0.5, scale.axis())
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(entries.len().max(1))
            .x_label_formatter(&|x| group_label(&labels, *x))
            .y_labels(12)
            .y_label_formatter(&|y| scale.label(y))
            .y_desc(if scale.log {
                "corrected latency (log scale)"
            } else {
                "corrected latency"
            })
            .label_style(font(14))
            .axis_desc_style(font(16))
            .draw()
            .map_err(err)?;
        let floor = scale.range().start;
        for (k, (name, pick)) in stats.iter().enumerate() {
            let c = PERCENTILE_SHADES[k];
            let offset = (k as f64 - 1.0) * 0.25;
            chart
                .draw_series(entries.iter().enumerate().map(|(i, e)| {
                    let x = i as f64 + offset;
                    Rectangle::new(
                        [
                            (x - 0.11, floor),
                            (x + 0.11, scale.pos(ms(pick(&e.result)))),
                        ],
                        c.filled(),
                    )
                }))
                .map_err(err)?
                .label(*name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], c.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft, 15)?;
        Ok(())
    }
}
