//! The significance test of a gate judged against a run history: a seeded percentile bootstrap
//! of the difference of medians.
//!
//! Each resample draws both sides again with replacement (current runs from the current runs,
//! history runs from the history), takes each side's median and keeps their difference. The 2.5th
//! and 97.5th percentiles of those differences are the 95% interval. A change is significant when
//! that interval excludes zero: the current runs sit outside what the history's own spread makes
//! of its median. With one current run, only the history is resampled in effect, so the interval is
//! where the history's median could fall: a value inside the history's band is not called.

use crate::rng::Rng;

/// Resamples drawn per interval.
pub const RESAMPLES: u32 = 2000;
/// The seed, fixed so the same results always get the same verdict.
pub const SEED: u64 = 42;

/// The 95% interval of `median(current) - median(base)`, from `RESAMPLES` seeded resamples.
/// Both sides are non-empty.
pub fn median_difference(current: &[f64], base: &[f64]) -> (f64, f64) {
    let mut rng = Rng::new(SEED);
    let mut diffs: Vec<f64> = (0..RESAMPLES)
        .map(|_| resampled_median(current, &mut rng) - resampled_median(base, &mut rng))
        .collect();
    diffs.sort_by(f64::total_cmp);
    let at = |q: f64| diffs[((diffs.len() - 1) as f64 * q).round() as usize];
    (at(0.025), at(0.975))
}

/// The median of `v` drawn again with replacement.
fn resampled_median(v: &[f64], rng: &mut Rng) -> f64 {
    let draw: Vec<f64> = (0..v.len())
        .map(|_| v[rng.below(v.len() as u64) as usize])
        .collect();
    super::median(draw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_holds_the_observed_difference_and_is_seeded() {
        let (cur, base) = (
            [80.0, 82.0, 78.0, 81.0, 79.0],
            [100.0, 102.0, 98.0, 101.0, 99.0],
        );
        let (lo, hi) = median_difference(&cur, &base);
        assert!(lo <= -20.0 && (-20.0..0.0).contains(&hi), "[{lo}, {hi}]");
        assert_eq!(median_difference(&cur, &base), (lo, hi));
    }

    #[test]
    fn one_current_run_inside_the_history_band_is_not_significant() {
        let (lo, hi) = median_difference(&[14.3], &[8.0, 11.0, 16.0]);
        assert!(lo < 0.0 && hi > 0.0, "[{lo}, {hi}]");
        let (lo, _) = median_difference(&[14.3], &[10.0, 11.0, 12.0]);
        assert!(lo > 0.0, "{lo}");
    }
}
