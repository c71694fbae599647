//! One run, start to finish: broker -> producer instances -> workers -> drain -> [`Recorded`].
//!
//! 1. Start the embedded broker (or take the bootstrap servers) and make sure the topic exists;
//!    an unreachable cluster fails here, within `cluster.connect_timeout`, before any load.
//! 2. Start the clock and the workers. A duration run is also stopped by a timer (so a worker
//!    stuck on a full queue or a missing ack cannot overrun); any run stops on Ctrl-C.
//! 3. Drain: wait until every enqueued message has a delivery report, at most `load.grace`
//!    (a second Ctrl-C cuts the wait short). What is still open then is `unresolved`.
//! 4. Merge the instances' shards and the workers' send statistics.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::producer::Producer;

use crate::broker::{self, BrokerError, Embedded, TopicInfo};
use crate::event::Event;
use crate::pacing::{Clock, Curve, WorkerPlan};
use crate::payload::{KeyGen, Payloads};
use crate::producer::worker::{
    stop_signal, HeaderSet, LiveCounter, PartitionChoice, StopHandle, Worker,
};
use crate::producer::{self, Client, Context};
use crate::recorder::{PhaseBounds, Recorded, SendStats, Shard};
use crate::rng::Rng;
use crate::scenario::{client_config, Mode, Scenario, StopCondition};
use crate::signal::Interrupts;

/// How long past its end a duration run waits for stuck workers before stopping them.
const STOP_SLACK: Duration = Duration::from_millis(250);
/// How often the drain checks for outstanding deliveries.
const DRAIN_POLL: Duration = Duration::from_millis(5);

/// Live counters, read by the progress line while the run goes on.
#[derive(Clone)]
pub struct Live {
    sent: Vec<Arc<LiveCounter>>,
    contexts: Vec<Arc<Client>>,
    pub clock: Clock,
}

impl Live {
    pub fn sent(&self) -> u64 {
        self.sent.iter().map(|c| c.0.load(Ordering::Relaxed)).sum()
    }
    pub fn acked(&self) -> u64 {
        self.contexts
            .iter()
            .map(|c| c.context().acked.load(Ordering::Relaxed))
            .sum()
    }
    pub fn failed(&self) -> u64 {
        self.contexts
            .iter()
            .map(|c| c.context().failed.load(Ordering::Relaxed))
            .sum()
    }
    /// p99 of corrected latency in the last finished interval of the first instance.
    pub fn recent_p99_us(&self) -> Option<u64> {
        self.contexts
            .first()?
            .context()
            .with_shard(|s| s.last_interval_p99())
    }
}

/// How one run is placed among others: as a shard of a larger run, at an agreed start time.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOpts {
    /// Drive workers `index*W .. (index+1)*W` of `count*W`: a `1/count` share of the rate and
    /// of the messages, on a schedule that interleaves exactly with the other shards'.
    pub shard: Option<crate::plan::ShardSpec>,
    /// Start the schedule at this wall-clock instant.
    pub start_at: Option<std::time::SystemTime>,
}

/// How late a shard may start and still keep the shared schedule (catching up, with the lag
/// shown as send lag); later is an error.
const MAX_LATE_START: Duration = Duration::from_secs(5);

/// What a finished run hands to the result stage.
pub struct RunOutput {
    pub recorded: Recorded,
    pub bootstrap: String,
    pub topic: TopicInfo,
    pub events: Vec<Event>,
    pub interrupted: bool,
    pub wall: Duration,
    pub cpu_s: Option<f64>,
    /// Messages the topic's partitions received during the run (high watermarks after - before).
    pub landed: Option<u64>,
    /// librdkafka's latest statistics, summed over instances (at most 500 ms old).
    pub client: Option<producer::ClientStats>,
    /// Wall-clock time of t0, in ms since the Unix epoch.
    pub t0_unix_ms: u64,
    pub shard: Option<crate::plan::ShardSpec>,
}

