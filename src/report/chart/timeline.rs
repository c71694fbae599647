//! The timeline: acked messages per second per interval (left axis) and p50/p99/max of corrected
//! latency per interval (right axis, log scale; with `[consume]` also e2e p99), with the warm-up shaded, the target rate drawn as
//! a line, and events (faults, client errors) marked.

use plotters::coord::Shift;
use plotters::prelude::*;

use plotters::chart::DualCoordChartContext;
use plotters::coord::types::RangedCoordf64;

use super::{color, err, font, legend, ms, Chart, Drawn, Scale, Ticked};
use crate::result::RunResult;
use crate::units::Rate;

pub struct Timeline<'a> {
    pub result: &'a RunResult,
}

impl Chart for Timeline<'_> {
    fn stem(&self) -> &str {
        "timeline"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        let r = self.result;
        let step = r.spec.load.interval.0.as_secs_f64().max(1e-3);
        let end = r
            .intervals
            .last()
            .map_or(step, |i| i.t_s + step)
            .max(r.warmup_s + step);
        // Rates are plotted at the middle of their interval, over the part of it the run covered:
        // the last interval usually holds only the final acks, and a full-length divisor would
        // show a collapse that did not happen. Slivers under a fifth of an interval are left out.
        let run_end = r.warmup_s + r.duration_s;
        let rates: Vec<(f64, f64)> = r
            .intervals
            .iter()
            .filter_map(|i| {
                let covered = step.min(run_end - i.t_s);
                (covered >= step / 5.0).then(|| (i.t_s + covered / 2.0, i.acked as f64 / covered))
            })
            .collect();
        let target = target_line(r, end);
        let top = rates
            .iter()
            .map(|(_, v)| *v)
            .chain(target.iter().map(|p| p.1))
            .fold(1.0f64, f64::max)
            * 1.15;
        let lat: Vec<&crate::result::Interval> =
            r.intervals.iter().filter(|i| i.acked > 0).collect();
        let scale = Scale::of(
            lat.iter()
                .flat_map(|i| [ms(i.p50_us), ms(i.max_us)])
                .chain(r.intervals.iter().filter_map(|i| i.commit_p99_us.map(ms)))
                .chain(r.intervals.iter().filter_map(|i| i.e2e_p99_us.map(ms))),
        );

        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("{}: throughput and latency over time", r.scenario.name),
                font(24),
            )
            .margin(16)
            .margin_right(48)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .right_y_label_area_size(110)
            .build_cartesian_2d(0f64..end, 0f64..top)
            .map_err(err)?
            .set_secondary_coord(0f64..end, scale.axis());
        chart
            .configure_mesh()
            .x_desc("seconds since start")
            .y_desc("acked msg/s")
            .y_label_formatter(&|v| Rate::human(*v))
            .label_style(font(15))
            .axis_desc_style(font(16))
            .draw()
            .map_err(err)?;
        chart
            .configure_secondary_axes()
            .y_desc(if scale.log {
                "corrected latency (log scale)"
            } else {
                "corrected latency"
            })
            .y_labels(10)
            .y_label_formatter(&|y| scale.label(y))
            .label_style(font(15))
            .axis_desc_style(font(16))
            .draw()
            .map_err(err)?;

        shade_warmup_and_phases(&mut chart, r, top, step)?;
        if !target.is_empty() {
            let label = match r.target_rate {
                Some(t) if r.phases.is_empty() => format!("target {}/s", Rate::human(t)),
                _ => "target (profile)".into(),
            };
            chart
                .draw_series(DashedLineSeries::new(target, 8, 6, BLACK.stroke_width(2)))
                .map_err(err)?
                .label(label)
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], BLACK.stroke_width(2))
                });
        }
        let c0 = color(0);
        chart
            .draw_series(LineSeries::new(rates, c0.stroke_width(3)))
            .map_err(err)?
            .label("acked msg/s")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c0.stroke_width(3)));
        latency_series(&mut chart, r, &lat, &scale, step)?;
        mark_events(&mut chart, r, top)?;
        legend(&mut *chart, SeriesLabelPosition::LowerRight, 15)?;
        Ok(())
    }
}

type Plane = Cartesian2d<RangedCoordf64, RangedCoordf64>;
type Dual<'a, DB> = DualCoordChartContext<'a, DB, Plane, Cartesian2d<RangedCoordf64, Ticked>>;

/// The warm-up shaded, and a rate profile's phase boundaries, each labelled at the top.
fn shade_warmup_and_phases<DB: DrawingBackend>(
    chart: &mut Dual<'_, DB>,
    r: &RunResult,
    top: f64,
    step: f64,
) -> Drawn {
    if r.warmup_s > 0.0 {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(0.0, 0.0), (r.warmup_s, top)],
                RGBColor(200, 200, 200).mix(0.35).filled(),
            )))
            .map_err(err)?
            .label("warm-up (excluded)")
            .legend(|(x, y)| {
                Rectangle::new(
                    [(x, y - 6), (x + 24, y + 6)],
                    RGBColor(200, 200, 200).filled(),
                )
            });
    }
    // Phase boundaries of a rate profile, each labelled at the top.
    for (i, p) in r.phases.iter().enumerate() {
        // Alternate label heights, so short phases' labels do not overlap.
        let y = top * if i % 2 == 0 { 0.985 } else { 0.945 };
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(p.start_s, 0.0), (p.start_s, top)],
                RGBColor(90, 90, 90).mix(0.6).stroke_width(1),
            )))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                p.name.clone(),
                (p.start_s + step * 0.1, y),
                font(13),
            )))
            .map_err(err)?;
    }
    Ok(())
}

