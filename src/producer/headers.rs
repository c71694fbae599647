//! The scenario's headers on every message: names `kbench-0`, `kbench-1`, ... with fixed random
//! values, built once per worker.

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
