//! A per-interval histogram series: one live histogram for the current interval; every finished
//! interval is kept encoded (V2 + deflate, base64, at 2 significant digits: a few hundred bytes
//! instead of the ~220 KB of a live histogram), so memory barely grows with the length of a run.
//!
//! Samples arrive in time order (one delivery-callback thread per shard, one task per worker),
//! so an interval is finished when the first sample of a later one arrives.

use super::hist::{self, new_interval_hist, Hist};

/// Encoded histograms by interval index; `None` for an interval without samples.
pub type Encoded = Vec<Option<String>>;

#[derive(Debug, Clone)]
pub struct Series {
    current: Hist,
    index: usize,
    done: Encoded,
}

impl Default for Series {
    fn default() -> Self {
        Series {
            current: new_interval_hist(),
            index: 0,
            done: Vec::new(),
        }
    }
}

impl Series {
    /// Records a latency into interval `index` (a sample of an earlier interval, which time order
    /// rules out, would count in the current one).
    #[inline]
    pub fn record(&mut self, index: usize, us: u64) {
        if index > self.index {
            self.roll_to(index);
        }
        hist::record(&mut self.current, us);
    }

    fn roll_to(&mut self, index: usize) {
        if !self.current.is_empty() {
            self.done.resize(self.index, None);
            self.done.push(Some(hist::encode(&self.current)));
            self.current.reset();
        }
        self.index = index;
    }

    /// The histogram of the last finished interval (live metrics).
    pub fn last(&self) -> Option<Hist> {
        hist::decode(self.done.last()?.as_ref()?).ok()
    }

    /// Intervals finished so far (the last one's index + 1), and its encoded histogram.
    pub fn last_encoded(&self) -> (usize, Option<&String>) {
        (self.done.len(), self.done.last().and_then(Option::as_ref))
    }

    /// The p99 of the last finished interval (for the live progress line).
    pub fn last_p99(&self) -> Option<u64> {
        let last = self.done.last()?.as_ref()?;
        hist::decode(last).ok().map(|h| h.value_at_quantile(0.99))
    }

    /// The same intervals with the same counts, every value 0 (the send lag of an unpaced run).
    pub fn zeroed(&self) -> Series {
        let zeros = |n: u64| {
            let mut h = new_interval_hist();
            let _ = h.record_n(0, n);
            h
        };
        Series {
            current: zeros(self.current.len()),
            index: self.index,
            done: self
                .done
                .iter()
                .map(|e| {
                    let h = hist::decode(e.as_ref()?).ok()?;
                    Some(hist::encode(&zeros(h.len())))
                })
                .collect(),
        }
    }

    /// Closes the current interval and returns every interval, encoded.
    pub fn finish(mut self) -> Encoded {
        let next = self.index + 1;
        self.roll_to(next);
        self.done
    }
}

/// Adds up interval `i` of several encoded series (exact: histograms add).
pub fn merged_at(parts: &[Encoded], i: usize) -> Option<String> {
    let present: Vec<&String> = parts
        .iter()
        .filter_map(|p| p.get(i).and_then(Option::as_ref))
        .collect();
    match present.as_slice() {
        [] => None,
        [one] => Some((*one).clone()),
        many => {
            let mut sum = new_interval_hist();
            for text in many {
                if let Ok(h) = hist::decode(text) {
                    hist::add(&mut sum, &h);
                }
            }
            Some(hist::encode(&sum))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_encoded_as_they_finish_and_merge_exactly() {
        let mut a = Series::default();
        let mut b = Series::default();
        a.record(0, 100);
        a.record(0, 200);
        a.record(2, 5_000);
        b.record(0, 300);
        b.record(1, 1_000);
        assert!(a.last_p99().is_some());
        let (a, b) = (a.finish(), b.finish());
        assert_eq!(a.len(), 3);
        assert!(a[1].is_none());
        let zero = hist::decode(&merged_at(&[a.clone(), b.clone()], 0).unwrap()).unwrap();
        assert_eq!(zero.len(), 3);
        assert_eq!(zero.max(), zero.highest_equivalent(300));
        assert_eq!(
            hist::decode(&merged_at(&[a.clone(), b.clone()], 1).unwrap())
                .unwrap()
                .len(),
            1
        );
        assert!(merged_at(&[a, b], 7).is_none());
    }
}
