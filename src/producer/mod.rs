//! Producers: librdkafka clients and the delivery path back into the recorder.
//!
//! ## How librdkafka produces
//! `send` never blocks: it copies the message into the client's local queue (bounded by
//! `queue.buffering.max.messages` / `.kbytes`) and returns. Background threads group queued
//! messages into per-partition batches (closed by `linger.ms`, `batch.size`, `batch.num.messages`),
//! compress them, and send produce requests, at most `max.in.flight` per broker connection. When
//! the broker answers (after `acks` replicas have the batch; with `acks=0` as soon as the request is
//! written), librdkafka queues one **delivery report** per message, in one event per produce
//! response, and the instance's delivery thread ([`client`]) records the event's messages at once.
//! A message not acked within `message.timeout.ms` (retries included) fails with `_MSG_TIMED_OUT`.
//!
//! When the local queue is full, `send` answers `QueueFull` at once: that is back-pressure. kbench
//! counts each such answer, waits a moment and tries the same message again; the time spent waiting
//! shows up as send lag and, at a fixed rate, in corrected latency.
//!
//! ## Modes
//! - **async**: workers send without waiting; outcomes come back through delivery reports whose
//!   opaque carries the message's due and enqueue instants ([`opaque`]), so no per-message state.
//! - **sync**: each worker has one message in flight (or, with `sync_batch = N`, a batch of N:
//!   sarama's `SendMessages`); the opaque is the message's place in the worker's slot, and the
//!   last delivery report of the batch wakes the worker (sarama's SyncProducer). Its latency is a
//!   closed-loop round trip.
//! - **fire-and-forget**: async with `acks=0`; a "delivery" means the request was written.

pub mod batch;
pub mod client;
pub mod engine_link;
pub mod handle;
pub mod headers;
pub mod opaque;
mod room;
mod stamper;
pub mod txn;
pub mod worker;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rdkafka::bindings as rd;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Message};
use tokio::sync::Notify;

use crate::event::Event;
pub use crate::kafka_error::error_name;
use crate::pacing::Clock;
use crate::recorder::stats::StatsReport;
use crate::recorder::{InstanceRecorder, Outcome, Sample, TXN_ABORTED};
use crate::scenario::Mode;

pub use client::Client;

/// The messages in flight of a sync worker: one batch of `sync_batch` places.
#[derive(Debug)]
pub struct SyncSlot {
    pub due_us: Box<[AtomicU64]>,
    pub enqueue_us: Box<[AtomicU64]>,
    /// Messages of the batch enqueued and not yet reported.
    pub outstanding: AtomicU64,
    /// Woken when `outstanding` drops to 0.
    pub done: Notify,
}

impl SyncSlot {
    fn new(batch: usize) -> Self {
        let zeros = || (0..batch.max(1)).map(|_| AtomicU64::new(0)).collect();
        SyncSlot {
            due_us: zeros(),
            enqueue_us: zeros(),
            outstanding: AtomicU64::new(0),
            done: Notify::new(),
        }
    }

    /// One of the batch reported: wakes the worker after the last.
    fn reported(&self) {
        if self.outstanding.fetch_sub(1, Ordering::AcqRel) <= 1 {
            self.done.notify_one();
        }
    }
}

/// Most statistics reports kept per instance.
const MAX_REPORTS: usize = 100_000;

/// Most distinct client events kept per instance; repeats of the last event only bump its count.
const MAX_EVENTS: usize = 200;

