//! Which messages the consumers have read, in flat memory: per partition, the next offset to
//! read (an offset below it is a re-read), and per partition and producing worker a window of
//! the last [`WINDOW`] message numbers (the same stamp at a new offset is a duplicate the
//! producer wrote, e.g. a retry without idempotence). Memory is partitions x workers x 136
//! bytes at most, whatever the run's length.
//!
//! A message number more than [`WINDOW`] behind the newest of its worker on that partition is
//! taken as new: the window cannot tell, and librdkafka never reorders that far.

use std::sync::Mutex;

use crate::recorder::Reading;

/// Message numbers each (partition, worker) window remembers.
pub const WINDOW: u64 = 1024;
const WORDS: usize = (WINDOW / 64) as usize;

/// The last [`WINDOW`] message numbers of one worker on one partition, as a ring of bits.
#[derive(Debug, Clone)]
struct Window {
    /// The newest number seen, plus one (0 = none yet).
    next: u64,
    bits: [u64; WORDS],
}

impl Default for Window {
    fn default() -> Self {
        Window {
            next: 0,
            bits: [0; WORDS],
        }
    }
}

impl Window {
    fn bit(seq: u64) -> (usize, u64) {
        let i = seq % WINDOW;
        ((i / 64) as usize, 1 << (i % 64))
    }

    /// Notes `seq`; true when it is new.
    fn insert(&mut self, seq: u64) -> bool {
        if seq >= self.next {
            // Forget the numbers the window slides past.
            let from = self.next.max((seq + 1).saturating_sub(WINDOW));
            if seq + 1 - from >= WINDOW {
                self.bits = [0; WORDS];
            } else {
                for s in from..=seq {
                    let (w, b) = Window::bit(s);
                    self.bits[w] &= !b;
                }
            }
            self.next = seq + 1;
        } else if self.next - seq > WINDOW {
            return true;
        }
        let (w, b) = Window::bit(seq);
        let new = self.bits[w] & b == 0;
        self.bits[w] |= b;
        new
    }
}

#[derive(Debug, Default)]
struct Partition {
    /// The offset after the last one read (-1: none read yet).
    next_offset: i64,
    windows: Vec<Window>,
}

/// The read-back state of every partition, shared by the consumer threads (one lock per
/// partition, so consumers of different partitions never contend).
#[derive(Debug)]
pub struct Seen {
    partitions: Vec<Mutex<Partition>>,
}

impl Seen {
    pub fn new(partitions: u32) -> Seen {
        Seen {
            partitions: (0..partitions)
                .map(|_| {
                    Mutex::new(Partition {
                        next_offset: -1,
                        windows: Vec::new(),
                    })
                })
                .collect(),
        }
    }

    /// Notes a reading of (worker, seq) at `offset` of `partition`.
    pub fn observe(&self, partition: i32, offset: i64, worker: u32, seq: u64) -> Reading {
        let Some(p) = usize::try_from(partition)
            .ok()
            .and_then(|p| self.partitions.get(p))
        else {
            return Reading::First;
        };
        let mut p = p.lock().unwrap_or_else(|e| e.into_inner());
        if offset < p.next_offset {
            return Reading::Again;
        }
        p.next_offset = offset + 1;
        let w = worker as usize;
        if w >= p.windows.len() {
            p.windows.resize(w + 1, Window::default());
        }
        if p.windows[w].insert(seq) {
            Reading::First
        } else {
            Reading::Again
        }
    }

    /// Where a consumer newly assigned `partition` should start: after what was read, if
    /// anything was.
    pub fn resume_offset(&self, partition: i32) -> Option<i64> {
        let p = self.partitions.get(usize::try_from(partition).ok()?)?;
        let next = p.lock().unwrap_or_else(|e| e.into_inner()).next_offset;
        (next >= 0).then_some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rereads_and_rewritten_stamps_are_duplicates() {
        let s = Seen::new(2);
        assert_eq!(s.observe(0, 10, 0, 0), Reading::First);
        assert_eq!(s.observe(0, 11, 0, 1), Reading::First);
        assert_eq!(s.observe(0, 11, 0, 1), Reading::Again); // the same offset again
        assert_eq!(s.observe(0, 12, 0, 1), Reading::Again); // the same stamp, a new offset
        assert_eq!(s.observe(0, 13, 1, 1), Reading::First); // another worker's number 1
        assert_eq!(s.observe(1, 0, 0, 1), Reading::First); // another partition
        assert_eq!(s.resume_offset(0), Some(14));
        assert_eq!(s.resume_offset(1), Some(1));
    }

    #[test]
    fn the_window_slides_and_takes_reordered_numbers() {
        let s = Seen::new(1);
        let mut offset = 0;
        let mut read = |seq| {
            offset += 1;
            s.observe(0, offset, 0, seq)
        };
        assert_eq!(read(5), Reading::First);
        assert_eq!(read(3), Reading::First); // reordered, inside the window
        assert_eq!(read(3), Reading::Again);
        assert_eq!(read(5 + WINDOW - 1), Reading::First);
        assert_eq!(read(5), Reading::Again); // still inside
        assert_eq!(read(10 * WINDOW), Reading::First);
        assert_eq!(read(10 * WINDOW), Reading::Again);
        assert_eq!(read(5), Reading::First); // too old to tell: taken as new
    }
}
