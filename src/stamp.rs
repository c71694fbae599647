//! The stamp: the first [`STAMP_LEN`] bytes of every payload of a run with `[consume]`, written
//! by the producer and read back by the run's own consumers. It carries what end-to-end latency
//! and the delivery check need, in the payload itself so the message size stays exactly the
//! scenario's (the payload bytes after the stamp are the pool's as usual) and no header is
//! allocated per message:
//!
//! | bytes  | field                                                                 |
//! |--------|-----------------------------------------------------------------------|
//! | 0..8   | the run's tag: a random number per run, with the shard index mixed in |
//! | 8..16  | the worker (its index in the shard's plan, 24 bits) and its message number (40 bits) |
//! | 16..24 | due instant, µs since the run's t0 (monotonic clock)                  |
//! | 24..32 | enqueue instant, µs since t0 (of the last try, after `QueueFull`)     |
//!
//! All little-endian. The consumer runs in the same process as the producer, on the same
//! monotonic clock, so no clock skew between machines enters the figure; a sharded run's shards
//! each read back only their own stamps.

/// Bytes of a stamp.
pub const STAMP_LEN: usize = 32;
/// The largest message number a stamp holds (40 bits).
pub const MAX_SEQ: u64 = (1 << 40) - 1;

/// What a stamp says about one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub tag: u64,
    /// The worker's index in its shard's plan.
    pub worker: u32,
    /// The worker's message number (0, 1, 2, ...).
    pub seq: u64,
    pub due_us: u64,
    pub enqueue_us: u64,
}

/// The tag of one run's shard.
pub fn tag(run_random: u64, shard: u32) -> u64 {
    // The shard index is mixed in by multiplication with an odd constant, so two shards of one
    // run never share a tag.
    run_random ^ (shard as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl Stamp {
    /// Writes the stamp over the first [`STAMP_LEN`] bytes of `buf` (which must be that long).
    #[inline]
    pub fn write(&self, buf: &mut [u8]) {
        let id = ((self.worker as u64) << 40) | (self.seq & MAX_SEQ);
        buf[0..8].copy_from_slice(&self.tag.to_le_bytes());
        buf[8..16].copy_from_slice(&id.to_le_bytes());
        buf[16..24].copy_from_slice(&self.due_us.to_le_bytes());
        buf[24..32].copy_from_slice(&self.enqueue_us.to_le_bytes());
    }

    /// Reads a stamp of run `tag` from a payload: `None` for a payload too short or of another
    /// run (or another shard).
    #[inline]
    pub fn read(payload: &[u8], tag: u64) -> Option<Stamp> {
        let word = |i: usize| u64::from_le_bytes(payload[i..i + 8].try_into().unwrap());
        if payload.len() < STAMP_LEN || word(0) != tag {
            return None;
        }
        let id = word(8);
        Some(Stamp {
            tag,
            worker: (id >> 40) as u32,
            seq: id & MAX_SEQ,
            due_us: word(16),
            enqueue_us: word(24),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_runs() {
        let s = Stamp {
            tag: tag(0xdead_beef, 3),
            worker: 4095,
            seq: 123_456_789,
            due_us: 5_000_000,
            enqueue_us: 5_000_017,
        };
        let mut buf = vec![7u8; 100];
        s.write(&mut buf);
        assert_eq!(Stamp::read(&buf, s.tag), Some(s));
        assert_eq!(&buf[STAMP_LEN..], &[7u8; 100 - STAMP_LEN][..]);
        assert_eq!(Stamp::read(&buf, tag(0xdead_beef, 2)), None);
        assert_eq!(Stamp::read(&buf[..31], s.tag), None);
        assert_ne!(tag(1, 0), tag(1, 1));
    }
}
