//! The latency histogram of corrected latency, in logarithmic buckets (each 2^(1/4) wider than the
//! last), so microseconds and seconds share one readable axis.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{color, err, font, Chart, Drawn, Scale};
use crate::recorder::hist::Hist;

pub struct LatencyHistogram<'a> {
    pub title: String,
    pub hist: &'a Hist,
}

/// Bucket bounds in ms and counts: ((from, to), count), empty buckets left out.
pub fn log_buckets(h: &Hist) -> Vec<((f64, f64), u64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let first = h.min().max(1);
    let mut prev = first as f64 / 1000.0;
    let mut out = Vec::new();
    for v in h.iter_log(first, 2f64.powf(0.25)) {
        let to = v.value_iterated_to() as f64 / 1000.0;
        let n = v.count_since_last_iteration();
        if n > 0 {
            out.push(((prev.min(to * 0.999), to.max(0.001)), n));
        }
        prev = to;
    }
    out
}

impl Chart for LatencyHistogram<'_> {
    fn stem(&self) -> &str {
        "latency-histogram"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        let buckets = log_buckets(self.hist);
        let lo = buckets.first().map_or(0.01, |b| b.0 .0);
        let hi = buckets.last().map_or(1.0, |b| b.0 .1);
        // Buckets are log-spaced, so the axis is always logarithmic.
        let scale = Scale {
            log: true,
            ..Scale::new(lo, hi)
        };
        let top = buckets.iter().map(|b| b.1).max().unwrap_or(1) as f64 * 1.1;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, font(24))
            .margin(16)
            .margin_right(48)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(scale.axis(), 0f64..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(12)
            .x_label_formatter(&|x| scale.label(x))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_desc("corrected latency (log buckets)")
            .y_desc("messages")
            .label_style(font(15))
            .axis_desc_style(font(16))
            .draw()
            .map_err(err)?;
        let c = color(0);
        chart
            .draw_series(buckets.into_iter().map(|((from, to), n)| {
                Rectangle::new(
                    [(scale.pos(from), 0.0), (scale.pos(to), n as f64)],
                    c.filled(),
                )
            }))
            .map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::hist::{new_hist, record};

    #[test]
    fn buckets_cover_every_sample() {
        let mut h = new_hist();
        for us in [1u64, 5, 80, 1_000, 1_000, 2_000_000] {
            record(&mut h, us);
        }
        let buckets = log_buckets(&h);
        assert_eq!(buckets.iter().map(|b| b.1).sum::<u64>(), 6);
        for w in buckets.windows(2) {
            assert!(
                w[0].0 .1 <= w[1].0 .0 + 1e-9,
                "ordered, not overlapping: {w:?}"
            );
        }
        assert!(log_buckets(&new_hist()).is_empty());
    }
}
