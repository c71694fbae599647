//! A worker's side of an external engine (`crate::engine`): the engine's standard input, where
//! each message goes as one line of kbench.engine/v1 (`crate::engine::protocol`, whose encoder
//! this writes with). The engine's answers come back on its own thread into the instance's
//! [`Context`], as librdkafka's delivery reports do.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::Context;

/// What a worker needs to hand messages to an engine.
pub struct EngineLink {
    /// The engine's standard input, and the line being written (reused).
    input: Mutex<(Box<dyn Write + Send>, Vec<u8>)>,
    /// The instance's context: the recorder its answers go into, the sync slots.
    pub context: Arc<Context>,
    /// The payload pool sent to the engine once: (address, length). A payload inside it goes as
    /// a slice; any other (stamped, scrambled) goes inline.
    pool: (usize, usize),
    /// Flush after every line (a paced run: each message leaves at its due instant); an unpaced
    /// run flushes when the buffer fills.
    eager: bool,
    /// Set once a write failed: the engine is gone.
    gone: AtomicBool,
}

/// The name a message sent to a gone engine fails under.
pub const ENGINE_GONE: &str = "_ENGINE_GONE";

impl EngineLink {
    pub fn new(
        input: Box<dyn Write + Send>,
        context: Arc<Context>,
        pool: &[u8],
        eager: bool,
    ) -> EngineLink {
        EngineLink {
            input: Mutex::new((input, Vec::with_capacity(256))),
            context,
            pool: (pool.as_ptr() as usize, pool.len()),
            eager,
            gone: AtomicBool::new(false),
        }
    }

    /// Where a payload is: in the pool (offset, length), or not.
    pub fn in_pool(&self, payload: &[u8]) -> Option<(usize, usize)> {
        let start = payload.as_ptr() as usize;
        let (base, len) = self.pool;
        (start >= base && start + payload.len() <= base + len)
            .then(|| (start - base, payload.len()))
    }

    /// Writes bytes (whole lines) to the engine; false once it is gone.
    pub fn write(&self, bytes: &[u8], flush: bool) -> bool {
        if self.gone.load(Ordering::Relaxed) {
            return false;
        }
        let mut input = self.input.lock().unwrap_or_else(|p| p.into_inner());
        self.put(&mut input.0, bytes, flush)
    }

    /// Writes under the lock; the first failure marks the engine gone.
    fn put(&self, w: &mut Box<dyn Write + Send>, bytes: &[u8], flush: bool) -> bool {
        let ok = w.write_all(bytes).is_ok() && (!(flush || self.eager) || w.flush().is_ok());
        if !ok {
            self.gone.store(true, Ordering::Relaxed);
        }
        ok
    }

    /// Hands one message to the engine (a slice of the pool when the payload is in it); false
    /// when the engine is gone.
    #[allow(clippy::too_many_arguments)]
    pub fn send(
        &self,
        id: u64,
        due_us: u64,
        slot: usize,
        topic: usize,
        partition: Option<i32>,
        key: Option<&[u8]>,
        payload: &[u8],
    ) -> bool {
        use crate::engine::protocol::{message_line, Payload};
        if self.gone.load(Ordering::Relaxed) {
            return false;
        }
        let where_ = match self.in_pool(payload) {
            Some((offset, len)) => Payload::Pool { offset, len },
            None => Payload::Inline(payload),
        };
        let mut input = self.input.lock().unwrap_or_else(|p| p.into_inner());
        let (w, line) = &mut *input;
        line.clear();
        message_line(line, id, due_us, slot, topic, partition, key, where_);
        self.put(w, line, false)
    }

    /// Whether a write ever failed.
    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Relaxed)
    }
}
