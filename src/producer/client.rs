//! A producer instance and its delivery thread.
//!
//! rdkafka's `ThreadedProducer` hands delivery reports to the context one message at a time: per
//! message it builds a `BorrowedMessage`, clones an `Arc`, and kbench then read the clock, locked
//! the recorder and bumped two atomics: at millions of messages per second that thread was a
//! large share of kbench's CPU (docs/performance.md).
//!
//! librdkafka delivers reports in events, one per produce response: every message of an event was
//! acknowledged by the same response, at the same instant. So kbench's own delivery thread polls
//! the client's main queue and records an event's messages together: one clock reading, one shard
//! lock and one counter update per event. That is also more exact: reading the clock per message
//! dated the last message of a large event late, by the time spent recording the others.
//!
//! Statistics and error events are handed to the context as rdkafka would (log lines reach it
//! through librdkafka's log callback, not the queue). Reports the thread has not picked up when
//! the client is dropped go through rdkafka's own path ([`super::Context`]'s `delivery`), which
//! records the same way.

use std::ffi::CStr;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use rdkafka::bindings as rd;
use rdkafka::error::KafkaError;
use rdkafka::producer::BaseProducer;
use rdkafka::ClientContext;

use super::Context;

/// How long one poll of the main queue waits for an event.
const POLL_MS: i32 = 100;

/// A producer instance: rdkafka's `BaseProducer` with kbench's delivery thread.
pub struct Client {
    producer: Arc<BaseProducer<Context>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Client {
    /// Starts the delivery thread of `producer`; `name` names the thread.
    pub fn start(producer: BaseProducer<Context>, name: String) -> std::io::Result<Client> {
        let producer = Arc::new(producer);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (producer, stop) = (producer.clone(), stop.clone());
            std::thread::Builder::new()
                .name(name)
                .spawn(move || deliver(&producer, &stop))?
        };
        Ok(Client {
            producer,
            stop,
            thread: Some(thread),
        })
    }
}

impl Client {
    /// Purges every message still queued or in flight: each gets a delivery report with
    /// `_PURGE_QUEUE` or `_PURGE_INFLIGHT`, which the delivery thread records as unresolved.
    pub fn purge_outstanding(&self) {
        use rdkafka::producer::Producer as _;
        let flags = rd::RD_KAFKA_PURGE_F_QUEUE | rd::RD_KAFKA_PURGE_F_INFLIGHT;
        // SAFETY: a live producer handle; rd_kafka_purge only fails on invalid flags.
        let err = unsafe { rd::rd_kafka_purge(self.producer.client().native_ptr(), flags) };
        if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            tracing::error!("rd_kafka_purge failed: {err:?}");
        }
    }
}

/// A failed transactional call, as librdkafka classifies it.
#[derive(Debug, Clone)]
pub struct TxnError {
    pub message: String,
    pub fatal: bool,
    pub retriable: bool,
    pub requires_abort: bool,
}

impl std::fmt::Display for TxnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Client {
    /// `rd_kafka_commit_transaction`, called directly: it flushes the transaction's messages
    /// while this client's delivery thread serves their reports. (rdkafka's wrapper first
    /// flushes by polling the same queue itself, and each of its polls waits up to 100 ms for
    /// events the delivery thread takes: a commit measured through it was 100 ms too slow.)
    pub fn commit_transaction_now(&self, timeout: std::time::Duration) -> Result<(), TxnError> {
        use rdkafka::producer::Producer as _;
        // SAFETY: a live producer handle; the returned error (if any) is ours to destroy.
        unsafe {
            txn_result(rd::rd_kafka_commit_transaction(
                self.producer.client().native_ptr(),
                timeout.as_millis().min(i32::MAX as u128) as i32,
            ))
        }
    }

    /// `rd_kafka_abort_transaction`, with its error classified.
    pub fn abort_transaction_now(&self, timeout: std::time::Duration) -> Result<(), TxnError> {
        use rdkafka::producer::Producer as _;
        // SAFETY: as above.
        unsafe {
            txn_result(rd::rd_kafka_abort_transaction(
                self.producer.client().native_ptr(),
                timeout.as_millis().min(i32::MAX as u128) as i32,
            ))
        }
    }
}

/// Reads and destroys a transactional call's `rd_kafka_error_t` (null means success).
///
/// # Safety
/// `err` is null or an error returned by librdkafka that nothing else owns.
unsafe fn txn_result(err: *mut rd::rd_kafka_error_t) -> Result<(), TxnError> {
    if err.is_null() {
        return Ok(());
    }
    let message = CStr::from_ptr(rd::rd_kafka_error_string(err))
        .to_string_lossy()
        .into_owned();
    let e = TxnError {
        message,
        fatal: rd::rd_kafka_error_is_fatal(err) != 0,
        retriable: rd::rd_kafka_error_is_retriable(err) != 0,
        requires_abort: rd::rd_kafka_error_txn_requires_abort(err) != 0,
    };
    rd::rd_kafka_error_destroy(err);
    Err(e)
}

impl crate::broker::MetadataSource for Client {
    fn fetch_metadata(
        &self,
        timeout: std::time::Duration,
    ) -> rdkafka::error::KafkaResult<rdkafka::metadata::Metadata> {
        use rdkafka::producer::Producer as _;
        self.producer.client().fetch_metadata(None, timeout)
    }

    fn fatal_error(&self) -> Option<String> {
        use rdkafka::producer::Producer as _;
        self.producer.context().fatal_error()
    }
}

impl Deref for Client {
    type Target = BaseProducer<Context>;
    fn deref(&self) -> &Self::Target {
        &self.producer
    }
}

impl Drop for Client {
    /// Stops the delivery thread; the producer itself (purge, last flush) goes with the last `Arc`.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A queue handle released on drop.
struct Queue(*mut rd::rd_kafka_queue_t);

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: the handle came from rd_kafka_queue_get_main and is released once.
        unsafe { rd::rd_kafka_queue_destroy(self.0) }
    }
}

/// The delivery thread: serves the client's main queue until `stop`.
fn deliver(producer: &BaseProducer<Context>, stop: &AtomicBool) {
    use rdkafka::producer::Producer;
    let ctx: &Context = producer.context();
    // SAFETY: the client outlives this thread (the thread holds an `Arc` of the producer).
    let queue = Queue(unsafe { rd::rd_kafka_queue_get_main(producer.client().native_ptr()) });
    while !stop.load(Ordering::Acquire) {
        // SAFETY: the queue handle is valid until `queue` drops.
        let ev = unsafe { rd::rd_kafka_queue_poll(queue.0, POLL_MS) };
        if ev.is_null() {
            continue;
        }
        // SAFETY: `ev` is a live event until destroyed below; its accessors match its type.
        let kind = unsafe { rd::rd_kafka_event_type(ev) };
        unsafe {
            match kind {
                rd::RD_KAFKA_EVENT_DR => ctx.deliveries(ev),
                rd::RD_KAFKA_EVENT_STATS => {
                    ctx.stats_raw(CStr::from_ptr(rd::rd_kafka_event_stats(ev)).to_bytes())
                }
                rd::RD_KAFKA_EVENT_ERROR => {
                    let error = KafkaError::Global(rd::rd_kafka_event_error(ev).into());
                    let reason = CStr::from_ptr(rd::rd_kafka_event_error_string(ev));
                    ctx.error(error, reason.to_string_lossy().trim());
                }
                _ => {}
            }
            rd::rd_kafka_event_destroy(ev);
        }
        // Destroying the reports' messages made room in the queue.
        if kind == rd::RD_KAFKA_EVENT_DR {
            ctx.room.freed();
        }
    }
}
