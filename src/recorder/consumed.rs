//! What the run's consumers recorded (`[consume]`): end-to-end latency and the read-back counts.
//!
//! Two more instants per message, on the run's clock: the **due** and **enqueue** instants carried
//! in its stamp, and **consumed**, when a consumer thread got it from librdkafka. So
//! **e2e** = consumed - due (corrected for coordinated omission: a stall anywhere between the
//! schedule and the consumer shows) and **e2e service** = consumed - enqueue.
//!
//! Each consumer thread records into its own [`ConsumerRecorder`] (time-ordered, uncontended);
//! they merge exactly into one [`Consumed`] at the end, like the producer instances' recorders.
//! Only a message's first reading counts and is timed; later ones are duplicates.

use super::hist::{self, new_hist, Hist};
use super::series::{self, Series};

/// One consumer thread's recording.
#[derive(Debug)]
pub struct ConsumerRecorder {
    interval_us: u64,
    warmup_end_us: u64,
    pub e2e: Hist,
    pub e2e_service: Hist,
    pub e2e_series: Series,
    pub service_series: Series,
    /// Distinct messages first read in each interval (`consumed_us / interval_us`), warm-up
    /// included.
    pub intervals: Vec<u64>,
    /// Distinct measured messages read.
    pub consumed: u64,
    /// Distinct warm-up messages read.
    pub consumed_warmup: u64,
    /// Measured messages read again (a re-read offset, or the same stamp at another offset).
    pub duplicates: u64,
    /// Distinct measured messages read, by partition (`topic * partitions + partition` with
    /// many topics).
    pub partitions: Vec<u64>,
    pub clamped: u64,
}

/// Is a reading the message's first?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    First,
    Again,
}

impl ConsumerRecorder {
    pub fn new(interval_us: u64, warmup_end_us: u64) -> Self {
        ConsumerRecorder {
            interval_us: interval_us.max(1),
            warmup_end_us,
            e2e: new_hist(),
            e2e_service: new_hist(),
            e2e_series: Series::default(),
            service_series: Series::default(),
            intervals: Vec::new(),
            consumed: 0,
            consumed_warmup: 0,
            duplicates: 0,
            partitions: Vec::new(),
            clamped: 0,
        }
    }

    /// Records one reading of a message due at `due_us`, enqueued at `enqueue_us`, read at
    /// `consumed_us` from `partition`.
    #[inline]
    pub fn record(
        &mut self,
        due_us: u64,
        enqueue_us: u64,
        consumed_us: u64,
        partition: i32,
        reading: Reading,
    ) {
        let measured = due_us >= self.warmup_end_us;
        if reading == Reading::Again {
            self.duplicates += measured as u64;
            return;
        }
        let index = (consumed_us / self.interval_us) as usize;
        if index >= self.intervals.len() {
            self.intervals.resize(index + 1, 0);
        }
        self.intervals[index] += 1;
        let e2e = consumed_us.saturating_sub(due_us);
        let service = consumed_us.saturating_sub(enqueue_us);
        self.e2e_series.record(index, e2e);
        self.service_series.record(index, service);
        if !measured {
            self.consumed_warmup += 1;
            return;
        }
        self.consumed += 1;
        if let Ok(p) = usize::try_from(partition) {
            if p >= self.partitions.len() {
                self.partitions.resize(p + 1, 0);
            }
            self.partitions[p] += 1;
        }
        self.clamped += hist::record(&mut self.e2e, e2e) as u64;
        self.clamped += hist::record(&mut self.e2e_service, service) as u64;
    }
}

/// One interval of the consumers' series, all consumers merged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsumedInterval {
    pub consumed: u64,
    pub e2e: Option<String>,
    pub e2e_service: Option<String>,
}

