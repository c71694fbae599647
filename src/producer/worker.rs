//! One worker: an OS thread with its own single-threaded tokio runtime (`run::spawn_worker`)
//! that generates messages on its schedule and hands them to its producer instance. One loop serves every combination of pacing (unlimited / fixed), stop condition
//! (count / duration) and mode (async / sync / fire-and-forget).
//!
//! The hot path takes a payload window and a key from pre-generated pools, reads the clock once,
//! packs the opaque and calls `send`: no allocation of kbench's own and no lock. Unpaced workers
//! (`rate = "max"`) enqueue in batches instead ([`super::batch`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::watch;

use super::handle::TopicHandle;
pub use super::headers::HeaderSet;
pub use super::stamper::Stamper;
use super::{kafka_error_name, opaque, Client};
use crate::pacing::{Clock, Pacing, WorkerPlan, WorkerStop};
use crate::payload::{KeyGen, Payloads};
use crate::recorder::{PhaseBounds, Phases, ProducedTally, SendStats};
use crate::rng::Rng;
use crate::scenario::Mode;

/// Waits longer than this start on tokio's timer ...
const COARSE_WAIT_NS: u64 = 2_000_000;
/// ... which wakes the worker this long before the due instant, to finish with a precise sleep.
const FINE_WAIT_NS: u64 = 1_500_000;

/// A counter written by one worker and read by the progress line; padded against false sharing.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct LiveCounter(pub AtomicU64);

/// Stop signal shared by the run: a flag for the hot path, a channel for awaits.
#[derive(Debug, Clone)]
pub struct StopSignal {
    flag: Arc<AtomicBool>,
    rx: watch::Receiver<bool>,
}

/// The sending side of [`StopSignal`].
#[derive(Debug, Clone)]
pub struct StopHandle {
    flag: Arc<AtomicBool>,
    tx: Arc<watch::Sender<bool>>,
}

pub fn stop_signal() -> (StopHandle, StopSignal) {
    let flag = Arc::new(AtomicBool::new(false));
    let (tx, rx) = watch::channel(false);
    (
        StopHandle {
            flag: flag.clone(),
            tx: Arc::new(tx),
        },
        StopSignal { flag, rx },
    )
}

impl StopHandle {
    pub fn stop(&self) {
        self.flag.store(true, Ordering::Release);
        let _ = self.tx.send(true);
    }
}

impl StopSignal {
    #[inline]
    pub fn is_stopped(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }
    /// Resolves once the stop is signalled.
    pub async fn stopped(&mut self) {
        let _ = self.rx.wait_for(|v| *v).await;
    }
}

/// Everything one worker needs.
pub struct Worker {
    /// Run-wide worker number.
    pub index: u32,
    pub workers: u32,
    /// The worker's slot in its instance (sync mode).
    pub slot: usize,
    /// Sync mode: messages enqueued before waiting for all their reports (`sync_batch`).
    pub sync_batch: usize,
    /// Where messages go: a librdkafka client, or an external engine.
    pub sink: Sink,
    /// The run's topics (one, or `topic.count`), and how messages spread over them.
    pub topics: Arc<[Arc<str>]>,
    pub pick: crate::payload::TopicPick,
    pub mode: Mode,
    pub plan: WorkerPlan,
    pub clock: Clock,
    pub interval_us: u64,
    pub payloads: Arc<Payloads>,
    pub keys: KeyGen,
    /// Headers added to every message (none when empty).
    pub headers: Arc<HeaderSet>,
    /// The measured phases of a rate profile (empty without one).
    pub phases: Arc<PhaseBounds>,
    pub rng: Rng,
    pub stop: StopSignal,
    pub live_sent: Arc<LiveCounter>,
    /// Partitions chosen by kbench (round-robin, manual); `None` leaves it to librdkafka.
    pub partition: PartitionChoice,
    /// The instance's transactions, when the scenario has them.
    pub txn: Option<Arc<super::txn::Txn>>,
    /// With `[consume]`: writes each message's stamp (its copy of the payload, stamped).
    pub stamper: Option<Stamper>,
}

/// Where a worker's messages go.
pub enum Sink {
    /// librdkafka, in process.
    Rdkafka(Arc<Client>),
    /// An external engine (`crate::engine`).
    Engine(Arc<super::engine_link::EngineLink>),
}

impl Sink {
    /// The instance's context: its recorder, counters and sync slots.
    pub fn context(&self) -> &super::Context {
        match self {
            Sink::Rdkafka(c) => c.context(),
            Sink::Engine(e) => &e.context,
        }
    }
}