/// Per interval: p50, p99 and max of corrected latency; with `[consume]` the e2e p99 (dashed);
/// in transactional runs the commit p99 (diamonds). On the right, latency axis.
fn latency_series<DB: DrawingBackend>(
    chart: &mut Dual<'_, DB>,
    r: &RunResult,
    lat: &[&crate::result::Interval],
    scale: &Scale,
    step: f64,
) -> Drawn {
    type Pick = fn(&crate::result::Interval) -> u64;
    let streams: [(&str, Pick, usize); 3] = [
        ("p50 latency", |i| i.p50_us, 2),
        ("p99 latency", |i| i.p99_us, 1),
        ("max latency", |i| i.max_us, 3),
    ];
    for (label, pick, ci) in streams {
        let c = color(ci);
        let pts: Vec<(f64, f64)> = lat
            .iter()
            .map(|i| (i.t_s + step / 2.0, scale.pos(ms(pick(i)))))
            .collect();
        chart
            .draw_secondary_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
            .map_err(err)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(2)));
        chart
            .draw_secondary_series(pts.into_iter().map(|p| Circle::new(p, 3, c.filled())))
            .map_err(err)?;
    }
    // [consume] runs: each interval's e2e p99 (due -> consumed), dashed.
    let e2e: Vec<(f64, f64)> = r
        .intervals
        .iter()
        .filter_map(|i| Some((i.t_s + step / 2.0, scale.pos(ms(i.e2e_p99_us?)))))
        .collect();
    if !e2e.is_empty() {
        let c = color(5);
        chart
            .draw_secondary_series(DashedLineSeries::new(e2e, 6, 4, c.stroke_width(2)))
            .map_err(err)?
            .label("e2e p99 (due -> consumed)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(2)));
    }
    // Transactional runs: each interval's commit p99, as diamonds on the latency axis.
    let commits: Vec<(f64, f64)> = r
        .intervals
        .iter()
        .filter_map(|i| Some((i.t_s + step / 2.0, scale.pos(ms(i.commit_p99_us?)))))
        .collect();
    if !commits.is_empty() {
        let c = color(4);
        chart
            .draw_secondary_series(commits.into_iter().map(|p| {
                EmptyElement::at(p)
                    + Polygon::new(vec![(0, -6), (6, 0), (0, 6), (-6, 0)], c.filled())
            }))
            .map_err(err)?
            .label("commit p99")
            .legend(move |(x, y)| {
                Polygon::new(
                    vec![(x + 8, y - 6), (x + 14, y), (x + 8, y + 6), (x + 2, y)],
                    c.filled(),
                )
            });
    }
    Ok(())
}

/// Injected faults (bold dark red), client errors (faint red), and where each fault's effect was
/// over (`recovery_s`, dashed green).
fn mark_events<DB: DrawingBackend>(chart: &mut Dual<'_, DB>, r: &RunResult, top: f64) -> Drawn {
    for ev in r.events.iter().filter(|e| e.t_s > 0.0) {
        let style = if ev.kind == crate::event::EventKind::Fault {
            RGBColor(150, 0, 0).stroke_width(3)
        } else {
            RGBColor(220, 0, 0).mix(0.25).stroke_width(1)
        };
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(ev.t_s, 0.0), (ev.t_s, top)],
                style,
            )))
            .map_err(err)?;
    }
    // Where each fault's effect was over (recovery_s): a dashed green line.
    let recovered: Vec<f64> = r
        .events
        .iter()
        .filter_map(|e| e.recovery_s.flatten().map(|s| e.t_s + s))
        .collect();
    for &x in &recovered {
        chart
            .draw_series(DashedLineSeries::new(
                vec![(x, 0.0), (x, top)],
                6,
                4,
                RGBColor(0, 130, 60).stroke_width(2),
            ))
            .map_err(err)?;
    }
    if !recovered.is_empty() {
        chart
            .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
            .map_err(err)?
            .label("recovered")
            .legend(|(x, y)| {
                PathElement::new(
                    vec![(x, y), (x + 24, y)],
                    RGBColor(0, 130, 60).stroke_width(2),
                )
            });
    }
    if r.events
        .iter()
        .any(|e| e.kind == crate::event::EventKind::Fault)
    {
        chart
            .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
            .map_err(err)?
            .label("injected fault")
            .legend(|(x, y)| {
                PathElement::new(
                    vec![(x, y), (x + 24, y)],
                    RGBColor(150, 0, 0).stroke_width(3),
                )
            });
    }
    Ok(())
}

/// The target rate over time: flat for a fixed rate; for a profile, its phases' start and end
/// rates (the warm-up at the first phase's rate), so ramps slope and bursts step.
fn target_line(r: &RunResult, end: f64) -> Vec<(f64, f64)> {
    let Some(first) = r.phases.first() else {
        return r
            .target_rate
            .map_or(Vec::new(), |t| vec![(0.0, t), (end, t)]);
    };
    let mut pts = vec![(0.0, first.target_rate_start)];
    for p in &r.phases {
        pts.push((p.start_s, p.target_rate_start));
        pts.push((p.end_s, p.target_rate_end));
    }
    pts
}