/// Everything the consumers recorded, merged.
#[derive(Debug, Clone)]
pub struct Consumed {
    pub consumers: u32,
    pub e2e: Hist,
    pub e2e_service: Hist,
    pub intervals: Vec<ConsumedInterval>,
    pub consumed: u64,
    pub consumed_warmup: u64,
    pub duplicates: u64,
    pub partitions: Vec<u64>,
    pub clamped: u64,
    /// Messages read that carried no stamp of this run (other runs' or other shards' records).
    pub foreign: u64,
    /// With `start_after`: the backlog the consumers found and how they drained it.
    pub backlog: Option<Backlog>,
    /// What happened on the consumer side (client errors, a group that never formed).
    pub events: Vec<crate::event::Event>,
}

/// A backlog and its drain, on the run's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backlog {
    /// When the consumers started (µs since t0).
    pub start_us: u64,
    /// Acked but not consumed then.
    pub messages: u64,
    /// When the lag was back to about zero (see `run::consume::watch_backlog`).
    pub caught_up_us: Option<u64>,
    /// Messages consumed between the start and the catch-up.
    pub drained: u64,
}

impl Consumed {
    /// Merges the consumer threads' recordings.
    pub fn merge(recorders: Vec<ConsumerRecorder>) -> Consumed {
        let mut c = Consumed {
            consumers: recorders.len() as u32,
            e2e: new_hist(),
            e2e_service: new_hist(),
            intervals: Vec::new(),
            consumed: 0,
            consumed_warmup: 0,
            duplicates: 0,
            partitions: Vec::new(),
            clamped: 0,
            foreign: 0,
            backlog: None,
            events: Vec::new(),
        };
        let mut counts: Vec<u64> = Vec::new();
        let (mut e2e, mut service) = (Vec::new(), Vec::new());
        for r in recorders {
            hist::add(&mut c.e2e, &r.e2e);
            hist::add(&mut c.e2e_service, &r.e2e_service);
            c.consumed += r.consumed;
            c.consumed_warmup += r.consumed_warmup;
            c.duplicates += r.duplicates;
            c.clamped += r.clamped;
            add_into(&mut counts, &r.intervals);
            add_into(&mut c.partitions, &r.partitions);
            e2e.push(r.e2e_series.finish());
            service.push(r.service_series.finish());
        }
        c.intervals = (0..counts.len())
            .map(|i| ConsumedInterval {
                consumed: counts[i],
                e2e: series::merged_at(&e2e, i),
                e2e_service: series::merged_at(&service, i),
            })
            .collect();
        c
    }
}

/// Element-wise `into += from`, growing `into` as needed.
pub fn add_into(into: &mut Vec<u64>, from: &[u64]) {
    if from.len() > into.len() {
        into.resize(from.len(), 0);
    }
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_readings_are_timed_and_duplicates_counted() {
        let mut a = ConsumerRecorder::new(1_000_000, 1_000_000);
        let mut b = ConsumerRecorder::new(1_000_000, 1_000_000);
        a.record(500_000, 500_000, 520_000, 0, Reading::First); // warm-up
        a.record(1_000_000, 1_000_010, 1_030_000, 0, Reading::First);
        b.record(2_000_000, 2_000_000, 2_500_000, 1, Reading::First);
        b.record(2_000_000, 2_000_000, 2_600_000, 1, Reading::Again);
        let c = Consumed::merge(vec![a, b]);
        assert_eq!((c.consumed, c.consumed_warmup, c.duplicates), (2, 1, 1));
        assert_eq!(c.e2e.len(), 2);
        assert_eq!(c.e2e.min(), 30_000);
        assert_eq!(c.e2e_service.min(), c.e2e_service.lowest_equivalent(29_990));
        assert_eq!(c.partitions, vec![1, 1]);
        let counts: Vec<u64> = c.intervals.iter().map(|i| i.consumed).collect();
        assert_eq!(counts, vec![1, 1, 1]);
        assert!(c.intervals[0].e2e.is_some() && c.intervals[2].e2e_service.is_some());
    }
}
