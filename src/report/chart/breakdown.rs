//! Where the latency went, per interval: librdkafka's p99 of time in the client's queue, waiting
//! for an in-flight slot, and the broker round trip, stacked, beside kbench's own service p99
//! (a line). The parts are window percentiles (see `recorder::stats`), so the stack is a picture
//! of their sizes, not an exact sum.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{color, err, font, legend, ms, Chart, Drawn};
use crate::result::client::ClientInterval;
use crate::result::RunResult;

pub struct LatencyBreakdown<'a> {
    pub result: &'a RunResult,
}

type Pick = fn(&ClientInterval) -> u64;

const PARTS: [(&str, Pick); 3] = [
    ("queue p99 (int_latency)", |c| c.int_latency_p99_us),
    ("output buffer p99 (outbuf_latency)", |c| {
        c.outbuf_latency_p99_us
    }),
    ("round trip p99 (rtt)", |c| c.rtt_p99_us),
];

impl Chart for LatencyBreakdown<'_> {
    fn stem(&self) -> &str {
        "latency-breakdown"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        let r = self.result;
        let step = r.spec.load.interval.0.as_secs_f64().max(1e-3);
        let rows: Vec<(f64, &ClientInterval)> = r
            .intervals
            .iter()
            .filter_map(|i| i.client.as_ref().map(|c| (i.t_s, c)))
            .collect();
        // Service p99 per interval, from the interval histograms.
        let service: Vec<(f64, f64)> = r
            .intervals
            .iter()
            .filter_map(|i| {
                let h = crate::recorder::hist::decode(i.service_hist.as_deref()?).ok()?;
                (!h.is_empty()).then(|| (i.t_s + step / 2.0, ms(h.value_at_quantile(0.99))))
            })
            .collect();
        let stacked_top = rows
            .iter()
            .map(|(_, c)| PARTS.iter().map(|(_, f)| ms(f(c))).sum::<f64>())
            .fold(0.0, f64::max);
        let top = service
            .iter()
            .map(|p| p.1)
            .fold(stacked_top, f64::max)
            .max(0.01)
            * 1.15;
        let end = r.intervals.last().map_or(step, |i| i.t_s + step);
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!(
                    "{}: where the latency went (librdkafka statistics)",
                    r.scenario.name
                ),
                font(24),
            )
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..end, 0f64..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("seconds since start")
            .y_desc("ms")
            .label_style(font(14))
            .axis_desc_style(font(16))
            .draw()
            .map_err(err)?;
        for (k, (label, _)) in PARTS.iter().enumerate() {
            let c = color(k);
            chart
                .draw_series(rows.iter().map(|(t, row)| {
                    let below: f64 = PARTS[..k].iter().map(|(_, f)| ms(f(row))).sum();
                    let height = ms(PARTS[k].1(row));
                    Rectangle::new(
                        [(t + step * 0.1, below), (t + step * 0.9, below + height)],
                        c.mix(0.8).filled(),
                    )
                }))
                .map_err(err)?
                .label(*label)
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], c.filled()));
        }
        let black = RGBColor(20, 20, 20);
        chart
            .draw_series(LineSeries::new(service, black.stroke_width(2)))
            .map_err(err)?
            .label("service p99 (kbench)")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], black.stroke_width(2))
            });
        legend(&mut chart, SeriesLabelPosition::UpperRight, 15)?;
        Ok(())
    }
}
