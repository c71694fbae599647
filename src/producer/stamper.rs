//! With `[consume]`: the stamp ([`crate::stamp`]) written over the start of a copy of each
//! message's payload, so the consumers can match what they read to what was sent.

/// Writes the [`crate::stamp`] of each message over the start of a copy of its payload: one
/// `memcpy` per message into a buffer the worker keeps, no allocation.
#[derive(Debug)]
pub struct Stamper {
    tag: u64,
    worker: u32,
    buf: Vec<u8>,
}

impl Stamper {
    /// Stamps for the worker at `worker` in its shard's plan, of run tag `tag`.
    pub fn new(tag: u64, worker: u32) -> Self {
        Stamper {
            tag,
            worker,
            buf: Vec::new(),
        }
    }

    pub(super) fn load(&mut self, payload: &[u8]) {
        self.buf.clear();
        self.buf.extend_from_slice(payload);
    }

    /// The loaded payload with the stamp of message `seq` (payloads are validated to hold it).
    #[inline]
    pub(super) fn stamped(&mut self, seq: u64, due_us: u64, enqueue_us: u64) -> &[u8] {
        if self.buf.len() >= crate::stamp::STAMP_LEN {
            crate::stamp::Stamp {
                tag: self.tag,
                worker: self.worker,
                seq,
                due_us,
                enqueue_us,
            }
            .write(&mut self.buf);
        }
        &self.buf
    }
}
