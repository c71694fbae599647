//! The unpaced worker loop (`rate = "max"`): messages go to librdkafka in batches of
//! [`BATCH`] through `rd_kafka_produce_batch`.
//!
//! Per message, `rd_kafka_produce` reads the monotonic clock twice and the wall clock once and
//! takes the topic lock, and kbench read the clock once more for the enqueue instant. On this
//! machine a clock reading costs 25 ns and those readings were a quarter of the worker's time.
//! A batch call takes the lock and reads the clocks once for all its messages; kbench reads the
//! clock once per batch, just before the call, and that reading is every message's enqueue (and,
//! unpaced, due) instant. A batch of 64 is enqueued within about 15 µs, so a message's service
//! latency is overstated by at most that (never understated), against latencies of milliseconds
//! at this load.
//!
//! Everything else is as in the per-message loop: warm-up is decided by the enqueue instant, a
//! count stop is exact (a batch never holds more messages than are left to send), `QueueFull`
//! pauses and retries the rest of the batch with a fresh enqueue instant, and other refusals fail
//! the message at once by its error name.

use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::Ordering;

use rdkafka::bindings as rd;
use rdkafka::types::RDKafkaErrorCode;

use super::handle::TopicHandle;
use super::worker::Sink;
use super::worker::{queue_full_pause, Worker};
use super::{error_name, opaque};
use crate::pacing::WorkerStop;
use crate::recorder::SendStats;

/// Messages per `rd_kafka_produce_batch` call.
pub const BATCH: usize = 64;
/// The longest key a [`crate::payload::KeyGen`] writes.
const KEY_MAX: usize = 20;

impl Worker {
    /// Runs an unpaced, asynchronous worker without headers whose payloads librdkafka may point
    /// at (see [`Worker::batchable`]) to its stop condition.
    pub(super) fn run_batched(&mut self, handle: &TopicHandle, stats: &mut SendStats) {
        let empty = rd::rd_kafka_message_t {
            err: rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR,
            rkt: ptr::null_mut(),
            partition: -1,
            payload: ptr::null_mut(),
            len: 0,
            key: ptr::null_mut(),
            key_len: 0,
            offset: 0,
            _private: ptr::null_mut(),
        };
        let mut msgs = [empty; BATCH];
        // Each message's key number, for the distinct-key count.
        let mut key_numbers = [None; BATCH];
        let mut keys = [0u8; BATCH * KEY_MAX];
        let (mut measured_sent, mut total, mut seq_index) = (0u64, 0u64, 0u64);
        loop {
            if self.stop.is_stopped() {
                break;
            }
            let mut now_us = self.clock.now_us();
            let n = match self.plan.stop {
                WorkerStop::Until { end_ns } if now_us * 1000 >= end_ns => break,
                WorkerStop::Count(limit) => {
                    (limit.saturating_sub(measured_sent) as usize).min(BATCH)
                }
                _ => BATCH,
            };
            if n == 0 {
                break;
            }
            self.fill(&mut msgs[..n], &mut key_numbers, &mut keys, &mut seq_index);
            // Enqueue, then retry whatever `QueueFull` refused with a fresh enqueue instant.
            let mut from = 0;
            while from < n {
                let packed = opaque::pack(now_us, 0) as *mut c_void;
                for m in &mut msgs[from..n] {
                    m._private = packed;
                }
                let room = self.sink.context().room.generation();
                handle.produce_batch(&mut msgs[from..n]);
                let measured = now_us * 1000 >= self.plan.warmup_end_ns;
                let mut full_at = None;
                for (j, m) in msgs.iter().enumerate().take(n).skip(from) {
                    let rejected = match m.err {
                        rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR => None,
                        rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__QUEUE_FULL => {
                            full_at = Some(j);
                            break;
                        }
                        err => Some(error_name(RDKafkaErrorCode::from(err))),
                    };
                    let bytes = (m.len + m.key_len) as u64;
                    stats.count_sent(measured, now_us, 0, bytes, self.interval_us);
                    if measured {
                        measured_sent += 1;
                        stats.produced.count(m.len as u64, key_numbers[j]);
                        stats.phases.sent(now_us, now_us);
                    }
                    total += 1;
                    if let Some(kind) = rejected {
                        stats.rejected(measured, kind, 0);
                    }
                }
                self.live_sent.0.store(total, Ordering::Relaxed);
                match full_at {
                    None => break,
                    Some(j) => {
                        let Sink::Rdkafka(client) = &self.sink else {
                            return;
                        };
                        if !queue_full_pause(client, stats, &self.stop, room) {
                            return;
                        }
                        from = j;
                        now_us = self.clock.now_us();
                    }
                }
            }
        }
    }

    /// Fills the next messages of a batch: payload, partition and key (copied into `keys`, one
    /// slot of [`KEY_MAX`] per message), each key's number into `key_numbers`.
    fn fill(
        &mut self,
        msgs: &mut [rd::rd_kafka_message_t],
        key_numbers: &mut [Option<u64>; BATCH],
        keys: &mut [u8; BATCH * KEY_MAX],
        seq_index: &mut u64,
    ) {
        // Batched workers' payloads live in the pool, never in the scratch buffer (see
        // `Worker::batchable`): librdkafka points at them after this returns.
        debug_assert!(!self.payloads.uses_scratch());
        let mut scratch = Vec::new();
        for (j, m) in msgs.iter_mut().enumerate() {
            let seq = *seq_index * self.workers as u64 + self.index as u64;
            *seq_index += 1;
            let payload = self.payloads.payload(self.rng.next_u64(), &mut scratch);
            m.err = rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR;
            m.partition = self.partition.of(seq).unwrap_or(-1);
            m.payload = payload.as_ptr() as *mut c_void;
            m.len = payload.len();
            key_numbers[j] = match self.keys.key(seq, &mut self.rng) {
                Some((number, key)) => {
                    let slot = &mut keys[j * KEY_MAX..j * KEY_MAX + key.len()];
                    slot.copy_from_slice(key);
                    m.key = slot.as_mut_ptr() as *mut c_void;
                    m.key_len = key.len();
                    Some(number)
                }
                None => {
                    m.key = ptr::null_mut();
                    m.key_len = 0;
                    None
                }
            };
        }
    }
}
