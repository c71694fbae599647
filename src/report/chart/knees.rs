//! Capacity searches overlaid (one per client, for a comparison): offered rate on x (log scale),
//! corrected p99 on y, a line per search in its own colour with its failing probes crossed, the
//! SLO dashed, and each search's answer as a vertical line in the search's colour.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::knee::{by_offered_rate, rate_mesh};
use super::{color, err, font, legend, ms, Chart, Drawn, Scale};
use crate::capacity::drive::CapacityReport;
use crate::units::Rate;

pub struct Knees<'a> {
    /// (label, search), in the order given.
    pub searches: Vec<(String, &'a CapacityReport)>,
}

fn x(rate: f64) -> f64 {
    rate.log10()
}

impl Chart for Knees<'_> {
    fn stem(&self) -> &str {
        "capacity-knees"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        let all: Vec<&crate::capacity::Probe> = self
            .searches
            .iter()
            .flat_map(|(_, r)| by_offered_rate(&r.probes))
            .collect();
        let (lo, hi) = all.iter().fold((f64::MAX, 0f64), |(lo, hi), p| {
            (lo.min(p.rate), hi.max(p.rate))
        });
        let (lo, hi) = if all.is_empty() {
            (100.0, 1000.0)
        } else {
            (lo, hi)
        };
        let slo = self
            .searches
            .first()
            .map(|(_, r)| r.slo_ms)
            .filter(|s| s.is_finite() && *s > 0.0);
        let scale = Scale::of(all.iter().map(|p| ms(p.p99_us)).chain(slo));
        let xr = (x(lo) - 0.1)..(x(hi) + 0.1);
        let mut chart = ChartBuilder::on(root)
            .caption(
                "capacity by client: corrected p99 over offered rate",
                font(24),
            )
            .margin(16)
            .margin_right(32)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(super::axis(xr.clone(), true), scale.axis())
            .map_err(err)?;
        rate_mesh(&mut chart, &scale, "corrected p99 latency")?;
        for (i, (label, report)) in self.searches.iter().enumerate() {
            search(&mut chart, color(i), label, report, &scale)?;
        }
        if let Some(slo) = slo {
            let y = scale.pos(slo);
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x(lo) - 0.1, y), (x(hi) + 0.1, y)],
                    8,
                    6,
                    BLACK.stroke_width(2),
                ))
                .map_err(err)?
                .label("SLO")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], BLACK.stroke_width(2))
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft, 15)?;
        Ok(())
    }
}

type Plane<'a, DB> = ChartContext<'a, DB, Cartesian2d<super::Ticked, super::Ticked>>;

/// One search: its p99 line and points, its failing probes crossed, its answer dashed.
fn search<DB: DrawingBackend>(
    chart: &mut Plane<'_, DB>,
    c: RGBColor,
    label: &str,
    report: &CapacityReport,
    scale: &Scale,
) -> Drawn {
    let probes = by_offered_rate(&report.probes);
    let pts: Vec<(f64, f64)> = probes
        .iter()
        .map(|p| (x(p.rate), scale.pos(ms(p.p99_us))))
        .collect();
    let answer = report.answer.rate.map_or("no capacity".to_string(), |r| {
        format!("{} msg/s", Rate::human(r))
    });
    chart
        .draw_series(LineSeries::new(pts.clone(), c.stroke_width(3)))
        .map_err(err)?
        .label(format!("{label}: {answer}"))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
    chart
        .draw_series(pts.iter().map(|p| Circle::new(*p, 4, c.filled())))
        .map_err(err)?;
    chart
        .draw_series(
            probes
                .iter()
                .filter(|p| p.verdict != "pass")
                .map(|p| Cross::new((x(p.rate), scale.pos(ms(p.p99_us))), 8, c.stroke_width(2))),
        )
        .map_err(err)?;
    if let Some(rate) = report.answer.rate {
        let r = scale.range();
        chart
            .draw_series(DashedLineSeries::new(
                vec![(x(rate), r.start), (x(rate), r.end)],
                4,
                4,
                c.stroke_width(2),
            ))
            .map_err(err)?;
    }
    Ok(())
}
