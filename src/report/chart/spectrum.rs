//! The latency percentile spectrum, the HdrHistogram way: x is the percentile on a log scale of
//! 1/(1-p) (0%, 90%, 99%, 99.9%, ...), y is latency (log scale). Tails become visible instead of
//! being squeezed into the last pixel.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{color, err, font, legend, ms, Chart, Drawn, Scale};
use crate::recorder::hist::Hist;

/// One line per (label, histogram).
pub struct Spectrum {
    pub stem: String,
    pub title: String,
    pub series: Vec<(String, Hist)>,
}

/// x position of percentile `q` (0..1): log10(1/(1-q)), capped.
fn x_of(q: f64, cap: f64) -> f64 {
    if q >= 1.0 {
        cap
    } else {
        (-(1.0 - q).log10()).min(cap)
    }
}

fn x_label(x: &f64) -> String {
    let k = x.round();
    if (x - k).abs() > 1e-6 || k < 0.0 {
        return String::new();
    }
    match k as u32 {
        0 => "0%".into(),
        1 => "90%".into(),
        k => format!(
            "{:.*}%",
            k as usize - 2,
            100.0 - 100.0 / 10f64.powi(k as i32)
        ),
    }
}

impl Spectrum {
    /// The points of each line: (x, latency in ms).
    fn lines(&self, cap: f64) -> Vec<(String, Vec<(f64, f64)>)> {
        self.series
            .iter()
            .filter(|(_, h)| !h.is_empty())
            .map(|(label, h)| {
                let mut pts: Vec<(f64, f64)> = h
                    .iter_quantiles(5)
                    .map(|v| {
                        (
                            x_of(v.quantile_iterated_to(), cap),
                            ms(v.value_iterated_to()),
                        )
                    })
                    .collect();
                pts.push((cap, ms(h.max())));
                (label.clone(), pts)
            })
            .collect()
    }
}

impl Chart for Spectrum {
    fn stem(&self) -> &str {
        &self.stem
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        let most = self.series.iter().map(|(_, h)| h.len()).max().unwrap_or(0);
        // Show one decade past what the sample count supports, from 99.999% up to 99.9999%.
        let cap = ((most.max(1) as f64).log10().ceil() + 1.0).clamp(3.0, 6.0);
        let lines = self.lines(cap);
        let scale = Scale::of(lines.iter().flat_map(|(_, p)| p.iter().map(|(_, y)| *y)));
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, font(24))
            .margin(16)
            .margin_right(48)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..cap, scale.axis())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(cap as usize + 1)
            .x_label_formatter(&x_label)
            .y_labels(12)
            .y_label_formatter(&|y| scale.label(y))
            .x_desc("percentile")
            .y_desc(if scale.log {
                "latency (log scale)"
            } else {
                "latency"
            })
            .label_style(font(15))
            .axis_desc_style(font(16))
            .draw()
            .map_err(err)?;
        if lines.is_empty() {
            root.draw(&Text::new(
                "no latency samples",
                (SIZE_X / 2 - 80, 300),
                font(20),
            ))
            .map_err(err)?;
        }
        for (i, (label, pts)) in lines.into_iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(LineSeries::new(
                    pts.into_iter().map(|(x, y)| (x, scale.pos(y))),
                    c.stroke_width(3),
                ))
                .map_err(err)?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3))
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft, 16)?;
        Ok(())
    }
}

const SIZE_X: i32 = super::SIZE.0 as i32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_map_to_decades() {
        assert_eq!(x_of(0.0, 5.0), 0.0);
        assert!((x_of(0.9, 5.0) - 1.0).abs() < 1e-9);
        assert!((x_of(0.999, 5.0) - 3.0).abs() < 1e-9);
        assert_eq!(x_of(1.0, 5.0), 5.0);
        assert_eq!(x_label(&0.0), "0%");
        assert_eq!(x_label(&1.0), "90%");
        assert_eq!(x_label(&2.0), "99%");
        assert_eq!(x_label(&3.0), "99.9%");
        assert_eq!(x_label(&5.0), "99.999%");
        assert_eq!(x_label(&2.5), "");
    }
}
