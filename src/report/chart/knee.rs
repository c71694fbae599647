//! The knee chart of a capacity search: offered rate on x (log scale), p50 and p99 of corrected
//! latency (left axis) and the achieved share of the offered rate (right axis) for every probe,
//! with the SLO as a horizontal line and the answer as a vertical one.

use plotters::coord::Shift;
use plotters::prelude::*;

use plotters::chart::DualCoordChartContext;
use plotters::coord::types::RangedCoordf64;

use super::{color, err, font, legend, ms, Chart, Drawn, Scale, Ticked};
use crate::capacity::drive::CapacityReport;
use crate::units::Rate;

/// The probes in the order the chart joins them: by offered rate (a stable sort, so repeats of
/// one rate stay separate points in the order they ran), never in the order the search ran them
/// (that zigzags back and forth across the knee).
pub fn by_offered_rate(probes: &[crate::capacity::Probe]) -> Vec<&crate::capacity::Probe> {
    let mut out: Vec<_> = probes.iter().filter(|p| p.rate > 0.0).collect();
    out.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    out
}

pub struct Knee<'a> {
    pub report: &'a CapacityReport,
}

impl Chart for Knee<'_> {
    fn stem(&self) -> &str {
        "capacity-knee"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        let probes = by_offered_rate(&self.report.probes);
        let (lo, hi) = probes.iter().fold((f64::MAX, 0f64), |(lo, hi), p| {
            (lo.min(p.rate), hi.max(p.rate))
        });
        let (lo, hi) = if probes.is_empty() {
            (100.0, 1000.0)
        } else {
            (lo, hi)
        };
        let xr = (x(lo) - 0.1)..(x(hi) + 0.1);
        let slo_ms = self.report.slo_ms;
        let slo = if slo_ms.is_finite() && slo_ms > 0.0 {
            Some(slo_ms)
        } else {
            None
        };
        let scale = Scale::of(
            probes
                .iter()
                .flat_map(|p| [ms(p.p50_us), ms(p.p99_us)])
                .chain(slo),
        );
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("{}: capacity at {}", self.report.scenario, self.report.slo),
                font(24),
            )
            .margin(16)
            .margin_right(48)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .right_y_label_area_size(90)
            .build_cartesian_2d(super::axis(xr.clone(), true), scale.axis())
            .map_err(err)?
            .set_secondary_coord(xr, 0f64..1.2);
        rate_mesh(&mut chart, &scale, "corrected latency")?;
        chart
            .configure_secondary_axes()
            .y_desc("achieved / offered")
            .y_label_formatter(&|v| format!("{v:.1}"))
            .label_style(font(15))
            .axis_desc_style(font(16))
            .draw()
            .map_err(err)?;
        latency_lines(&mut chart, &probes, &scale)?;
        let c = color(0);
        let achieved: Vec<(f64, f64)> = probes
            .iter()
            .filter_map(|p| p.achieved_rate_ratio.map(|a| (x(p.rate), a.min(1.2))))
            .collect();
        chart
            .draw_secondary_series(LineSeries::new(achieved, c.stroke_width(2)))
            .map_err(err)?
            .label("achieved / offered")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(2)));
        references(&mut chart, self.report, &probes, &scale, (lo, hi), slo)?;
        legend(&mut *chart, SeriesLabelPosition::UpperLeft, 15)?;
        Ok(())
    }
}

type Dual<'a, DB> = DualCoordChartContext<
    'a,
    DB,
    Cartesian2d<Ticked, Ticked>,
    Cartesian2d<RangedCoordf64, RangedCoordf64>,
>;

/// The mesh of a chart over the offered rate: a log rate axis and a latency axis.
pub fn rate_mesh<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<Ticked, Ticked>>,
    scale: &Scale,
    y_desc: &str,
) -> Drawn {
    chart
        .configure_mesh()
        .x_labels(10)
        .x_label_formatter(&|v| Rate::human(10f64.powf(*v)))
        .y_labels(12)
        .y_label_formatter(&|y| scale.label(y))
        .x_desc("offered rate, msg/s (log scale)")
        .y_desc(y_desc)
        .label_style(font(15))
        .axis_desc_style(font(16))
        .draw()
        .map_err(err)
}

/// A rate's place on the (log) x axis.
fn x(rate: f64) -> f64 {
    rate.log10()
}

/// p50 and p99 of corrected latency over the offered rate, a point per probe.
fn latency_lines<DB: DrawingBackend>(
    chart: &mut Dual<'_, DB>,
    probes: &[&crate::capacity::Probe],
    scale: &Scale,
) -> Drawn {
    type Pick = fn(&crate::capacity::Probe) -> u64;
    let lines: [(&str, Pick, usize); 2] = [("p50", |p| p.p50_us, 2), ("p99", |p| p.p99_us, 1)];
    for (name, pick, ci) in lines {
        let c = color(ci);
        let pts: Vec<(f64, f64)> = probes
            .iter()
            .map(|p| (x(p.rate), scale.pos(ms(pick(p)))))
            .collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), c.stroke_width(3)))
            .map_err(err)?
            .label(format!("{name} latency"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
        chart
            .draw_series(pts.into_iter().map(|p| Circle::new(p, 4, c.filled())))
            .map_err(err)?;
    }
    Ok(())
}

/// Failing probes crossed on the p99 line, the SLO (dashed) and the answer (green).
fn references<DB: DrawingBackend>(
    chart: &mut Dual<'_, DB>,
    report: &CapacityReport,
    probes: &[&crate::capacity::Probe],
    scale: &Scale,
    (lo, hi): (f64, f64),
    slo: Option<f64>,
) -> Drawn {
    // Failing probes are marked with a cross on the p99 line.
    chart
        .draw_series(
            probes
                .iter()
                .filter(|p| p.verdict != "pass")
                .map(|p| Cross::new((x(p.rate), scale.pos(ms(p.p99_us))), 8, RED.stroke_width(2))),
        )
        .map_err(err)?;
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
            .label(format!("SLO {}", report.slo))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], BLACK.stroke_width(2)));
    }
    if let Some(rate) = report.answer.rate {
        let r = scale.range();
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x(rate), r.start), (x(rate), r.end)],
                RGBColor(0, 140, 60).stroke_width(3),
            )))
            .map_err(err)?
            .label(format!("capacity {} msg/s", Rate::human(rate)))
            .legend(|(x, y)| {
                PathElement::new(
                    vec![(x, y), (x + 24, y)],
                    RGBColor(0, 140, 60).stroke_width(3),
                )
            });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_are_joined_by_offered_rate_with_repeats_kept() {
        let probe = |rate: f64, p99_us: u64| crate::capacity::Probe {
            rate,
            p50_us: p99_us / 2,
            p99_us,
            p999_us: p99_us,
            achieved_rate_ratio: Some(1.0),
            error_rate: 0.0,
            verdict: "pass".into(),
            reasons: vec![],
            result: String::new(),
        };
        // The order a bisection ran them: 64k, 48k, 56k, 52k, 48k (a confirmation).
        let ran = [
            probe(64e3, 900),
            probe(48e3, 100),
            probe(56e3, 400),
            probe(52e3, 200),
            probe(48e3, 110),
        ];
        let drawn: Vec<(f64, u64)> = by_offered_rate(&ran)
            .iter()
            .map(|p| (p.rate, p.p99_us))
            .collect();
        assert_eq!(
            drawn,
            [
                (48e3, 100),
                (48e3, 110),
                (52e3, 200),
                (56e3, 400),
                (64e3, 900)
            ]
        );
    }
}
