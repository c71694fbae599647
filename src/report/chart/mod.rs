//! Charts, drawn with plotters from saved results only (so any old run re-renders identically).
//!
//! Each chart kind is a plain data type implementing [`Chart`]; [`render`] draws it twice, to SVG
//! (kept as text for the HTML report) and to PNG. Text is rendered with DejaVu Sans embedded in the
//! binary, so charts need no system fonts. Palette and size are constants; drawing errors are
//! returned, never unwrapped.

mod bars;
mod breakdown;
mod effect;
mod histogram;
mod knee;
mod knees;
mod scatter;
mod spectrum;
mod timeline;
pub mod trend;

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

pub use bars::Bars;
pub use breakdown::LatencyBreakdown;
pub use effect::Effect;
pub use histogram::LatencyHistogram;
pub use knee::Knee;
pub use knees::Knees;
pub use scatter::Scatter;
pub use spectrum::Spectrum;
pub use timeline::Timeline;
pub use trend::Trend;

/// Pixel size of every chart.
pub const SIZE: (u32, u32) = (1100, 620);
/// Series colours, in order (colour-blind friendly, after Okabe and Ito).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(240, 228, 66),
];
/// The font family every chart uses (registered from embedded bytes).
pub const FONT: &str = "sans-serif";

pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A drawing failure (plotters or file system).
#[derive(Debug, thiserror::Error)]
#[error("chart {chart}: {detail}")]
pub struct ChartError {
    pub chart: String,
    pub detail: String,
}

/// Why plotters could not draw a chart (its backend's error, in words).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DrawError(pub String);

/// What drawing a chart returns.
pub type Drawn = Result<(), DrawError>;

/// Converts any plotters error into a [`DrawError`].
pub fn err<E: std::fmt::Debug>(e: E) -> DrawError {
    DrawError(format!("{e:?}"))
}

/// A chart kind: draws itself on any plotters backend.
pub trait Chart {
    /// File stem, e.g. `latency-spectrum`.
    fn stem(&self) -> &str;
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn;
}

/// A rendered chart: the files written and the SVG text (for inlining into HTML).
#[derive(Debug, Clone)]
pub struct Rendered {
    pub title: String,
    pub svg: String,
    pub files: Vec<PathBuf>,
}

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
    });
}

/// Draws `chart` into `<dir>/<stem>.svg` and `<dir>/<stem>.png`.
pub fn render(chart: &impl Chart, title: &str, dir: &Path) -> Result<Rendered, ChartError> {
    register_fonts();
    let fail = |detail: String| ChartError {
        chart: chart.stem().to_string(),
        detail,
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(err(e).0))?;
        chart.draw(&root).map_err(|e| fail(e.0))?;
        root.present().map_err(|e| fail(err(e).0))?;
    }
    let svg_path = dir.join(format!("{}.svg", chart.stem()));
    let png_path = dir.join(format!("{}.png", chart.stem()));
    std::fs::write(&svg_path, &svg).map_err(|e| fail(e.to_string()))?;
    {
        let root = BitMapBackend::new(&png_path, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(err(e).0))?;
        chart.draw(&root).map_err(|e| fail(e.0))?;
        root.present().map_err(|e| fail(err(e).0))?;
    }
    Ok(Rendered {
        title: title.to_string(),
        svg,
        files: vec![svg_path, png_path],
    })
}

/// The legend every chart uses: a light box at `position`.
pub fn legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
    size: u32,
) -> Drawn {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(font(size))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(err)
}

/// A caption style of the given size.
pub fn font(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().into()
}

/// Milliseconds for latency axes, from microseconds; never 0 (log axes).
pub fn ms(us: u64) -> f64 {
    (us as f64 / 1000.0).max(0.001)
}

/// Shades for p50 / p99 / p99.9 bars, apart from the run colours.
pub const PERCENTILE_SHADES: [RGBColor; 3] = [
    RGBColor(158, 202, 225),
    RGBColor(66, 146, 198),
    RGBColor(8, 69, 148),
];

/// A latency axis in milliseconds: linear when the values span less than `LOG_SPAN`, else
/// logarithmic. Log axes are drawn as log10 values on a linear coordinate, so there are enough
/// tick labels even within one decade (plotters' own log axis labels only powers of ten).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub log: bool,
    lo: f64,
    hi: f64,
}

/// Above this hi/lo ratio a latency axis becomes logarithmic.
const LOG_SPAN: f64 = 30.0;

