//! Payload sizes, drawn ahead of the run: a seeded table of [`TABLE`] sizes from the scenario's
//! distribution, from which the hot path picks an entry at random (one multiply, no math).
//!
//! Log-normal from median and p99: `mu = ln(median)`, `sigma = ln(p99 / median) / 2.3263`
//! (2.3263 is the standard normal's 99th percentile). Every size is clamped to `0..=max`, where
//! `max` is what the broker would accept.

use std::path::Path;

use super::Rng;
use crate::scenario::SizeDist;
use crate::units::Bytes;

/// Sizes pre-drawn per run (a power of two).
pub const TABLE: usize = 1 << 16;
/// The standard normal distribution's 99th percentile.
const Z99: f64 = 2.326_347_874;

/// A size distribution ready to draw from.
#[derive(Debug, Clone)]
pub enum Sampler {
    Fixed(u64),
    Uniform(u64, u64),
    Normal(f64, f64),
    Lognormal {
        mu: f64,
        sigma: f64,
    },
    /// Sizes and their cumulative weights (last = total).
    Histogram(Vec<(u64, f64)>),
}

impl Sampler {
    /// The sampler of a distribution; reads a histogram file. Errors name the problem (and the
    /// file's line).
    pub fn new(d: &SizeDist) -> Result<Sampler, super::PayloadError> {
        d.check()?;
        Ok(match d {
            SizeDist::Fixed(b) => Sampler::Fixed(b.0),
            SizeDist::Uniform { min, max } => Sampler::Uniform(min.0, max.0),
            SizeDist::Normal { mean, stddev } => Sampler::Normal(mean.0 as f64, stddev.0 as f64),
            SizeDist::Lognormal { median, p99 } => Sampler::Lognormal {
                mu: (median.0 as f64).ln(),
                sigma: (p99.0 as f64 / median.0 as f64).ln() / Z99,
            },
            SizeDist::Histogram { file } => Sampler::Histogram(read_histogram(Path::new(file))?),
        })
    }

    /// One size, not yet clamped.
    pub fn draw(&self, rng: &mut Rng) -> f64 {
        match self {
            Sampler::Fixed(n) => *n as f64,
            Sampler::Uniform(a, b) => (*a + rng.below(b - a + 1)) as f64,
            Sampler::Normal(mean, sd) => mean + sd * normal(rng),
            Sampler::Lognormal { mu, sigma } => (mu + sigma * normal(rng)).exp(),
            Sampler::Histogram(cdf) => {
                let x = rng.unit() * cdf.last().map_or(0.0, |c| c.1);
                let i = cdf.partition_point(|c| c.1 <= x).min(cdf.len() - 1);
                cdf[i].0 as f64
            }
        }
    }

