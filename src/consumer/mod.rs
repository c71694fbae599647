//! The run's consumers (`[consume]`): threads that read the topic back while the producers write
//! it, for end-to-end latency and an independent delivery check. Each consumer is an OS thread
//! with its own librdkafka consumer, polling and recording into its own
//! [`ConsumerRecorder`]; they share only the read-back state ([`seen::Seen`]).
//!
//! Consumers start where the topic ended before the run (its high watermarks), so they read this
//! run's records and nothing older, and kbench places them itself: in `partitions` mode by
//! direct assignment (consumer `c` takes the partitions `p % consumers == c`), in `group` mode
//! through the group's rebalances, where each newly assigned partition starts after what any
//! consumer already read of it (so a rebalance re-reads nothing). Only stamps of this run's shard
//! count ([`crate::stamp`]); anything else read is `foreign`.

pub mod seen;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::KafkaError;
use rdkafka::message::Message as _;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};

use crate::event::Event;
use crate::pacing::Clock;
use crate::recorder::{hist, Consumed, ConsumerRecorder};
use crate::scenario::consume::ConsumeMode;
use crate::stamp::Stamp;
use seen::Seen;

/// How long one poll waits for a message before the thread checks its stop flag.
const POLL: Duration = Duration::from_millis(50);
/// Events kept per consumer (repeats of the last one are counted, not kept).
const MAX_EVENTS: usize = 50;

/// What the consumers of one run need.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    /// Every librdkafka property (`scenario::render::consumer_properties`).
    pub properties: BTreeMap<String, String>,
    /// The run's topics (one, or `topic.count`).
    pub topics: Vec<String>,
    /// Partitions per topic.
    pub partitions: u32,
    pub mode: ConsumeMode,
    pub consumers: u32,
    /// Where each partition ended before the run, by topic: the consumers start there.
    pub start_offsets: Vec<Vec<i64>>,
    /// The stamp tag of this run's shard.
    pub tag: u64,
    pub interval_us: u64,
    pub warmup_end_us: u64,
    /// Start reading this long after t0.
    pub start_after_us: u64,
}

/// State the consumer threads share with the run.
#[derive(Debug)]
struct Shared {
    stop: AtomicBool,
    /// Distinct messages of this run read so far (warm-up included).
    consumed: AtomicU64,
    foreign: AtomicU64,
    /// Partitions currently assigned, per consumer.
    assigned: Vec<AtomicU32>,
    seen: Seen,
    start_offsets: Vec<Vec<i64>>,
    /// Topic name -> index; partitions are numbered `topic * partitions + partition` here.
    topic_index: std::collections::HashMap<String, u32>,
    partitions: u32,
    events: Mutex<Vec<Event>>,
    /// The run's clock, set at t0 (consumers may join their group before).
    clock: OnceLock<Clock>,
    /// Per consumer, its last finished interval for the live metrics: written once per
    /// interval, read by the publisher.
    last: Vec<Mutex<LastInterval>>,
}

/// A consumer's last finished interval: intervals finished so far, e2e and e2e service
/// histograms (encoded).
#[derive(Debug, Default, Clone)]
struct LastInterval {
    finished: usize,
    e2e: Option<String>,
    e2e_service: Option<String>,
}

impl Shared {
    /// The flat index of (topic, partition), or `None` for a topic not of this run.
    #[inline]
    fn flat(&self, topic: &str, partition: i32) -> Option<i32> {
        let t = *self.topic_index.get(topic)? as i32;
        Some(t * self.partitions as i32 + partition)
    }

    fn push_event(&self, kind: crate::event::EventKind, detail: String) {
        let now_us = self.clock.get().map_or(0, Clock::now_us);
        let t_s = (now_us as f64 / 1e3).round() / 1e3;
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(last) = events
            .last_mut()
            .filter(|l| l.kind == kind && l.detail == detail)
        {
            last.repeats += 1;
        } else if events.len() < MAX_EVENTS {
            events.push(Event {
                t_s,
                kind,
                detail,
                repeats: 0,
                recovery_s: None,
            });
        }
    }
}

/// The consumer's librdkafka context: errors become events, and rebalances place each newly
/// assigned partition itself.
struct Ctx {
    shared: Arc<Shared>,
    index: usize,
}

impl ClientContext for Ctx {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        tracing::debug!(target: "librdkafka", "consumer {level:?} {fac}: {message}");
    }
    fn error(&self, error: KafkaError, reason: &str) {
        let name = crate::producer::kafka_error_name(&error);
        self.shared.push_event(
            crate::event::EventKind::ConsumerError,
            format!("{name}: {reason}"),
        );
    }
}

