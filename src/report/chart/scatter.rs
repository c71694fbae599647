//! Throughput against p99 of corrected latency, one point per run: the view used to pick a
//! configuration (right and low is better).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{color, err, font, legend, ms, Chart, Drawn, Scale};
use crate::compare::Comparison;
use crate::units::Rate;

pub struct Scatter<'a> {
    pub comparison: &'a Comparison,
    /// Per entry (same order): throughput (msg/s) and p99 (µs) over repeats. When given, points
    /// are drawn at the medians with min..max bars.
    pub spreads: Option<Vec<(crate::sweep::Stat, crate::sweep::Stat)>>,
}

impl Chart for Scatter<'_> {
    fn stem(&self) -> &str {
        "compare-scatter"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        let pts: Vec<(f64, f64, &str)> = self
            .comparison
            .entries
            .iter()
            .map(|e| {
                (
                    e.result.throughput.msgs_per_sec,
                    ms(e.result.latency_us.corrected.p99),
                    e.label.as_str(),
                )
            })
            .collect();
        let xmax = pts.iter().map(|p| p.0).fold(1.0, f64::max) * 1.2;
        let spread_ms = self
            .spreads
            .iter()
            .flatten()
            .flat_map(|(_, p99)| [ms(p99.min as u64), ms(p99.max as u64)]);
        let scale = Scale::of(pts.iter().map(|p| p.1).chain(spread_ms));
        let xmax = self
            .spreads
            .iter()
            .flatten()
            .map(|(tp, _)| tp.max * 1.2)
            .fold(xmax, f64::max);
        let mut chart = ChartBuilder::on(root)
            .caption(
                "throughput vs p99 latency (right and low is better)",
                font(24),
            )
            .margin(16)
            .margin_right(48)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..xmax, scale.axis())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_label_formatter(&|v| Rate::human(*v))
            .y_labels(12)
            .y_label_formatter(&|y| scale.label(y))
            .x_desc("acked msg/s")
            .y_desc("p99 corrected latency")
            .label_style(font(15))
            .axis_desc_style(font(16))
            .draw()
            .map_err(err)?;
        for (i, (x, y, label)) in pts.into_iter().enumerate() {
            let c = color(i);
            let (x, y) = match self.spreads.as_ref().and_then(|s| s.get(i)) {
                Some((tp, p99)) => {
                    let at = |us: f64| scale.pos(ms(us as u64));
                    let (xm, ym) = (tp.median, at(p99.median));
                    chart
                        .draw_series([
                            PathElement::new(vec![(tp.min, ym), (tp.max, ym)], c.stroke_width(2)),
                            PathElement::new(
                                vec![(xm, at(p99.min)), (xm, at(p99.max))],
                                c.stroke_width(2),
                            ),
                        ])
                        .map_err(err)?;
                    (xm, ms(p99.median as u64))
                }
                None => (x, y),
            };
            chart
                .draw_series(std::iter::once(Circle::new(
                    (x, scale.pos(y)),
                    8,
                    c.filled(),
                )))
                .map_err(err)?
                .label(label)
                .legend(move |(x, y)| Circle::new((x + 8, y), 6, c.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight, 15)?;
        Ok(())
    }
}