/// Runs one scenario. `on_start` receives live counters once the load starts (progress line).
pub async fn execute(
    s: &Scenario,
    opts: &RunOpts,
    interrupts: &Interrupts,
    on_start: impl FnOnce(Live),
) -> Result<RunOutput, BrokerError> {
    let embedded = match &s.cluster.bootstrap {
        None => {
            let e = Embedded::start(s.cluster.brokers)?;
            e.create_topic(&s.topic.name, s.topic.partitions, s.topic.replication)?;
            Some(e)
        }
        Some(_) => None,
    };
    let bootstrap = match (&embedded, &s.cluster.bootstrap) {
        (Some(e), _) => e.bootstrap().to_string(),
        (None, Some(b)) => b.clone(),
        (None, None) => unreachable!("either embedded or bootstrap"),
    };
    let config = client_config(s, &bootstrap);
    let p = &s.producer;
    let workers = p.workers();
    let interval_us = s.load.interval.0.as_micros() as u64;
    let warmup_end_us = s.load.warmup.0.as_micros() as u64;

    let curve = Curve::of_load(&s.load).map(Arc::new);
    let phases = Arc::new(phase_bounds(s));
    let mut clients = Vec::new();
    for i in 0..p.instances() {
        let slots = if p.mode == Mode::Sync {
            workers_of_instance(workers, p.instances(), i)
        } else {
            0
        };
        let shard = Shard::new(interval_us, warmup_end_us)
            .with_phases(phases.clone())
            .unpaced(curve.is_none());
        let ctx = Context::new(p.mode, shard, slots);
        clients.push(producer::create(&config, ctx, i).map_err(|e| {
            // librdkafka quotes property values in configuration errors: no secrets in them.
            BrokerError::Client(crate::scenario::render::scrub(s, &e.to_string()))
        })?);
    }
    let topic = broker::prepare(
        &clients[0],
        &config,
        &bootstrap,
        &s.topic,
        s.cluster.connect_timeout.0,
    )
    .await
    .map_err(|e| with_client_events(e, &clients))
    .map_err(|e| match e {
        BrokerError::Unreachable {
            bootstrap,
            timeout,
            detail,
        } => BrokerError::Unreachable {
            bootstrap,
            timeout,
            detail: crate::scenario::render::scrub(s, &detail),
        },
        other => other,
    })?;

    let watermark_timeout = s.cluster.connect_timeout.0.min(Duration::from_secs(5));
    let before =
        broker::high_watermarks(&config, &s.topic.name, topic.partitions, watermark_timeout).await;
    let payloads = Arc::new(
        Payloads::new(&s.message, s.max_payload())
            .map_err(BrokerError::Payload)?
            .scrambled(s.producer.compression != crate::scenario::Compression::None),
    );
    let headers = Arc::new(HeaderSet::new(&s.message.headers, s.message.seed));
    let topic_name: Arc<str> = Arc::from(s.topic.name.as_str());
    let (stop, stop_signal) = stop_signal();
    let cpu_start = crate::usage::process_cpu_s();
    let (started, t0_wall) = start_instant(opts.start_at, interrupts).await?;
    let clock = Clock::starting_at(started);
    for c in &clients {
        c.context().start(clock);
    }
    let live_sent: Vec<Arc<LiveCounter>> = (0..workers).map(|_| Arc::default()).collect();
    let mut handles = Vec::new();
    let shard = opts
        .shard
        .unwrap_or(crate::plan::ShardSpec { index: 0, count: 1 });
    let total_workers = workers * shard.count;
    for w in 0..workers {
        let instance = (w % p.instances()) as usize;
        let global = shard.index * workers + w;
        let worker = Worker {
            index: global,
            workers: total_workers,
            slot: (w / p.instances()) as usize,
            client: clients[instance].clone(),
            topic: topic_name.clone(),
            mode: p.mode,
            plan: WorkerPlan::new(
                &s.load,
                curve.clone(),
                total_workers,
                global,
                s.message.seed,
            ),
            clock,
            interval_us,
            payloads: payloads.clone(),
            keys: KeyGen::new(&s.message),
            headers: headers.clone(),
            phases: phases.clone(),
            rng: Rng::new(
                s.message
                    .seed
                    .wrapping_add(global as u64 * 0x1000_0000_01B3),
            ),
            stop: stop_signal.clone(),
            live_sent: live_sent[w as usize].clone(),
            partition: match p.partitioner {
                crate::scenario::Partitioner::Librdkafka(_) => PartitionChoice::Client,
                crate::scenario::Partitioner::RoundRobin => {
                    PartitionChoice::RoundRobin(topic.partitions)
                }
                crate::scenario::Partitioner::Manual(n) => PartitionChoice::Fixed(n as i32),
            },
        };
        handles.push(
            spawn_worker(worker)
                .map_err(|e| BrokerError::Client(format!("cannot start a worker thread: {e}")))?,
        );
    }
    on_start(Live {
        sent: live_sent,
        contexts: clients.clone(),
        clock,
    });

    let timed_out = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let guard = spawn_stoppers(s, &stop, interrupts, clock, timed_out.clone());
    let fault_events = std::cell::RefCell::new(Vec::new());
    let send = {
        // The fault schedule runs beside the workers and the drain, in this (non-Send) future,
        // which owns the mock cluster; it is dropped when the drain ends.
        let mut faults = std::pin::pin!(async {
            if let Some(e) = &embedded {
                crate::fault::drive(e, &s.faults, clock, &fault_events).await;
            }
            std::future::pending::<()>().await
        });
        let join = async {
            let mut send = SendStats::default();
            for h in handles {
                match h.await {
                    Ok(stats) => send.merge(stats),
                    Err(_) => tracing::error!("a worker thread failed"),
                }
            }
            send
        };
        let send = tokio::select! {
            send = join => send,
            _ = faults.as_mut() => unreachable!("the fault future never completes"),
        };
        guard.abort();
        let enqueued = send.sent + send.warmup_sent
            - send.local_failures.failed
            - send.local_failures_warmup.failed;
        tokio::select! {
            _ = drain(&clients, enqueued, s.load.grace.0, interrupts) => {},
            _ = faults.as_mut() => unreachable!("the fault future never completes"),
        }
        send
    };
    let interrupted = interrupts.count() > 0;
    let after = broker::settled_high_watermarks(
        &config,
        &s.topic.name,
        topic.partitions,
        watermark_timeout,
    )
    .await;
    let landed = before.zip(after).map(|(b, a)| a.saturating_sub(b));

    let mut shards = Vec::new();
    let mut events = Vec::new();
    for c in &clients {
        shards.push(
            c.context()
                .with_shard(|sh| std::mem::replace(sh, Shard::new(interval_us, warmup_end_us))),
        );
        events.extend(c.context().take_events());
    }
    let client = clients
        .iter()
        .filter_map(|c| c.context().stats())
        .reduce(|a, b| producer::ClientStats {
            tx_bytes: a.tx_bytes + b.tx_bytes,
            txmsg_bytes: a.txmsg_bytes + b.txmsg_bytes,
            txmsgs: a.txmsgs + b.txmsgs,
            tx: a.tx + b.tx,
            msg_cnt: a.msg_cnt + b.msg_cnt,
        });
    events.extend(fault_events.into_inner());
    if interrupted {
        events.push(Event {
            t_s: 0.0,
            kind: "interrupted".into(),
            detail: "stopped by a signal; sending ended early".into(),
            repeats: 0,
        });
    }
    if timed_out.load(Ordering::Acquire) {
        events.push(Event {
            t_s: (s.load.warmup.0 + s.load.timeout.0).as_secs_f64(),
            kind: "timeout".into(),
            detail: format!(
                "load.timeout ({}) passed before every message was sent: sending stopped (is the broker down? see the client errors)",
                s.load.timeout
            ),
            repeats: 0,
        });
    }
    let wall = started.elapsed();
    let cpu_s = match (cpu_start, crate::usage::process_cpu_s()) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    events.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
    let recorded = Recorded::merge(interval_us, warmup_end_us, shards, send);

    // Dropping a producer purges what is left and waits for librdkafka: off the runtime threads.
    let _ = tokio::task::spawn_blocking(move || drop(clients)).await;
    // The mock cluster (not `Send`) stops last, once no client talks to it.
    drop(embedded);
    Ok(RunOutput {
        recorded,
        bootstrap,
        topic,
        events,
        interrupted,
        wall,
        cpu_s,
        landed,
        client,
        t0_unix_ms: t0_wall
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        shard: opts.shard,
    })
}

