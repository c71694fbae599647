//! The statistics kbench reports over repeated runs: medians, and seeded percentile-bootstrap
//! intervals (of a median, and of a difference of medians). A leaf module.
//!
//! A bootstrap draws the runs again with replacement, `RESAMPLES` times, takes the median of each
//! draw, and reads the 2.5th and 97.5th percentiles of those medians: the 95% interval. The seed
//! is fixed, so the same values always give the same interval; the method, the resamples and the
//! seed are written wherever an interval is.

use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// Resamples drawn per interval.
pub const RESAMPLES: u32 = 2000;
/// The seed of every interval.
pub const SEED: u64 = 42;
/// How an interval is made, in words (written beside it).
pub const METHOD: &str = "percentile bootstrap of the median, 95%";

/// A median and its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub median: f64,
    pub low: f64,
    pub high: f64,
}

/// Median of non-empty values.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The median of non-empty `values` and its 95% bootstrap interval.
pub fn median_interval(values: &[f64]) -> Interval {
    let mut rng = Rng::new(SEED);
    let (low, high) = percentiles((0..RESAMPLES).map(|_| resampled_median(values, &mut rng)));
    Interval {
        median: median(values.to_vec()),
        low,
        high,
    }
}

/// The 95% interval of `median(current) - median(base)`; both non-empty.
pub fn median_difference(current: &[f64], base: &[f64]) -> (f64, f64) {
    let mut rng = Rng::new(SEED);
    percentiles(
        (0..RESAMPLES)
            .map(|_| resampled_median(current, &mut rng) - resampled_median(base, &mut rng)),
    )
}

/// The 2.5th and 97.5th percentiles.
fn percentiles(draws: impl Iterator<Item = f64>) -> (f64, f64) {
    let mut d: Vec<f64> = draws.collect();
    d.sort_by(f64::total_cmp);
    let at = |q: f64| d[((d.len() - 1) as f64 * q).round() as usize];
    (at(0.025), at(0.975))
}

/// The median of `v` drawn again with replacement.
fn resampled_median(v: &[f64], rng: &mut Rng) -> f64 {
    median(
        (0..v.len())
            .map(|_| v[rng.below(v.len() as u64) as usize])
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_median_interval_lies_within_the_values_and_is_seeded() {
        let v = [980.0, 1010.0, 995.0, 1030.0, 960.0];
        let i = median_interval(&v);
        assert_eq!(i.median, 995.0);
        assert!(960.0 <= i.low && i.low <= i.median && i.median <= i.high && i.high <= 1030.0);
        assert_eq!(median_interval(&v), i);
        let one = median_interval(&[5.0]);
        assert_eq!((one.low, one.median, one.high), (5.0, 5.0, 5.0));
    }

    #[test]
    fn a_difference_interval_holds_the_observed_difference() {
        let (cur, base) = (
            [80.0, 82.0, 78.0, 81.0, 79.0],
            [100.0, 102.0, 98.0, 101.0, 99.0],
        );
        let (lo, hi) = median_difference(&cur, &base);
        assert!(lo <= -20.0 && (-20.0..0.0).contains(&hi), "[{lo}, {hi}]");
    }

    #[test]
    fn one_current_run_inside_the_history_band_is_not_significant() {
        let (lo, hi) = median_difference(&[14.3], &[8.0, 11.0, 16.0]);
        assert!(lo < 0.0 && hi > 0.0, "[{lo}, {hi}]");
        let (lo, _) = median_difference(&[14.3], &[10.0, 11.0, 12.0]);
        assert!(lo > 0.0, "{lo}");
    }
}