/// Delivery context of one producer instance: owns that instance's recorder shard.
pub struct Context {
    /// Set when the load starts; delivery reports before that (there are none) read 0.
    clock: OnceLock<Clock>,
    mode: Mode,
    shard: Mutex<InstanceRecorder>,
    slots: Vec<SyncSlot>,
    /// Places per sync slot (`producer.sync_batch`).
    batch: usize,
    /// Topic name -> index, with more than one topic (empty otherwise: every report is topic 0).
    topic_index: std::collections::HashMap<String, u32>,
    /// Delivery reports so far (acks, warm-up included), for the live progress line.
    pub acked: AtomicU64,
    /// `QueueFull` answers to this instance's sends (live; the result counts them per worker).
    pub queue_full: AtomicU64,
    /// Failed delivery reports so far (warm-up included).
    pub failed: AtomicU64,
    /// Purge reports so far: messages still unresolved when the grace ended (warm-up included).
    pub unresolved: AtomicU64,
    /// Reports of messages of aborted transactions so far.
    pub aborted: AtomicU64,
    /// Messages in the delivery-report events so far, as librdkafka counts them
    /// (`rd_kafka_event_message_count`), apart from kbench's own iteration and classification:
    /// the independent side the run checks the recorder against.
    pub dr_messages: AtomicU64,
    /// Set while the open transaction is one that will be aborted (see [`txn`]): its reports
    /// are marked aborted.
    pub aborting: std::sync::atomic::AtomicBool,
    events: Mutex<Vec<Event>>,
    /// librdkafka's statistics reports (every `statistics.interval.ms`), at most
    /// [`MAX_REPORTS`] (a day of reports at 1 s).
    stats: Mutex<Vec<StatsReport>>,
    /// Payload memory librdkafka may point at (produced without copying): dropped with the
    /// context, which rdkafka drops after destroying the client, so it outlives every message.
    kept: Mutex<Vec<Arc<crate::payload::Payloads>>>,
    /// Room in the local queue, for the workers that got `QueueFull`.
    pub room: room::Room,
}

/// What kbench keeps of librdkafka's statistics: the numbers that explain the results.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ClientStats {
    /// Bytes written to brokers (all requests, after compression).
    pub tx_bytes: i64,
    /// Message bytes produced, with framing, before compression.
    pub txmsg_bytes: i64,
    /// Messages produced.
    pub txmsgs: i64,
    /// Produce requests sent.
    pub tx: i64,
}

impl Context {
    /// `sync_workers` slots of `sync_batch` places each (sync mode).
    pub fn new(
        mode: Mode,
        shard: InstanceRecorder,
        sync_workers: usize,
        sync_batch: usize,
    ) -> Self {
        Context {
            clock: OnceLock::new(),
            mode,
            shard: Mutex::new(shard),
            slots: (0..sync_workers)
                .map(|_| SyncSlot::new(sync_batch))
                .collect(),
            batch: sync_batch.max(1),
            topic_index: std::collections::HashMap::new(),
            acked: AtomicU64::new(0),
            queue_full: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            unresolved: AtomicU64::new(0),
            aborted: AtomicU64::new(0),
            dr_messages: AtomicU64::new(0),
            aborting: std::sync::atomic::AtomicBool::new(false),
            events: Mutex::new(Vec::new()),
            stats: Mutex::new(Vec::new()),
            kept: Mutex::new(Vec::new()),
            room: room::Room::default(),
        }
    }

