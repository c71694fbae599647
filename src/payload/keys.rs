//! Message keys: decimal numbers below the cardinality, zero-padded to a fixed width and written
//! into a small buffer owned by the worker (no allocation per message).
//!
//! Zipf keys use rejection-inversion sampling (Hörmann and Derflinger, 1996): O(1) per draw and no
//! table, so a cardinality of millions costs nothing up front. Key rank 1 (key `0`) is the hottest.

use crate::rng::Rng;
use crate::scenario::{key_width, Keys, Message};

/// Writes keys for one worker.
#[derive(Debug, Clone)]
pub struct KeyGen {
    kind: Keys,
    cardinality: u64,
    zipf: Option<Zipf>,
    width: usize,
    buf: [u8; 20],
}

impl KeyGen {
    pub fn new(m: &Message) -> Self {
        let cardinality = m.key_cardinality.max(1);
        let width = key_width(cardinality);
        KeyGen {
            kind: m.keys.distribution,
            cardinality,
            zipf: (m.keys.distribution == Keys::Zipf)
                .then(|| Zipf::new(cardinality, m.keys.exponent())),
            width,
            buf: [b'0'; 20],
        }
    }

    /// The number of distinct keys this generator can write (0 without keys).
    pub fn cardinality(&self) -> u64 {
        match self.kind {
            Keys::None => 0,
            _ => self.cardinality,
        }
    }

    /// The key of the run-wide message number `seq` as (key number, bytes), or `None` for
    /// keyless messages.
    #[inline]
    pub fn key(&mut self, seq: u64, rng: &mut Rng) -> Option<(u64, &[u8])> {
        let n = match self.kind {
            Keys::None => return None,
            Keys::Sequential => seq % self.cardinality,
            Keys::Random => rng.below(self.cardinality),
            Keys::Zipf => self.zipf.as_ref().map_or(0, |z| z.sample(rng) - 1),
        };
        let mut v = n;
        for i in (0..self.width).rev() {
            self.buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        Some((n, &self.buf[..self.width]))
    }
}

/// Zipf distribution over ranks `1..=n`: P(k) proportional to 1/k^s (s > 0).
#[derive(Debug, Clone)]
pub struct Zipf {
    n: f64,
    s: f64,
    h_x1: f64,
    h_n: f64,
    cut: f64,
}

impl Zipf {
    pub fn new(n: u64, s: f64) -> Self {
        let mut z = Zipf {
            n: n as f64,
            s,
            h_x1: 0.0,
            h_n: 0.0,
            cut: 0.0,
        };
        z.h_x1 = z.h_integral(1.5) - 1.0;
        z.h_n = z.h_integral(z.n + 0.5);
        z.cut = 2.0 - z.h_integral_inv(z.h_integral(2.5) - z.h(2.0));
        z
    }

    /// A rank in `1..=n`.
    #[inline]
    pub fn sample(&self, rng: &mut Rng) -> u64 {
        loop {
            let u = self.h_n + rng.unit() * (self.h_x1 - self.h_n);
            let x = self.h_integral_inv(u);
            let k = (x + 0.5).floor().clamp(1.0, self.n);
            if k - x <= self.cut || u >= self.h_integral(k + 0.5) - self.h(k) {
                return k as u64;
            }
        }
    }

    fn h(&self, x: f64) -> f64 {
        (-self.s * x.ln()).exp()
    }
    /// The integral of `h` from 1 to x (shifted): `(x^(1-s) - 1) / (1-s)`, stable near s = 1.
    fn h_integral(&self, x: f64) -> f64 {
        let log_x = x.ln();
        helper2((1.0 - self.s) * log_x) * log_x
    }
    fn h_integral_inv(&self, x: f64) -> f64 {
        let t = (x * (1.0 - self.s)).max(-1.0);
        (helper1(t) * x).exp()
    }
}

/// `ln(1+x)/x`, accurate near 0.
fn helper1(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.ln_1p() / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }
}

/// `(e^x - 1)/x`, accurate near 0.
fn helper2(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.exp_m1() / x
    } else {
        1.0 + x * 0.5 * (1.0 + x / 3.0 * (1.0 + 0.25 * x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::KeySpec;

    #[test]
    fn keys_are_fixed_width_and_bounded() {
        let mut m = Message {
            keys: KeySpec::from(Keys::Sequential),
            key_cardinality: 1000,
            ..Message::default()
        };
        let mut rng = Rng::new(1);
        let mut g = KeyGen::new(&m);
        assert_eq!(g.key(5, &mut rng).unwrap(), (5, &b"005"[..]));
        assert_eq!(g.key(1999, &mut rng).unwrap().1, b"999");
        m.keys = KeySpec::from(Keys::Random);
        let mut g = KeyGen::new(&m);
        for _ in 0..1000 {
            let (n, k) = g.key(0, &mut rng).unwrap();
            let parsed: u64 = std::str::from_utf8(k).unwrap().parse().unwrap();
            assert!(parsed < 1000 && parsed == n);
        }
        m.keys = KeySpec::from(Keys::None);
        assert!(KeyGen::new(&m).key(1, &mut rng).is_none());
    }

    /// Sample frequencies of the top ranks match 1/k^s / H(n, s).
    #[test]
    fn zipf_matches_its_probabilities() {
        for (n, s) in [(1000u64, 1.1), (100, 1.0), (50_000, 0.8), (10, 2.0)] {
            let z = Zipf::new(n, s);
            let mut rng = Rng::new(42);
            let draws = 200_000;
            let mut counts = vec![0u64; n as usize + 1];
            for _ in 0..draws {
                let k = z.sample(&mut rng);
                assert!((1..=n).contains(&k));
                counts[k as usize] += 1;
            }
            let norm: f64 = (1..=n).map(|k| (k as f64).powf(-s)).sum();
            for k in 1..=5u64 {
                let expect = (k as f64).powf(-s) / norm;
                let got = counts[k as usize] as f64 / draws as f64;
                let tol = 4.0 * (expect * (1.0 - expect) / draws as f64).sqrt() + 1e-4;
                assert!(
                    (got - expect).abs() < tol,
                    "n={n} s={s} k={k}: {got} vs {expect}"
                );
            }
        }
    }
}