/// Runs a worker on its own thread with its own single-threaded runtime, so its precise
/// (blocking) sleeps never delay another worker: with a shared multi-threaded runtime, two workers
/// could land on one thread, and one that never needs the timer (gaps under 2 ms) starved the
/// other for hundreds of milliseconds. The timer slack of the thread is 1 µs.
fn spawn_worker(worker: Worker) -> std::io::Result<tokio::sync::oneshot::Receiver<SendStats>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    std::thread::Builder::new()
        .name(format!("kbench-worker-{}", worker.index))
        .spawn(move || {
            #[cfg(target_os = "linux")]
            // SAFETY: PR_SET_TIMERSLACK only changes this thread's timer slack.
            unsafe {
                libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong);
            }
            let _ = tx.send(rt.block_on(worker.run()));
        })?;
    Ok(rx)
}

/// Adds what the client itself reported (e.g. "Connection refused") to a connection failure.
fn with_client_events(e: BrokerError, clients: &[Arc<Client>]) -> BrokerError {
    match e {
        BrokerError::Unreachable {
            bootstrap,
            timeout,
            mut detail,
        } => {
            if let Some(ev) = clients
                .iter()
                .flat_map(|c| c.context().take_events())
                .next()
            {
                detail = format!("{detail}; client: {}", ev.detail);
            }
            BrokerError::Unreachable {
                bootstrap,
                timeout,
                detail,
            }
        }
        other => other,
    }
}

