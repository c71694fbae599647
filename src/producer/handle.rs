//! The fast path into librdkafka: `rd_kafka_produce` on a topic handle the worker keeps.
//!
//! rdkafka's `BaseProducer::send` names the topic on every call: it allocates a C string and
//! librdkafka looks the topic up under the client's write lock, which workers then contend on.
//! That was a third of kbench's per-message cost next to `rdkafka_performance`, which keeps a
//! handle. Messages with headers still go through `send` (`rd_kafka_produce` has no headers).
//!
//! The delivery opaque is passed the way rdkafka passes a `usize` opaque (as the pointer value),
//! so delivery reports reach [`super::Context::delivery`] unchanged.

use std::ffi::{c_void, CString};
use std::ptr;

use rdkafka::bindings as rd;
use rdkafka::producer::Producer;
use rdkafka::types::RDKafkaErrorCode;

use super::Client;

/// A topic handle of one producer client, released on drop (the worker also holds the client).
pub struct TopicHandle {
    rkt: *mut rd::rd_kafka_topic_t,
}

impl TopicHandle {
    /// A handle for `topic` on `client`, or `None` if librdkafka refuses one.
    pub fn new(client: &Client, topic: &str) -> Option<TopicHandle> {
        let name = CString::new(topic).ok()?;
        // SAFETY: the client pointer is valid while `client` lives; librdkafka copies the name.
        let rkt = unsafe {
            rd::rd_kafka_topic_new(client.client().native_ptr(), name.as_ptr(), ptr::null_mut())
        };
        (!rkt.is_null()).then_some(TopicHandle { rkt })
    }

    /// Enqueues a message; `partition` -1 lets the configured partitioner choose. The key is
    /// always copied. The payload is copied when `copy` is set; otherwise librdkafka keeps a
    /// pointer to it, so it must stay valid and unchanged until the client is destroyed (payload
    /// pools are kept alive by the client's context: see `Context::keep`). This is what
    /// rdkafka_performance does by default.
    #[inline]
    pub fn produce(
        &self,
        partition: i32,
        payload: &[u8],
        copy: bool,
        key: Option<&[u8]>,
        opaque: usize,
    ) -> Result<(), RDKafkaErrorCode> {
        let (key_ptr, key_len) = key.map_or((ptr::null(), 0), |k| (k.as_ptr(), k.len()));
        let flags = if copy { rd::RD_KAFKA_MSG_F_COPY } else { 0 };
        // SAFETY: the handle is valid until drop. librdkafka copies the key, and the payload with
        // F_COPY; without it the caller guarantees the payload outlives the client (see above).
        let r = unsafe {
            rd::rd_kafka_produce(
                self.rkt,
                partition,
                flags,
                payload.as_ptr() as *mut c_void,
                payload.len(),
                key_ptr as *const c_void,
                key_len,
                opaque as *mut c_void,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            // SAFETY: reads the calling thread's last librdkafka error.
            Err(RDKafkaErrorCode::from(unsafe { rd::rd_kafka_last_error() }))
        }
    }

    /// Enqueues a batch in one call (`rd_kafka_produce_batch`): librdkafka takes the topic lock
    /// and reads its clocks once for the batch instead of once per message. Each message's
    /// `partition` is used (-1 lets the partitioner choose); payloads are not copied (the same
    /// contract as [`TopicHandle::produce`] without `copy`), keys are. Every message's `err`
    /// says how it went; after the first `QueueFull` all later ones answer `QueueFull` too.
    pub fn produce_batch(&self, msgs: &mut [rd::rd_kafka_message_t]) {
        let Ok(n) = i32::try_from(msgs.len()) else {
            return;
        };
        // SAFETY: the handle is valid until drop; the messages point at live keys (copied by
        // librdkafka during the call) and at payloads that outlive the client (see `produce`).
        unsafe {
            rd::rd_kafka_produce_batch(
                self.rkt,
                -1,
                rd::RD_KAFKA_MSG_F_PARTITION,
                msgs.as_mut_ptr(),
                n,
            );
        }
    }
}

impl Drop for TopicHandle {
    fn drop(&mut self) {
        // SAFETY: releases the reference taken by rd_kafka_topic_new, once.
        unsafe { rd::rd_kafka_topic_destroy(self.rkt) }
    }
}