impl ConsumerContext for Ctx {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        let mine = &self.shared.assigned[self.index];
        let result = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                place(tpl, &self.shared);
                let n = tpl.count() as u32;
                if cooperative {
                    mine.fetch_add(n, Ordering::AcqRel);
                    consumer.incremental_assign(tpl)
                } else {
                    mine.store(n, Ordering::Release);
                    consumer.assign(tpl)
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                if cooperative {
                    let n = tpl.count() as u32;
                    let _ = mine.fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                        Some(v.saturating_sub(n))
                    });
                    consumer.incremental_unassign(tpl)
                } else {
                    mine.store(0, Ordering::Release);
                    consumer.unassign()
                }
            }
            other => {
                let _ = consumer.unassign();
                mine.store(0, Ordering::Release);
                Err(KafkaError::Rebalance(other.into()))
            }
        };
        if let Err(e) = result {
            self.shared.push_event(
                crate::event::EventKind::ConsumerRebalance,
                format!("consumer {}: {e}", self.index),
            );
        }
    }
}

/// Sets each partition's start: after what was read of it, else where it ended before the run.
fn place(tpl: &mut TopicPartitionList, shared: &Shared) {
    for mut elem in tpl.elements() {
        let p = elem.partition();
        let Some(flat) = shared.flat(elem.topic(), p) else {
            continue;
        };
        let t = (flat / shared.partitions.max(1) as i32) as usize;
        let start = shared.seen.resume_offset(flat).or_else(|| {
            let ends = shared.start_offsets.get(t)?;
            usize::try_from(p).ok().and_then(|i| ends.get(i).copied())
        });
        if let Some(o) = start {
            let _ = elem.set_offset(Offset::Offset(o));
        }
    }
}

/// The `[consume]` consumers cannot be created or subscribed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConsumerError(pub String);

impl From<String> for ConsumerError {
    fn from(message: String) -> ConsumerError {
        ConsumerError(message)
    }
}

/// The running consumers of one run.
pub struct Consumers {
    shared: Arc<Shared>,
    threads: Mutex<Vec<std::thread::JoinHandle<ConsumerRecorder>>>,
}

impl Consumers {
    /// Creates the consumers and starts their threads (each waits for `start_after`).
    pub fn start(spec: &ConsumerSpec) -> Result<Consumers, ConsumerError> {
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            consumed: AtomicU64::new(0),
            foreign: AtomicU64::new(0),
            assigned: (0..spec.consumers).map(|_| AtomicU32::new(0)).collect(),
            seen: Seen::new(spec.partitions * spec.topics.len() as u32),
            start_offsets: spec.start_offsets.clone(),
            topic_index: spec
                .topics
                .iter()
                .enumerate()
                .map(|(i, t)| (t.clone(), i as u32))
                .collect(),
            partitions: spec.partitions,
            events: Mutex::new(Vec::new()),
            clock: OnceLock::new(),
            last: (0..spec.consumers)
                .map(|_| Mutex::new(LastInterval::default()))
                .collect(),
        });
        let mut config = ClientConfig::new();
        for (k, v) in &spec.properties {
            config.set(k, v);
        }
        let mut threads = Vec::new();
        for index in 0..spec.consumers as usize {
            let ctx = Ctx {
                shared: shared.clone(),
                index,
            };
            let consumer: BaseConsumer<Ctx> = config
                .create_with_context(ctx)
                .map_err(|e| format!("cannot create consumer {index}: {e}"))?;
            let (spec, shared) = (spec.clone(), shared.clone());
            let thread = std::thread::Builder::new()
                .name(format!("kbench-consumer-{index}"))
                .spawn(move || consume(consumer, index, &spec, &shared))
                .map_err(|e| format!("cannot start a consumer thread: {e}"))?;
            threads.push(thread);
        }
        Ok(Consumers {
            shared,
            threads: Mutex::new(threads),
        })
    }

    /// Hands the consumers the run's clock at t0.
    pub fn set_clock(&self, clock: Clock) {
        let _ = self.shared.clock.set(clock);
    }

    /// Distinct messages of this run read so far, warm-up included.
    pub fn consumed(&self) -> u64 {
        self.shared.consumed.load(Ordering::Acquire)
    }

    /// The e2e and e2e-service histograms of the latest interval a consumer finished, over
    /// the consumers that finished it (live metrics).
    pub fn last_interval(&self) -> [Option<hist::Hist>; 2] {
        let lasts: Vec<LastInterval> = self
            .shared
            .last
            .iter()
            .map(|l| l.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect();
        let latest = lasts.iter().map(|l| l.finished).max().unwrap_or(0);
        let mut out = [None, None];
        for l in lasts.iter().filter(|l| l.finished == latest && latest > 0) {
            for (into, e) in out.iter_mut().zip([&l.e2e, &l.e2e_service]) {
                if let Some(h) = e.as_deref().and_then(|e| hist::decode(e).ok()) {
                    hist::add_to_sum(into, h);
                }
            }
        }
        out
    }

    /// Partitions assigned, per consumer.
    pub fn assigned(&self) -> Vec<u32> {
        self.shared
            .assigned
            .iter()
            .map(|a| a.load(Ordering::Acquire))
            .collect()
    }

    /// Stops the threads and merges what they recorded (a second call finds nothing more).
    pub fn finish(&self) -> Consumed {
        self.shared.stop.store(true, Ordering::Release);
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        let mut recorders = Vec::new();
        for (i, t) in threads.into_iter().enumerate() {
            match t.join() {
                Ok(r) => recorders.push(r),
                // Never silent: what that consumer read is lost, and the result says so.
                Err(_) => self.shared.push_event(
                    crate::event::EventKind::ConsumerError,
                    format!("consumer {i} failed (a kbench bug): what it read is not counted"),
                ),
            }
        }
        let mut c = Consumed::merge(recorders);
        c.foreign = self.shared.foreign.load(Ordering::Acquire);
        c.events =
            std::mem::take(&mut *self.shared.events.lock().unwrap_or_else(|p| p.into_inner()));
        c
    }
}

