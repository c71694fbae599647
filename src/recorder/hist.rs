//! Latency histograms: HdrHistogram in microseconds, 3 significant digits, 1 µs to 24 h.
//!
//! Histograms (not percentiles) are what kbench keeps, because histograms add up: per-worker and
//! per-instance histograms merge exactly into the run's, and saved runs merge exactly across
//! machines. They are stored in results as base64 of the standard V2 + deflate encoding, which
//! other HdrHistogram tools read too.

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// The largest latency a histogram holds exactly: 24 hours in microseconds. Larger values are
/// recorded as this value and counted in `clamped`, never dropped silently.
pub const HIGHEST_US: u64 = 24 * 3600 * 1_000_000;

/// A latency histogram in microseconds.
pub type Hist = Histogram<u64>;

/// A new, empty latency histogram.
pub fn new_hist() -> Hist {
    Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("constant histogram bounds are valid")
}

/// A new histogram for one interval of a series: 2 significant digits (1 % buckets). Intervals
/// only feed time series, charts and `.hlog` files; the run's totals keep 3 digits. Coarser
/// buckets keep each encoded interval to a few hundred bytes, so long runs stay flat in memory.
/// Interval histograms all share this precision, so they still add up exactly.
pub fn new_interval_hist() -> Hist {
    Histogram::new_with_bounds(1, HIGHEST_US, 2).expect("constant histogram bounds are valid")
}

/// Records one latency, clamping at [`HIGHEST_US`]. Returns true when the value was clamped.
#[inline]
pub fn record(h: &mut Hist, us: u64) -> bool {
    if us > HIGHEST_US {
        h.saturating_record(HIGHEST_US);
        true
    } else {
        h.saturating_record(us);
        false
    }
}

/// Base64 of the V2 + deflate encoding.
pub fn encode(h: &Hist) -> String {
    let mut buf = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut buf)
        .expect("serializing into a Vec cannot fail");
    base64::engine::general_purpose::STANDARD.encode(buf)
}

/// A histogram that does not decode: bad base64, or not HdrHistogram's V2 encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistError {
    #[error("invalid base64 histogram: {0}")]
    Base64(String),
    #[error("invalid HdrHistogram encoding: {0}")]
    Encoding(String),
}

/// Decodes [`encode`]'s output.
pub fn decode(text: &str) -> Result<Hist, HistError> {
    if text.trim().is_empty() {
        // A stream a version-1 result did not have.
        return Ok(new_hist());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| HistError::Base64(e.to_string()))?;
    Deserializer::new()
        .deserialize(&mut std::io::Cursor::new(bytes))
        .map_err(|e| HistError::Encoding(format!("{e:?}")))
}

/// Adds `from` into `into` (same bounds by construction, so this cannot fail for kbench's own).
pub fn add(into: &mut Hist, from: &Hist) {
    if into.add(from).is_err() {
        // Different bounds (a histogram read from elsewhere): add value by value.
        for v in from.iter_recorded() {
            let _ = into.record_n(v.value_iterated_to().min(HIGHEST_US), v.count_at_value());
        }
    }
}

/// Adds `from` into a sum that may not have started yet (the first histogram becomes the sum).
pub fn add_to_sum(sum: &mut Option<Hist>, from: Hist) {
    match sum {
        Some(s) => add(s, &from),
        None => *sum = Some(from),
    }
}

/// Summary statistics of one histogram, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct LatencyStats {
    /// Number of recorded latencies.
    pub count: u64,
    /// Smallest latency (µs).
    pub min: u64,
    /// Mean latency (µs).
    pub mean: f64,
    /// Median (µs).
    pub p50: u64,
    /// 90th percentile (µs).
    pub p90: u64,
    /// 99th percentile (µs).
    pub p99: u64,
    /// 99.9th percentile (µs).
    pub p999: u64,
    /// Largest latency (µs).
    pub max: u64,
}

impl LatencyStats {
    pub fn of(h: &Hist) -> Self {
        if h.is_empty() {
            return LatencyStats::default();
        }
        LatencyStats {
            count: h.len(),
            min: h.min(),
            mean: (h.mean() * 10.0).round() / 10.0,
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_is_exact() {
        let mut a = new_hist();
        let mut b = new_hist();
        let mut all = new_hist();
        for v in 1..=10_000u64 {
            let us = v * 37 % 50_000 + 1;
            if v % 3 == 0 {
                record(&mut a, us);
            } else {
                record(&mut b, us);
            }
            record(&mut all, us);
        }
        add(&mut a, &b);
        assert_eq!(LatencyStats::of(&a), LatencyStats::of(&all));
        assert_eq!(a.len(), 10_000);
    }

    #[test]
    fn encode_round_trips_and_clamps_visibly() {
        let mut h = new_hist();
        for us in [1u64, 10, 1_000, 3_600_000_000] {
            assert!(!record(&mut h, us));
        }
        assert!(record(&mut h, HIGHEST_US + 1));
        let back = decode(&encode(&h)).unwrap();
        assert_eq!(back.len(), 5);
        assert_eq!(LatencyStats::of(&back), LatencyStats::of(&h));
        assert!(decode("not base64!").is_err());
        assert!(decode("AAAA").is_err());
    }

    #[test]
    fn stats_of_empty_histogram_are_zero() {
        assert_eq!(LatencyStats::of(&new_hist()).count, 0);
    }
}
