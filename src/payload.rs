//! Message contents, generated before the run so the hot path only slices.
//!
//! Payloads are windows into one pre-generated buffer: message `n` starts at a pseudo-random offset,
//! so consecutive messages differ (compression sees realistic variety) without any per-message
//! allocation. `compressibility` c makes a share c of the buffer runs of one byte and the rest random
//! bytes, so codecs find roughly 1/(1-c) to 1 (0.0 = incompressible, 1.0 = one byte repeated).
//!
//! Keys are decimal numbers below `key_cardinality`, zero-padded to a fixed width and written into a
//! small buffer owned by the worker. Everything is seeded: the same seed gives the same messages.

use crate::scenario::{Keys, Message};

/// A small, fast, seedable generator (SplitMix64): not cryptographic, just reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Length of the runs of one byte that make a payload compressible.
const RUN: usize = 32;
/// The pool holds at least this many bytes (and at least 16 payloads), so offsets vary.
const MIN_POOL: usize = 1 << 20;

/// Pre-generated payload bytes shared by all workers.
#[derive(Debug, Clone)]
pub struct PayloadPool {
    buf: Vec<u8>,
    size: usize,
}

impl PayloadPool {
    pub fn new(size: usize, compressibility: f64, seed: u64) -> Self {
        let len = (size * 16).max(MIN_POOL) + size;
        let mut rng = Rng::new(seed);
        let mut buf = vec![0u8; len];
        for chunk in buf.chunks_mut(RUN) {
            if rng.unit() < compressibility {
                chunk.fill(b'k');
            } else {
                for b in chunk.iter_mut() {
                    *b = rng.next_u64() as u8;
                }
            }
        }
        PayloadPool { buf, size }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// The payload starting at a position drawn from `draw` (any u64; reduced to a valid offset).
    #[inline]
    pub fn payload(&self, draw: u64) -> &[u8] {
        let span = (self.buf.len() - self.size) as u64;
        let start = (draw % span.max(1)) as usize;
        &self.buf[start..start + self.size]
    }
}

/// Writes keys for one worker.
#[derive(Debug, Clone)]
pub struct KeyGen {
    kind: Keys,
    cardinality: u64,
    width: usize,
    buf: [u8; 20],
}

impl KeyGen {
    pub fn new(m: &Message) -> Self {
        let width = (m.key_cardinality.max(2) - 1).to_string().len();
        KeyGen {
            kind: m.keys,
            cardinality: m.key_cardinality.max(1),
            width,
            buf: [b'0'; 20],
        }
    }

    /// The key of the run-wide message number `seq`, or `None` for keyless messages.
    #[inline]
    pub fn key(&mut self, seq: u64, rng: &mut Rng) -> Option<&[u8]> {
        let n = match self.kind {
            Keys::None => return None,
            Keys::Sequential => seq % self.cardinality,
            Keys::Random => rng.below(self.cardinality),
        };
        let mut v = n;
        for i in (0..self.width).rev() {
            self.buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        Some(&self.buf[..self.width])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_have_the_size_and_vary() {
        let pool = PayloadPool::new(100, 0.0, 1);
        let a = pool.payload(0);
        let b = pool.payload(12345);
        assert_eq!(a.len(), 100);
        assert_ne!(a, b);
        assert_eq!(pool.payload(u64::MAX).len(), 100);
        assert_eq!(PayloadPool::new(0, 0.0, 1).payload(7).len(), 0);
    }

    #[test]
    fn same_seed_same_bytes_and_compressibility_shows() {
        assert_eq!(
            PayloadPool::new(64, 0.5, 9).payload(77),
            PayloadPool::new(64, 0.5, 9).payload(77)
        );
        let repeated = |c: f64| {
            let pool = PayloadPool::new(4096, c, 3);
            let p = pool.payload(0);
            p.iter().filter(|b| **b == b'k').count() as f64 / p.len() as f64
        };
        assert!(repeated(0.0) < 0.02);
        assert!((repeated(0.5) - 0.5).abs() < 0.1, "{}", repeated(0.5));
        assert!(repeated(1.0) > 0.99);
    }

    #[test]
    fn keys_are_fixed_width_and_bounded() {
        let mut m = Message {
            keys: Keys::Sequential,
            key_cardinality: 1000,
            ..Message::default()
        };
        let mut rng = Rng::new(1);
        let mut g = KeyGen::new(&m);
        assert_eq!(g.key(5, &mut rng).unwrap(), b"005");
        assert_eq!(g.key(1999, &mut rng).unwrap(), b"999");
        m.keys = Keys::Random;
        let mut g = KeyGen::new(&m);
        for _ in 0..1000 {
            let k: u64 = std::str::from_utf8(g.key(0, &mut rng).unwrap())
                .unwrap()
                .parse()
                .unwrap();
            assert!(k < 1000);
        }
        m.keys = Keys::None;
        assert!(KeyGen::new(&m).key(1, &mut rng).is_none());
    }
}
