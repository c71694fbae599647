//! Per-topic tallies of a many-topic run (`topic.count` > 1): acked messages and bytes by topic
//! and partition, and each topic's corrected latency in a coarser histogram than the run's (2
//! significant digits, 32-bit counts: about 15 KB a topic, so 1,000 topics cost about 15 MB per
//! producer instance).

use hdrhistogram::Histogram;

use super::hist::HIGHEST_US;

/// A topic's corrected latency: 1 µs to 24 h, 2 significant digits, 32-bit counts.
pub type TopicHist = Histogram<u32>;

fn new_topic_hist() -> TopicHist {
    Histogram::new_with_bounds(1, HIGHEST_US, 2).expect("constant histogram bounds are valid")
}

/// Acked measured messages of one topic.
#[derive(Debug, Clone, Default)]
pub struct TopicTally {
    /// (messages, bytes) by partition.
    pub partitions: Vec<(u64, u64)>,
    /// Corrected latency; only kept with more than one topic.
    pub hist: Option<TopicHist>,
}

impl TopicTally {
    /// Counts one ack of `bytes` on `partition` with `corrected` latency (`latency` only when
    /// the run has many topics).
    #[inline]
    pub fn ack(&mut self, partition: i32, bytes: u64, corrected: Option<u64>) {
        if let Ok(p) = usize::try_from(partition) {
            if p >= self.partitions.len() {
                self.partitions.resize(p + 1, (0, 0));
            }
            self.partitions[p].0 += 1;
            self.partitions[p].1 += bytes;
        }
        if let Some(us) = corrected {
            let h = self.hist.get_or_insert_with(new_topic_hist);
            h.saturating_record(us.min(HIGHEST_US));
        }
    }

    /// Adds another instance's tally of the same topic.
    pub fn merge(&mut self, other: &TopicTally) {
        if other.partitions.len() > self.partitions.len() {
            self.partitions.resize(other.partitions.len(), (0, 0));
        }
        for (a, b) in self.partitions.iter_mut().zip(&other.partitions) {
            a.0 += b.0;
            a.1 += b.1;
        }
        if let Some(h) = &other.hist {
            let mine = self.hist.get_or_insert_with(new_topic_hist);
            let _ = mine.add(h);
        }
    }

    pub fn messages(&self) -> u64 {
        self.partitions.iter().map(|p| p.0).sum()
    }

    pub fn bytes(&self) -> u64 {
        self.partitions.iter().map(|p| p.1).sum()
    }
}

/// Tallies of every topic, indexed by topic.
pub fn merge_all(into: &mut Vec<TopicTally>, from: &[TopicTally]) {
    if from.len() > into.len() {
        into.resize(from.len(), TopicTally::default());
    }
    for (a, b) in into.iter_mut().zip(from) {
        a.merge(b);
    }
}