impl Scale {
    /// A scale for latencies from `lo` to `hi` ms (any order of magnitude; 0 is allowed).
    pub fn new(lo: f64, hi: f64) -> Self {
        let lo = lo.max(0.001);
        let hi = hi.max(lo * 1.5);
        Scale {
            log: hi / lo > LOG_SPAN,
            lo,
            hi,
        }
    }
    /// From a set of values (an empty set gives 0.01..1 ms).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let (lo, hi) = values
            .into_iter()
            .fold((f64::MAX, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if hi == 0.0 && lo == f64::MAX {
            Scale::new(0.01, 1.0)
        } else {
            Scale::new(lo, hi)
        }
    }
    /// Axis position of a latency in ms.
    pub fn pos(&self, ms: f64) -> f64 {
        if self.log {
            ms.max(0.001).log10()
        } else {
            ms
        }
    }
    /// The axis range, with room around the data (linear axes start at 0).
    pub fn range(&self) -> std::ops::Range<f64> {
        if self.log {
            (self.lo / 1.3).log10()..(self.hi * 1.3).log10()
        } else {
            0.0..self.hi * 1.15
        }
    }
    /// The axis, with ticks at 1-2-5 values (see [`axis`]).
    pub fn axis(&self) -> Ticked {
        axis(self.range(), self.log)
    }
    /// Tick label of an axis position.
    pub fn label(&self, y: &f64) -> String {
        let ms = if self.log { 10f64.powf(*y) } else { *y };
        crate::units::human_us(ms * 1000.0)
    }
}

/// An axis over `range` (log10 positions when `log`) whose ticks fall on round values: 1-2-5 per
/// decade on a log axis (100 µs, 200 µs, 500 µs, 1 ms, ...; 1k, 2k, 5k, 10k msg/s), only powers
/// of ten when that gives more than a dozen; steps of 1, 2 or 5 times a power of ten on a linear
/// one.
pub fn axis(range: std::ops::Range<f64>, log: bool) -> Ticked {
    let ticks = if log {
        log_ticks(range.start, range.end)
    } else {
        linear_ticks(range.start, range.end)
    };
    Ticked {
        inner: range.into(),
        ticks,
    }
}

/// A linear f64 coordinate whose ticks are given (plotters' own pick them at linear steps,
/// which on a log10 axis land on 1.58, 2.51, 3.98, ...).
pub struct Ticked {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ranged for Ticked {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;
    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }
    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }
    fn axis_pixel_range(&self, limit: (i32, i32)) -> std::ops::Range<i32> {
        self.inner.axis_pixel_range(limit)
    }
}

/// log10 positions of 1-2-5 values between the log10 positions `lo` and `hi`.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let decades = (lo.floor() as i32)..=(hi.ceil() as i32);
    let at = |mantissas: &[f64]| -> Vec<f64> {
        decades
            .clone()
            .flat_map(|d| mantissas.iter().map(move |m| (m * 10f64.powi(d)).log10()))
            .filter(|p| *p >= lo - 1e-9 && *p <= hi + 1e-9)
            .collect()
    };
    let fine = at(&[1.0, 2.0, 5.0]);
    if fine.len() > 12 {
        at(&[1.0])
    } else {
        fine
    }
}

/// Round ticks between `lo` and `hi`: at most about ten, 1, 2 or 5 times a power of ten apart.
pub fn linear_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = hi - lo;
    if span.is_nan() || span <= 0.0 || !span.is_finite() {
        return vec![lo];
    }
    let magnitude = 10f64.powf((span / 10.0).log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|step| span / step <= 10.0)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

#[cfg(test)]
mod tick_tests {
    use super::*;

    #[test]
    fn log_ticks_fall_on_1_2_5_values() {
        // 80 µs .. 7 ms, in ms.
        let ticks: Vec<String> = log_ticks(0.08f64.log10(), 7f64.log10())
            .iter()
            .map(|p| crate::units::human_us(10f64.powf(*p) * 1000.0))
            .collect();
        assert_eq!(
            ticks,
            ["100 µs", "200 µs", "500 µs", "1.00 ms", "2.00 ms", "5.00 ms"]
        );
        // Offered rates 700 .. 64k msg/s.
        let rates: Vec<f64> = log_ticks(700f64.log10(), 64e3f64.log10())
            .iter()
            .map(|p| (10f64.powf(*p)).round())
            .collect();
        assert_eq!(rates, [1e3, 2e3, 5e3, 1e4, 2e4, 5e4]);
        // Eight decades: only the powers of ten.
        assert_eq!(log_ticks(0.0, 8.0).len(), 9);
    }

    #[test]
    fn linear_ticks_are_round_steps() {
        let near = |got: Vec<f64>, want: &[f64]| {
            assert_eq!(got.len(), want.len(), "{got:?}");
            assert!(
                got.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-9),
                "{got:?}"
            );
        };
        near(linear_ticks(0.0, 1.15), &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        near(
            linear_ticks(0.0, 46.0),
            &[0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0],
        );
        assert_eq!(linear_ticks(3.0, 3.0), [3.0]);
    }
}
