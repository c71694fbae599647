//! The effect of one varied key in a sweep: throughput (left) and p99 of corrected latency
//! (right) against the key's values, one line per combination of the other keys, with the
//! repeats' range as bars.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{color, err, font, legend, ms, Chart, Drawn, Scale};
use crate::sweep::{CellSummary, Stat};
use crate::units::Rate;

pub struct Effect<'a> {
    /// The varied key, e.g. `producer.linger`.
    pub key: String,
    /// Its values, in matrix order.
    pub values: Vec<String>,
    pub cells: &'a [CellSummary],
    stem: String,
}

impl<'a> Effect<'a> {
    pub fn new(key: &str, values: Vec<String>, cells: &'a [CellSummary]) -> Self {
        let short: String = key
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        Effect {
            key: key.to_string(),
            values,
            cells,
            stem: format!("effect-{short}"),
        }
    }

    /// Lines: label of the other keys -> (value index, cell) points.
    fn series(&self) -> Vec<(String, Vec<(usize, &CellSummary)>)> {
        let mut out: Vec<(String, Vec<(usize, &CellSummary)>)> = Vec::new();
        for c in self.cells {
            let Some(v) = c.vars.get(&self.key) else {
                continue;
            };
            let Some(x) = self.values.iter().position(|x| x == v) else {
                continue;
            };
            let others: Vec<String> = c
                .vars
                .iter()
                .filter(|(k, _)| **k != self.key)
                .map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k)))
                .collect();
            let label = if others.is_empty() {
                "all".to_string()
            } else {
                others.join(", ")
            };
            match out.iter_mut().find(|(l, _)| *l == label) {
                Some((_, pts)) => pts.push((x, c)),
                None => out.push((label, vec![(x, c)])),
            }
        }
        for (_, pts) in &mut out {
            pts.sort_by_key(|p| p.0);
        }
        out
    }
}

fn x_label(values: &[String], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() > 1e-6 || i < 0.0 {
        return String::new();
    }
    values.get(i as usize).cloned().unwrap_or_default()
}

impl Chart for Effect<'_> {
    fn stem(&self) -> &str {
        &self.stem
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        let series = self.series();
        let n = self.values.len().max(1) as f64;
        let root = root
            .titled(&format!("effect of {}", self.key), font(24))
            .map_err(err)?;
        let (left, right) = root.split_horizontally(root.dim_in_pixel().0 as i32 / 2);
        let top = self
            .cells
            .iter()
            .map(|c| c.throughput.max)
            .fold(1.0, f64::max)
            * 1.15;
        type Pick = fn(&CellSummary) -> Stat;
        let panels: [(&DrawingArea<DB, Shift>, &str, Pick); 2] = [
            (&left, "acked msg/s", |c| c.throughput),
            (&right, "p99 corrected latency", |c| c.p99_us),
        ];
        let scale = Scale::of(
            self.cells
                .iter()
                .flat_map(|c| [ms(c.p99_us.min as u64), ms(c.p99_us.max as u64)]),
        );
        for (k, (area, desc, pick)) in panels.into_iter().enumerate() {
            let latency = k == 1;
            let y_range = if latency {
                scale.axis()
            } else {
                super::axis(0.0..top, false)
            };
            let y = |v: f64| if latency { scale.pos(ms(v as u64)) } else { v };
            let mut chart = ChartBuilder::on(area)
                .margin(12)
                .x_label_area_size(48)
                .y_label_area_size(80)
                .build_cartesian_2d(-0.5f64..n - 0.5, y_range)
                .map_err(err)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(self.values.len().max(1))
                .x_label_formatter(&|x| x_label(&self.values, *x))
                .y_labels(10)
                .y_label_formatter(&|v| {
                    if latency {
                        scale.label(v)
                    } else {
                        Rate::human(*v)
                    }
                })
                .x_desc(self.key.as_str())
                .y_desc(desc)
                .label_style(font(14))
                .axis_desc_style(font(15))
                .draw()
                .map_err(err)?;
            for (i, (label, pts)) in series.iter().enumerate() {
                let c = color(i);
                let line: Vec<(f64, f64)> = pts
                    .iter()
                    .map(|(x, cell)| (*x as f64, y(pick(cell).median)))
                    .collect();
                let drawn = chart
                    .draw_series(LineSeries::new(line.clone(), c.stroke_width(3)))
                    .map_err(err)?;
                if latency {
                    drawn.label(label.clone()).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3))
                    });
                }
                chart
                    .draw_series(line.iter().map(|p| Circle::new(*p, 4, c.filled())))
                    .map_err(err)?;
                chart
                    .draw_series(pts.iter().map(|(x, cell)| {
                        let s = pick(cell);
                        PathElement::new(
                            vec![(*x as f64, y(s.min)), (*x as f64, y(s.max))],
                            c.stroke_width(2),
                        )
                    }))
                    .map_err(err)?;
            }
            if latency && !series.is_empty() {
                legend(&mut chart, SeriesLabelPosition::UpperLeft, 14)?;
            }
        }
        Ok(())
    }
}