/// The run's t0: now, or the agreed wall-clock start (waiting for it, or catching up when a
/// little late). Returns t0 as a monotonic instant and as wall-clock time.
async fn start_instant(
    at: Option<std::time::SystemTime>,
    interrupts: &Interrupts,
) -> Result<(Instant, std::time::SystemTime), BrokerError> {
    let Some(at) = at else {
        return Ok((Instant::now(), std::time::SystemTime::now()));
    };
    match at.duration_since(std::time::SystemTime::now()) {
        Ok(wait) => {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = interrupts.at_least(1) => {}
            }
            Ok((Instant::now(), at))
        }
        Err(late) if late.duration() <= MAX_LATE_START => Ok((
            Instant::now()
                .checked_sub(late.duration())
                .unwrap_or_else(Instant::now),
            at,
        )),
        Err(late) => Err(BrokerError::StartPassed(late.duration())),
    }
}

/// Workers of instance `i` when `workers` are dealt round-robin over `instances`.
fn workers_of_instance(workers: u32, instances: u32, i: u32) -> usize {
    crate::pacing::share(workers as u64, instances, i) as usize
}

/// Stops the workers at the end of a duration run (plus slack) or on the first signal.
/// Stops the workers on an interrupt, after a duration run's end, or when a run by count reaches
/// `load.timeout` (then `timed_out` is set): every run ends, even against a dead broker.
fn spawn_stoppers(
    s: &Scenario,
    stop: &StopHandle,
    interrupts: &Interrupts,
    clock: Clock,
    timed_out: Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    let (deadline, is_timeout) = match s.load.stop() {
        StopCondition::Duration(d) => (s.load.warmup.0 + d + STOP_SLACK, false),
        StopCondition::Count(_) => (s.load.warmup.0 + s.load.timeout.0, true),
    };
    let stop = stop.clone();
    let interrupts = interrupts.clone();
    tokio::spawn(async move {
        let at = tokio::time::Instant::from_std(clock.instant_at_ns(deadline.as_nanos() as u64));
        tokio::select! {
            _ = tokio::time::sleep_until(at) => timed_out.store(is_timeout, Ordering::Release),
            _ = interrupts.at_least(1) => {}
        }
        stop.stop();
    })
}

/// Waits until every enqueued message has its delivery report, or the grace period ends, or a
/// second interrupt arrives.
async fn drain(clients: &[Arc<Client>], enqueued: u64, grace: Duration, interrupts: &Interrupts) {
    let resolved = || -> u64 {
        clients
            .iter()
            .map(|c| {
                let ctx = c.context();
                ctx.acked.load(Ordering::Acquire) + ctx.failed.load(Ordering::Acquire)
            })
            .sum()
    };
    let deadline = tokio::time::Instant::now() + grace;
    while resolved() < enqueued && tokio::time::Instant::now() < deadline {
        tokio::select! {
            _ = tokio::time::sleep(DRAIN_POLL) => {}
            _ = interrupts.at_least(2) => break,
        }
    }
}

/// The windows (µs since t0) of a rate profile's phases; empty without a profile.
pub fn phase_bounds(s: &Scenario) -> PhaseBounds {
    let mut t = s.load.warmup.0.as_micros() as u64;
    PhaseBounds {
        windows: s
            .load
            .profile
            .iter()
            .map(|p| {
                let start = t;
                t += p.duration.0.as_micros() as u64;
                (start, t)
            })
            .collect(),
    }
}