/// Who picks a message's partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionChoice {
    /// librdkafka's partitioner.
    Client,
    /// Message number modulo this many partitions.
    RoundRobin(u32),
    /// Always this partition.
    Fixed(i32),
}

impl PartitionChoice {
    #[inline]
    pub(super) fn of(self, seq: u64) -> Option<i32> {
        match self {
            PartitionChoice::Client => None,
            PartitionChoice::RoundRobin(n) => Some((seq % n.max(1) as u64) as i32),
            PartitionChoice::Fixed(p) => Some(p),
        }
    }
}

/// One message on its way out: where it goes, when it was due, what it carries.
struct Outgoing<'a> {
    partition: Option<i32>,
    /// The worker's sync slot, and the message's place in its batch.
    slot: usize,
    place: usize,
    due_us: u64,
    /// Unpaced: the clock reading that is also its due instant.
    now_us: Option<u64>,
    body: Body<'a>,
    key: Option<&'a [u8]>,
}

/// A message's bytes: the payload, whether librdkafka must copy it, and the stamper with the
/// message's number (with `[consume]`; the stamped copy is sent instead).
struct Body<'a> {
    payload: &'a [u8],
    copy: bool,
    stamper: Option<(&'a mut Stamper, u64)>,
}

enum Sent {
    Enqueued { enqueue_us: u64 },
    Rejected(&'static str),
    Abandoned,
}

/// What the worker loop does next.
enum Next {
    /// Send the message due at this instant (ns on the run's clock).
    Due(u64),
    /// The run is over for this worker.
    End,
    /// Stopped while waiting for this due instant: the message is due but unsent.
    Pending(u64),
}

impl Worker {
    /// Unpaced asynchronous workers without headers, whose payloads librdkafka may point at,
    /// enqueue in batches (see [`super::batch`]).
    fn batchable(&self) -> bool {
        matches!(self.plan.pacing, Pacing::Unlimited)
            && self.mode != Mode::Sync
            && self.txn.is_none()
            && self.headers.names.is_empty()
            && !self.payloads.uses_scratch()
            && self.stamper.is_none()
            && !self.pick.many()
    }

    /// Runs the worker to its stop condition (or the stop signal) and returns what it sent.
    pub async fn run(mut self) -> SendStats {
        let mut stats = SendStats {
            phases: Phases::new(self.phases.clone()),
            produced: ProducedTally::with_keys(self.keys.cardinality()),
            ..SendStats::default()
        };
        let Sink::Rdkafka(client) = &self.sink else {
            self.run_one_by_one(&[], &mut stats).await;
            return stats;
        };
        // One handle per topic, kept for the whole run (no topic lookup per message).
        let handles: Vec<Option<TopicHandle>> = self
            .topics
            .iter()
            .map(|t| TopicHandle::new(client, t))
            .collect();
        let handle = handles.first().and_then(Option::as_ref);
        // Pool and corpus payloads are immutable and kept alive by the client's context, so
        // librdkafka may point at them; scrambled ones live in a scratch buffer and are copied.
        client.context().keep(self.payloads.clone());
        match handle.filter(|_| self.batchable()) {
            Some(h) => self.run_batched(h, &mut stats),
            None => self.run_one_by_one(&handles, &mut stats).await,
        }
        stats
    }