    /// The run's size table, every size clamped to `0..=max`.
    pub fn table(&self, max: u64, seed: u64) -> Vec<u32> {
        let mut rng = Rng::new(seed ^ 0x5153_5A45_5345_4544);
        let max = max.min(u32::MAX as u64) as f64;
        (0..TABLE)
            .map(|_| self.draw(&mut rng).round().clamp(0.0, max) as u32)
            .collect()
    }
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut Rng) -> f64 {
    let u1 = 1.0 - rng.unit();
    let u2 = rng.unit();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Reads `size,weight` lines (`#` comments, blank lines and a header line allowed) into a CDF.
fn read_histogram(path: &Path) -> Result<Vec<(u64, f64)>, super::PayloadError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut cdf = Vec::new();
    let mut total = 0.0;
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let at = |m: String| format!("{}:{}: {m}", path.display(), i + 1);
        let (size, weight) = line
            .split_once(',')
            .ok_or_else(|| at(format!("expected `size,weight`, found {line:?}")))?;
        let size: Bytes = match size.trim().parse() {
            Ok(s) => s,
            // A header line such as `size,weight`.
            Err(_) if cdf.is_empty() && !size.trim().starts_with(|c: char| c.is_ascii_digit()) => {
                continue
            }
            Err(e) => return Err(at(e.to_string()).into()),
        };
        let weight: f64 = weight
            .trim()
            .parse()
            .ok()
            .filter(|w: &f64| w.is_finite() && *w >= 0.0)
            .ok_or_else(|| at(format!("expected a weight >= 0, found {:?}", weight.trim())))?;
        total += weight;
        cdf.push((size.0, total));
    }
    if total <= 0.0 {
        return Err(format!("{}: no sizes with a weight above 0", path.display()).into());
    }
    Ok(cdf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sample statistics of a size table: (mean, p50, p99).
    fn stats(table: &[u32]) -> (f64, u32, u32) {
        let mut sorted = table.to_vec();
        sorted.sort_unstable();
        let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize];
        let mean = table.iter().map(|&s| s as f64).sum::<f64>() / table.len() as f64;
        (mean, at(0.5), at(0.99))
    }

    fn table(d: SizeDist) -> Vec<u32> {
        Sampler::new(&d).unwrap().table(1_000_000, 42)
    }

    #[test]
    fn distributions_match_their_parameters() {
        let (mean, p50, _) = stats(&table(SizeDist::Uniform {
            min: Bytes(100),
            max: Bytes(300),
        }));
        assert!(
            (mean - 200.0).abs() < 2.0 && (p50 as i64 - 200).abs() < 3,
            "{mean} {p50}"
        );
        let t = table(SizeDist::Uniform {
            min: Bytes(100),
            max: Bytes(300),
        });
        assert!(t.iter().all(|s| (100..=300).contains(s)));

        let t = table(SizeDist::Normal {
            mean: Bytes(1000),
            stddev: Bytes(100),
        });
        let (mean, p50, p99) = stats(&t);
        assert!((mean - 1000.0).abs() < 3.0, "{mean}");
        assert!((p50 as f64 - 1000.0).abs() < 5.0, "{p50}");
        assert!((p99 as f64 - 1232.6).abs() < 10.0, "{p99}");

        let (_, p50, p99) = stats(&table(SizeDist::Lognormal {
            median: Bytes(800),
            p99: Bytes(16384),
        }));
        assert!((p50 as f64 / 800.0 - 1.0).abs() < 0.03, "{p50}");
        assert!((p99 as f64 / 16384.0 - 1.0).abs() < 0.1, "{p99}");
    }

    #[test]
    fn sizes_are_clamped_and_seeded() {
        let d = SizeDist::Normal {
            mean: Bytes(100),
            stddev: Bytes(500),
        };
        let s = Sampler::new(&d).unwrap();
        let t = s.table(400, 1);
        assert!(t.iter().all(|&x| x <= 400) && t.contains(&0) && t.contains(&400));
        assert_eq!(t, s.table(400, 1));
        assert_ne!(t, s.table(400, 2));
    }

    #[test]
    fn histogram_files_are_read_with_weights() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("sizes.csv");
        std::fs::write(&f, "size,weight\n# small\n100B,3\n1KiB,1\n\n").unwrap();
        let d = SizeDist::Histogram {
            file: f.display().to_string(),
        };
        let t = table(d);
        let small = t.iter().filter(|&&s| s == 100).count() as f64 / t.len() as f64;
        assert!((small - 0.75).abs() < 0.01, "{small}");
        assert!(t.iter().all(|&s| s == 100 || s == 1024));

        std::fs::write(&f, "100B,3\n1KiB,lots\n").unwrap();
        let e = Sampler::new(&SizeDist::Histogram {
            file: f.display().to_string(),
        })
        .unwrap_err();
        assert!(e.0.contains("sizes.csv:2: expected a weight"), "{e}");
        let e = Sampler::new(&SizeDist::Histogram {
            file: "missing.csv".into(),
        })
        .unwrap_err();
        assert!(e.0.starts_with("cannot read missing.csv"), "{e}");
    }
}
