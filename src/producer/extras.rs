//! What a message carries besides its pool payload: the scenario's headers, and with
//! `[consume]` the stamp written over the start of a copy of the payload.

use rdkafka::message::{Header, OwnedHeaders};

use crate::rng::Rng;

/// The headers of every message: names `kbench-0`, `kbench-1`, ... and fixed random values.
#[derive(Debug, Default)]
pub struct HeaderSet {
    pub names: Vec<String>,
    pub values: Vec<Vec<u8>>,
}

impl HeaderSet {
    pub fn new(h: &crate::scenario::Headers, seed: u64) -> Self {
        let mut rng = Rng::new(seed ^ 0x4845_4144);
        HeaderSet {
            names: (0..h.count).map(|i| format!("kbench-{i}")).collect(),
            values: (0..h.count)
                .map(|_| (0..h.size.0).map(|_| rng.next_u64() as u8).collect())
                .collect(),
        }
    }

    pub(super) fn owned(&self) -> Option<OwnedHeaders> {
        if self.names.is_empty() {
            return None;
        }
        let mut h = OwnedHeaders::new_with_capacity(self.names.len());
        for (key, value) in self.names.iter().zip(&self.values) {
            h = h.insert(Header {
                key,
                value: Some(value.as_slice()),
            });
        }
        Some(h)
    }
}

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