    /// Sends message by message, each at its due instant (or at once, unpaced).
    async fn run_one_by_one(&mut self, handles: &[Option<TopicHandle>], stats: &mut SendStats) {
        let mut measured_sent = 0u64;
        let mut total = 0u64;
        let mut scratch = Vec::new();
        let copy_payloads = self.payloads.uses_scratch();
        // A drawn due instant whose message was not sent when the loop ended.
        let mut pending = None;
        // Sync mode: the message's place in the current batch.
        let mut place = 0usize;
        for i in 0u64.. {
            let due_ns = match self.next_due().await {
                Next::Due(due) => due,
                Next::End => break,
                Next::Pending(due) => {
                    pending = Some(due);
                    break;
                }
            };
            let measured = due_ns >= self.plan.warmup_end_ns;
            if matches!(self.plan.stop, WorkerStop::Count(n) if measured && measured_sent >= n) {
                break;
            }
            let due_us = due_ns / 1000;
            // Unpaced, the due instant is a clock reading taken a moment ago: reuse it.
            let unpaced_now_us = matches!(self.plan.pacing, Pacing::Unlimited).then_some(due_us);
            let seq = i * self.workers as u64 + self.index as u64;
            let payload = self.payloads.payload(self.rng.next_u64(), &mut scratch);
            if let Some(st) = &mut self.stamper {
                st.load(payload);
            }
            let topic = match self.pick.many() {
                true => self.pick.pick(self.rng.next_u64()),
                false => 0,
            };
            let (key_number, key) = self.keys.key(seq, &mut self.rng).unzip();
            let bytes = (payload.len() + key.map_or(0, <[u8]>::len)) as u64;
            if measured {
                stats.produced.count(payload.len() as u64, key_number);
            }
            // A transaction's commit holds the gate: the send waits for it. Broken transactions
            // (the cluster does not support them) end the worker's sending.
            let Ok(gate) = txn_gate(&self.txn, &self.sink, &self.clock) else {
                break;
            };
            let m = Outgoing {
                partition: self.partition.of(seq),
                slot: self.slot,
                place,
                due_us,
                now_us: unpaced_now_us,
                body: Body {
                    payload,
                    copy: copy_payloads,
                    stamper: self.stamper.as_mut().map(|st| (st, i)),
                },
                key,
            };
            let sent = match &self.sink {
                Sink::Rdkafka(client) => {
                    let (handle, name) = (handles[topic].as_ref(), &self.topics[topic]);
                    let (headers, stop) = (&self.headers, &mut self.stop);
                    send(
                        client,
                        handle,
                        name,
                        self.mode,
                        &self.clock,
                        m,
                        headers,
                        stats,
                        stop,
                    )
                    .await
                }
                Sink::Engine(link) => {
                    let id = crate::engine::protocol::message_id(self.slot, i);
                    send_to_engine(link, id, topic, &self.clock, m, self.mode)
                }
            };
            self.after_send(gate, &sent);
            let counted = self.count_sent(stats, sent, due_us, unpaced_now_us, measured, bytes);
            let Some((measured, rejected)) = counted else {
                pending = Some(due_ns);
                break;
            };
            measured_sent += u64::from(measured);
            total += 1;
            self.live_sent.0.store(total, Ordering::Relaxed);
            if rejected {
                continue;
            }
            if self.mode == Mode::Sync && !self.sync_batch_done(&mut place).await {
                break;
            }
        }
        if self.stop.is_stopped() {
            self.count_unsent(pending, measured_sent, stats);
        }
    }

    /// A transaction's send is over: a message that was not enqueued gives its place back, and a
    /// transaction that is due ends (commits or aborts) now.
    fn after_send(&self, gate: Option<std::sync::RwLockReadGuard<'_, ()>>, sent: &Sent) {
        let (Some(t), Sink::Rdkafka(client)) = (&self.txn, &self.sink) else {
            return;
        };
        if let Some(g) = &gate {
            if !matches!(sent, Sent::Enqueued { .. }) {
                t.unreserve(g);
            }
        }
        drop(gate);
        t.end_if_due(client, &self.clock);
    }

    /// Sync mode: counts the message into its batch; a full batch waits for its acks. False when
    /// the stop came first.
    async fn sync_batch_done(&mut self, place: &mut usize) -> bool {
        *place += 1;
        if *place < self.sync_batch {
            return true;
        }
        *place = 0;
        if let Sink::Engine(link) = &self.sink {
            // The engine sends the slot's batch (SendMessages) when told the worker waits.
            if !link.write(format!("W {}\n", self.slot).as_bytes(), true) {
                return false;
            }
        }
        let slot = self.sink.context().slot(self.slot);
        wait_for_batch(slot, &mut self.stop).await
    }

    /// The next message's due instant (now, unpaced), or why the loop ends: the stop signal, the
    /// end of the run, or a stop while waiting for a due instant (that message is pending).
    async fn next_due(&mut self) -> Next {
        if self.stop.is_stopped() {
            return Next::End;
        }
        let end_ns = match self.plan.stop {
            WorkerStop::Until { end_ns } => end_ns,
            _ => u64::MAX,
        };
        match self.plan.pacing.next_due_ns() {
            Some(due) if due >= end_ns => Next::End,
            Some(due) => match wait_until(&self.clock, due, &mut self.stop).await {
                true => Next::Due(due),
                false => Next::Pending(due),
            },
            None => match self.clock.now_ns() {
                now if now >= end_ns => Next::End,
                now => Next::Due(now),
            },
        }
    }