/// One consumer thread: waits for `start_after`, takes its partitions, then reads and records
/// until stopped.
fn consume(
    consumer: BaseConsumer<Ctx>,
    index: usize,
    spec: &ConsumerSpec,
    shared: &Shared,
) -> ConsumerRecorder {
    let mut rec = ConsumerRecorder::new(spec.interval_us, spec.warmup_end_us);
    // Without start_after, consumers take their partitions at once (before t0, so a group has
    // formed when the load starts); with it, at t0 + start_after.
    while spec.start_after_us > 0 && !shared.stop.load(Ordering::Acquire) {
        let now = shared.clock.get().map(Clock::now_us);
        if now.is_some_and(|n| n >= spec.start_after_us) {
            break;
        }
        let left = now.map_or(10_000, |n| (spec.start_after_us - n).min(10_000));
        std::thread::sleep(Duration::from_micros(left));
    }
    if let Err(e) = take_partitions(&consumer, index, spec, shared) {
        shared.push_event(
            crate::event::EventKind::ConsumerError,
            format!("consumer {index}: {e}"),
        );
        return rec;
    }
    let mut published = 0;
    while !shared.stop.load(Ordering::Acquire) {
        match consumer.poll(POLL) {
            Some(Ok(m)) => {
                // Before t0 nothing of this run can be there.
                let stamp = m.payload().and_then(|p| Stamp::read(p, spec.tag));
                let (Some(stamp), Some(clock)) = (stamp, shared.clock.get()) else {
                    shared.foreign.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let now = clock.now_us();
                let flat = shared.flat(m.topic(), m.partition()).unwrap_or(-1);
                let reading = shared
                    .seen
                    .observe(flat, m.offset(), stamp.worker, stamp.seq);
                if reading == crate::recorder::Reading::First {
                    shared.consumed.fetch_add(1, Ordering::AcqRel);
                }
                rec.record(stamp.due_us, stamp.enqueue_us, now, flat, reading);
                publish_last(&rec, &shared.last[index], &mut published);
            }
            Some(Err(e)) => {
                let name = crate::producer::kafka_error_name(&e);
                shared.push_event(
                    crate::event::EventKind::ConsumerError,
                    format!("{name}: {e}"),
                );
            }
            None => {}
        }
    }
    rec
}

/// Hands the publisher an interval the recorder has just finished (a check per message, a copy
/// per interval).
#[inline]
fn publish_last(rec: &ConsumerRecorder, slot: &Mutex<LastInterval>, published: &mut usize) {
    let (finished, e2e) = rec.e2e_series.last_encoded();
    if finished == *published {
        return;
    }
    *published = finished;
    let mut l = slot.lock().unwrap_or_else(|p| p.into_inner());
    *l = LastInterval {
        finished,
        e2e: e2e.cloned(),
        e2e_service: rec.service_series.last_encoded().1.cloned(),
    };
}

/// Subscribes (group mode) or assigns this consumer's share of the partitions.
fn take_partitions(
    consumer: &BaseConsumer<Ctx>,
    index: usize,
    spec: &ConsumerSpec,
    shared: &Shared,
) -> Result<(), KafkaError> {
    match spec.mode {
        ConsumeMode::Group => {
            let topics: Vec<&str> = spec.topics.iter().map(String::as_str).collect();
            consumer.subscribe(&topics)
        }
        ConsumeMode::Partitions => {
            let mut tpl = TopicPartitionList::new();
            let n = spec.consumers as usize;
            let p = spec.partitions as usize;
            for flat in (0..spec.topics.len() * p).filter(|f| f % n == index) {
                tpl.add_partition(&spec.topics[flat / p], (flat % p) as i32);
            }
            place(&mut tpl, shared);
            shared.assigned[index].store(tpl.count() as u32, Ordering::Release);
            consumer.assign(&tpl)
        }
    }
}