    /// The run's topics, in order (reports are counted by topic when there are several).
    pub fn with_topics(mut self, names: &[String]) -> Self {
        if names.len() > 1 {
            self.topic_index = names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), i as u32))
                .collect();
        }
        self
    }

    /// The index of a topic by name (0 when unknown or with one topic).
    #[inline]
    fn topic_of(&self, name: &str) -> u32 {
        if self.topic_index.is_empty() {
            return 0;
        }
        self.topic_index.get(name).copied().unwrap_or(0)
    }

    /// Keeps `payloads` alive as long as this client (see the field).
    pub fn keep(&self, payloads: Arc<crate::payload::Payloads>) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if !kept.iter().any(|k| Arc::ptr_eq(k, &payloads)) {
            kept.push(payloads);
        }
    }

    /// Starts this instance's clock (once; later calls are ignored).
    pub fn start(&self, clock: Clock) {
        let _ = self.clock.set(clock);
    }

    #[inline]
    fn now_us(&self) -> u64 {
        self.clock.get().map_or(0, Clock::now_us)
    }

    pub fn slot(&self, index: usize) -> &SyncSlot {
        &self.slots[index]
    }

    /// The opaque of place `pos` of sync slot `slot`.
    #[inline]
    pub fn sync_opaque(&self, slot: usize, pos: usize) -> usize {
        slot * self.batch + pos
    }

    /// Runs `f` on the shard (progress reads, final snapshot).
    pub fn with_recorder<T>(&self, f: impl FnOnce(&mut InstanceRecorder) -> T) -> T {
        let mut guard = self.shard.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// The latest statistics librdkafka reported, if any.
    pub fn stats(&self) -> Option<ClientStats> {
        let reports = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        reports.last().map(|r| ClientStats {
            tx_bytes: r.tx_bytes,
            txmsg_bytes: r.txmsg_bytes,
            txmsgs: r.txmsgs,
            tx: r.requests,
        })
    }

    /// Takes the statistics reports so far.
    pub fn take_reports(&self) -> Vec<StatsReport> {
        std::mem::take(&mut *self.stats.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A client error that retrying cannot cure: failed authentication, or a TLS handshake or
    /// certificate failure.
    pub fn fatal_error(&self) -> Option<String> {
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        events
            .iter()
            .find(|e| e.detail.starts_with("_AUTHENTICATION") || e.detail.starts_with("_SSL"))
            .map(|e| e.detail.clone())
    }

    /// Takes the client events recorded so far.
    pub fn take_events(&self) -> Vec<Event> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn push_event(&self, kind: crate::event::EventKind, detail: String) {
        let t_s = self.now_us() as f64 / 1e6;
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(last) = events.last_mut() {
            if last.kind == kind && last.detail == detail {
                last.repeats += 1;
                return;
            }
        }
        if events.len() < MAX_EVENTS {
            events.push(Event {
                t_s: (t_s * 1000.0).round() / 1000.0,
                kind,
                detail,
                repeats: 0,
                recovery_s: None,
            });
        }
    }
}

/// The error name of a failed send or delivery.
pub fn kafka_error_name(e: &KafkaError) -> &'static str {
    e.rdkafka_error_code().map_or("CLIENT_ERROR", error_name)
}

impl ClientContext for Context {
    /// librdkafka's own log lines go to `KBENCH_LOG=debug`; its errors are kept as events.
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        tracing::debug!(target: "librdkafka", "{level:?} {fac}: {message}");
    }

    /// Reads only what kbench uses of the statistics JSON (see `recorder::stats`), on the
    /// delivery thread, once per `statistics.interval.ms`.
    fn stats_raw(&self, json: &[u8]) {
        if let Some(r) = crate::recorder::stats::parse(json, self.now_us()) {
            let mut reports = self.stats.lock().unwrap_or_else(|p| p.into_inner());
            if reports.len() < MAX_REPORTS {
                reports.push(r);
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!("librdkafka: {error}: {reason}");
        self.push_event(
            crate::event::EventKind::ClientError,
            format!("{}: {reason}", kafka_error_name(&error)),
        );
    }
}

impl ProducerContext for Context {
    type DeliveryOpaque = usize;

    /// rdkafka's per-message path: used only for reports the delivery thread did not pick up
    /// before the client was dropped (see [`client`]).
    fn delivery(&self, result: &DeliveryResult<'_>, opaque: usize) {
        let done_us = self.now_us();
        let (bytes, error, partition, topic) = match result {
            _ if self.aborting.load(Ordering::Acquire) => (0, Some(TXN_ABORTED), -1, 0),
            Ok(m) => (msg_bytes(m), None, m.partition(), self.topic_of(m.topic())),
            Err((e, m)) => (msg_bytes(m), Some(kafka_error_name(e)), -1, 0),
        };
        self.dr_messages.fetch_add(1, Ordering::Relaxed);
        let mut sample = self.sample(opaque, done_us, bytes, error, partition);
        sample.topic = topic;
        self.with_recorder(|s| s.record(&sample));
        self.resolved(Outcome::of(error));
        if self.mode == Mode::Sync {
            self.slots[opaque / self.batch].reported();
        }
    }
}

impl Context {
    /// Records every delivery report of one librdkafka DR event: messages acknowledged by one
    /// produce response, so one clock reading and one shard lock serve them all.
    ///
    /// # Safety
    /// `ev` must be a live `RD_KAFKA_EVENT_DR` event of this context's client.
    pub(crate) unsafe fn deliveries(&self, ev: *mut rd::rd_kafka_event_t) {
        let done_us = self.now_us();
        self.dr_messages.fetch_add(
            rd::rd_kafka_event_message_count(ev) as u64,
            Ordering::Relaxed,
        );
        let mut counts = [0u64; 4];
        let aborting = self.aborting.load(Ordering::Acquire);
        // The topic of the last message's handle: the messages of one event share it.
        let mut last_topic: (*mut rd::rd_kafka_topic_t, u32) = (std::ptr::null_mut(), 0);
        {
            let mut shard = self.shard.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                let m = rd::rd_kafka_event_message_next(ev);
                if m.is_null() {
                    break;
                }
                let m = &*m;
                let len = |p: *mut std::ffi::c_void, n: usize| if p.is_null() { 0 } else { n };
                let bytes = (len(m.payload, m.len) + len(m.key, m.key_len)) as u64;
                let opaque = m._private as usize;
                let mut sample = if aborting {
                    self.sample(opaque, done_us, bytes, Some(TXN_ABORTED), -1)
                } else if m.err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                    self.sample(opaque, done_us, bytes, None, m.partition)
                } else {
                    let name = error_name(RDKafkaErrorCode::from(m.err));
                    self.sample(opaque, done_us, bytes, Some(name), -1)
                };
                if !self.topic_index.is_empty() && !m.rkt.is_null() {
                    if m.rkt != last_topic.0 {
                        let name = std::ffi::CStr::from_ptr(rd::rd_kafka_topic_name(m.rkt));
                        last_topic = (m.rkt, self.topic_of(&name.to_string_lossy()));
                    }
                    sample.topic = last_topic.1;
                }
                counts[counter_of(Outcome::of(sample.error))] += 1;
                shard.record(&sample);
                if self.mode == Mode::Sync {
                    self.slots[opaque / self.batch].reported();
                }
            }
        }
        for (i, n) in counts.into_iter().enumerate() {
            if n > 0 {
                self.counter(i).fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    /// One outcome: the opaque gives the due and enqueue instants (a sync worker's slot has them).
    #[inline]
    fn sample(
        &self,
        opaque: usize,
        done_us: u64,
        bytes: u64,
        error: Option<&'static str>,
        partition: i32,
    ) -> Sample {
        let (due_us, enqueue_us) = match self.mode {
            Mode::Sync => {
                let (slot, pos) = (&self.slots[opaque / self.batch], opaque % self.batch);
                (
                    slot.due_us[pos].load(Ordering::Acquire),
                    slot.enqueue_us[pos].load(Ordering::Acquire),
                )
            }
            _ => opaque::unpack(opaque),
        };
        Sample {
            due_us,
            enqueue_us,
            done_us,
            bytes,
            error,
            partition,
            topic: 0,
        }
    }

    /// One answer of an external engine (its instants on kbench's clock already): recorded as a
    /// delivery report is. `slot` is the sync slot the message came from (sync mode); one out
    /// of range is not counted as that slot's (the accounting then disagrees).
    pub fn engine_outcome(&self, slot: usize, sample: &Sample) {
        self.dr_messages.fetch_add(1, Ordering::Relaxed);
        self.with_recorder(|s| s.record(sample));
        self.resolved(Outcome::of(sample.error));
        if self.mode == Mode::Sync {
            if let Some(s) = self.slots.get(slot) {
                s.reported();
            }
        }
    }

    /// The instance's clock, once the load started.
    pub fn clock(&self) -> Option<Clock> {
        self.clock.get().copied()
    }

    /// An event of the instance's client (an engine's, as librdkafka's).
    pub fn client_event(&self, text: String) {
        self.push_event(crate::event::EventKind::ClientError, text);
    }

    fn resolved(&self, outcome: Outcome) {
        self.counter(counter_of(outcome))
            .fetch_add(1, Ordering::Relaxed);
    }

    fn counter(&self, i: usize) -> &AtomicU64 {
        [&self.acked, &self.failed, &self.unresolved, &self.aborted][i]
    }

    /// Delivery reports of every kind so far (acks, failures, purge reports, aborted).
    pub fn reports(&self) -> u64 {
        self.acked.load(Ordering::Acquire)
            + self.failed.load(Ordering::Acquire)
            + self.unresolved.load(Ordering::Acquire)
            + self.aborted.load(Ordering::Acquire)
    }
}

/// Which of the live counters an outcome bumps: acked, failed, unresolved.
#[inline]
fn counter_of(o: Outcome) -> usize {
    match o {
        Outcome::Acked => 0,
        Outcome::Failed(_) => 1,
        Outcome::Unresolved { .. } => 2,
        Outcome::Aborted => 3,
    }
}

fn msg_bytes(m: &impl Message) -> u64 {
    (m.payload().map_or(0, <[u8]>::len) + m.key().map_or(0, <[u8]>::len)) as u64
}

/// Creates producer instance `index` and starts its delivery thread.
pub fn create(
    config: &rdkafka::ClientConfig,
    context: Context,
    index: u32,
) -> Result<Arc<Client>, KafkaError> {
    use rdkafka::config::FromClientConfigAndContext;
    let producer = rdkafka::producer::BaseProducer::from_config_and_context(config, context)?;
    Client::start(producer, format!("kbench-deliver-{index}"))
        .map(Arc::new)
        .map_err(|e| KafkaError::ClientCreation(format!("cannot start a delivery thread: {e}")))
}