    /// Counts a sent (enqueued or rejected) message; returns whether it is measured and whether
    /// it was rejected, or `None` when it was abandoned (the stop came while it waited for
    /// room). Unpaced, the due instant is the enqueue instant (of the last try, after
    /// QueueFull), which also decides warm-up, as it does for the delivery report.
    fn count_sent(
        &self,
        stats: &mut SendStats,
        sent: Sent,
        due_us: u64,
        unpaced_now_us: Option<u64>,
        measured: bool,
        bytes: u64,
    ) -> Option<(bool, bool)> {
        let (enqueue_us, rejected) = match sent {
            Sent::Enqueued { enqueue_us } => (enqueue_us, None),
            Sent::Rejected(kind) => (self.clock.now_us(), Some(kind)),
            Sent::Abandoned => return None,
        };
        let (lag, measured) = match unpaced_now_us {
            Some(_) => (0, enqueue_us * 1000 >= self.plan.warmup_end_ns),
            None => (enqueue_us.saturating_sub(due_us), measured),
        };
        stats.count_sent(measured, enqueue_us, lag, bytes, self.interval_us);
        if measured {
            stats.phases.sent(due_us, enqueue_us);
        }
        if let Some(kind) = rejected {
            // Failed at once: due -> rejection is its place in the failed stream.
            stats.rejected(measured, kind, lag);
        }
        Some((measured, rejected.is_some()))
    }

    /// After a stop: every message of this worker's schedule that was already due (before now,
    /// and inside the measured window or count) but not sent is unsent, at least (now - due)
    /// late. Unpaced workers have no due instants, so nothing is unsent there.
    fn count_unsent(
        &mut self,
        pending: Option<u64>,
        mut measured_sent: u64,
        stats: &mut SendStats,
    ) {
        let now_ns = self.clock.now_ns();
        let cutoff = match self.plan.stop {
            WorkerStop::Until { end_ns } => now_ns.min(end_ns),
            WorkerStop::Count(_) => now_ns,
        };
        let mut next = pending.or_else(|| self.plan.pacing.next_due_ns());
        while let Some(due) = next.filter(|&d| d < cutoff) {
            let measured = due >= self.plan.warmup_end_ns;
            if matches!(self.plan.stop, WorkerStop::Count(n) if measured && measured_sent >= n) {
                break;
            }
            stats.count_unsent(measured, (now_ns - due) / 1000);
            measured_sent += measured as u64;
            next = self.plan.pacing.next_due_ns();
        }
    }
}

/// Waits until every message of a sync worker's batch has its report; false when the run was
/// stopped first.
async fn wait_for_batch(slot: &super::SyncSlot, stop: &mut StopSignal) -> bool {
    while slot.outstanding.load(Ordering::Acquire) > 0 {
        tokio::select! {
            _ = slot.done.notified() => {}
            _ = stop.stopped() => return false,
        }
    }
    true
}

/// Sleeps until `due_ns`: on tokio's timer (millisecond granularity) while the wait is long, then
/// a precise thread sleep for the last stretch. Every worker has its own thread and runtime (see
/// `run`), so the short blocking sleep never delays another worker. Returns false when
/// the run was stopped while waiting.
async fn wait_until(clock: &Clock, due_ns: u64, stop: &mut StopSignal) -> bool {
    let now = clock.now_ns();
    if due_ns <= now {
        return true;
    }
    if due_ns - now > COARSE_WAIT_NS {
        let at = tokio::time::Instant::from_std(clock.instant_at_ns(due_ns - FINE_WAIT_NS));
        tokio::select! {
            _ = tokio::time::sleep_until(at) => {}
            _ = stop.stopped() => return false,
        }
    }
    let now = clock.now_ns();
    if due_ns > now {
        std::thread::sleep(Duration::from_nanos(due_ns - now));
    }
    true
}

/// Hands one message to librdkafka, pausing and retrying while its queue is full. `now_us` is a
/// clock reading taken just before (unpaced workers have one), saving a read on the first try.
#[allow(clippy::too_many_arguments)]
async fn send(
    client: &Client,
    handle: Option<&TopicHandle>,
    topic: &str,
    mode: Mode,
    clock: &Clock,
    m: Outgoing<'_>,
    headers: &HeaderSet,
    stats: &mut SendStats,
    stop: &mut StopSignal,
) -> Sent {
    let Outgoing {
        partition,
        slot,
        place,
        due_us,
        mut now_us,
        mut body,
        key,
    } = m;
    let unpaced = now_us.is_some();
    loop {
        let room = client.context().room.generation();
        let enqueue_us = now_us.take().unwrap_or_else(|| clock.now_us());
        let due_us = if unpaced { enqueue_us } else { due_us };
        let sync = (mode == Mode::Sync).then(|| client.context().slot(slot));
        let opaque = if let Some(s) = sync {
            s.due_us[place].store(due_us, Ordering::Release);
            s.enqueue_us[place].store(enqueue_us, Ordering::Release);
            // Counted before the send, so a report can never come first.
            s.outstanding.fetch_add(1, Ordering::AcqRel);
            client.context().sync_opaque(slot, place)
        } else {
            opaque::pack(enqueue_us, enqueue_us.saturating_sub(due_us))
        };
        let copy = body.copy || body.stamper.is_some();
        let payload = match body.stamper.as_mut() {
            Some((st, seq)) => st.stamped(*seq, due_us, enqueue_us),
            None => body.payload,
        };
        let result = if let (Some(h), true) = (handle, headers.names.is_empty()) {
            h.produce(partition.unwrap_or(-1), payload, copy, key, opaque)
                .map_err(|code| match code {
                    RDKafkaErrorCode::QueueFull => None,
                    code => Some(kafka_error_name(&KafkaError::MessageProduction(code))),
                })
        } else {
            let mut record =
                BaseRecord::<[u8], [u8], usize>::with_opaque_to(topic, opaque).payload(payload);
            if let Some(k) = key {
                record = record.key(k);
            }
            if let Some(p) = partition {
                record = record.partition(p);
            }
            if let Some(h) = headers.owned() {
                record = record.headers(h);
            }
            client.send(record).map_err(|(e, _)| match e {
                KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull) => None,
                e => Some(kafka_error_name(&e)),
            })
        };
        // `Err(None)`: the queue is full; `Err(Some(name))`: rejected.
        match result {
            Ok(()) => return Sent::Enqueued { enqueue_us },
            Err(failure) => {
                if let Some(s) = sync {
                    // Never enqueued: no report will come.
                    s.outstanding.fetch_sub(1, Ordering::AcqRel);
                }
                match failure {
                    Some(name) => return Sent::Rejected(name),
                    None if !queue_full_pause(client, stats, stop, room) => return Sent::Abandoned,
                    None => {}
                }
            }
        }
    }
}

