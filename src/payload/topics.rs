//! Which topic a message goes to, drawn from `topic.distribution` with no allocation: uniform is
//! a draw modulo the topic count; zipf and weights search a cumulative table built once per run
//! (17 comparisons at 100,000 topics).

use std::sync::Arc;

use crate::scenario::topics::TopicDist;

/// The spread of messages over topics; cheap to clone (one per worker).
#[derive(Debug, Clone)]
pub struct TopicPick {
    count: u32,
    /// Cumulative weights scaled to 0..=u64::MAX; `None` for uniform.
    cdf: Option<Arc<[u64]>>,
}

impl TopicPick {
    pub fn new(dist: &TopicDist, count: u32) -> Self {
        let count = count.max(1);
        let cdf = (!dist.is_uniform() && count > 1).then(|| {
            let w = dist.weights(count);
            let total: f64 = w.iter().sum();
            let mut acc = 0.0;
            w.iter()
                .map(|x| {
                    acc += x / total;
                    (acc.min(1.0) * u64::MAX as f64) as u64
                })
                .collect()
        });
        TopicPick { count, cdf }
    }

    /// More than one topic?
    pub fn many(&self) -> bool {
        self.count > 1
    }

    /// The topic of a message with the fresh random number `draw`.
    #[inline]
    pub fn pick(&self, draw: u64) -> usize {
        match &self.cdf {
            None => (draw % self.count as u64) as usize,
            Some(cdf) => cdf.partition_point(|&c| c < draw).min(cdf.len() - 1),
        }
    }

    /// The expected share of each topic.
    pub fn shares(dist: &TopicDist, count: u32) -> Vec<f64> {
        let w = dist.weights(count);
        let total: f64 = w.iter().sum();
        w.iter().map(|x| x / total).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn counts(dist: &TopicDist, n: u32, draws: usize) -> Vec<usize> {
        let p = TopicPick::new(dist, n);
        let mut rng = Rng::new(7);
        let mut c = vec![0; n as usize];
        for _ in 0..draws {
            c[p.pick(rng.next_u64())] += 1;
        }
        c
    }

    #[test]
    fn draws_follow_the_distribution() {
        let c = counts(&TopicDist::Uniform, 8, 80_000);
        assert!(c.iter().all(|&n| (9_000..11_000).contains(&n)), "{c:?}");
        let z = TopicDist::Zipf(1.1);
        let c = counts(&z, 10, 100_000);
        let shares = TopicPick::shares(&z, 10);
        for (got, want) in c.iter().zip(&shares) {
            let got = *got as f64 / 100_000.0;
            assert!((got - want).abs() / want < 0.05, "{got} vs {want}");
        }
        let c = counts(&TopicDist::Weights(vec![0.0, 3.0, 1.0]), 3, 40_000);
        assert_eq!(c[0], 0);
        assert!((29_000..31_000).contains(&c[1]), "{c:?}");
        assert_eq!(counts(&TopicDist::Uniform, 1, 10), vec![10]);
    }
}