/// With transactions, the open transaction's gate, held while one message is handed over;
/// `Err` once transactions are broken (the worker stops sending).
#[allow(clippy::type_complexity)]
fn txn_gate<'a>(
    txn: &'a Option<Arc<super::txn::Txn>>,
    sink: &Sink,
    clock: &Clock,
) -> Result<Option<std::sync::RwLockReadGuard<'a, ()>>, ()> {
    match (txn, sink) {
        (Some(t), Sink::Rdkafka(client)) => t.sending(client, clock).map(Some).ok_or(()),
        _ => Ok(None),
    }
}

/// Hands a message to an external engine: one line on its standard input, now. With `[consume]`
/// the stamped copy goes inline. A sync worker's slot counts it before the write, so its answer
/// can never come first.
#[allow(clippy::too_many_arguments)]
fn send_to_engine(
    link: &super::engine_link::EngineLink,
    id: u64,
    topic: usize,
    clock: &Clock,
    m: Outgoing<'_>,
    mode: Mode,
) -> Sent {
    let Outgoing {
        partition,
        slot,
        due_us,
        now_us,
        mut body,
        key,
        ..
    } = m;
    let enqueue_us = now_us.unwrap_or_else(|| clock.now_us());
    let due_us = if now_us.is_some() { enqueue_us } else { due_us };
    let payload = match body.stamper.as_mut() {
        Some((st, seq)) => st.stamped(*seq, due_us, enqueue_us),
        None => body.payload,
    };
    let sync = (mode == Mode::Sync).then(|| link.context.slot(slot));
    if let Some(s) = sync {
        s.outstanding.fetch_add(1, Ordering::AcqRel);
    }
    if link.send(id, due_us, slot, topic, partition, key, payload) {
        return Sent::Enqueued { enqueue_us };
    }
    if let Some(s) = sync {
        s.outstanding.fetch_sub(1, Ordering::AcqRel);
    }
    Sent::Rejected(super::engine_link::ENGINE_GONE)
}

/// Counts a `QueueFull` answer and waits for room (a delivery report after generation `room`,
/// read before the refused send; see [`super::room`]); false when the run was stopped.
pub(super) fn queue_full_pause(
    client: &Client,
    stats: &mut SendStats,
    stop: &StopSignal,
    room: u64,
) -> bool {
    stats.queue_full += 1;
    let ctx = client.context();
    ctx.queue_full.fetch_add(1, Ordering::Relaxed);
    if stop.is_stopped() {
        return false;
    }
    ctx.room.wait_past(room, super::room::MAX_WAIT);
    true
}
