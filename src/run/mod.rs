//! One run, start to finish, carrying out a [`RunPlan`]: broker -> producer instances -> workers
//! -> drain -> [`Recorded`]. Nothing is decided here that the plan did not decide.
//!
//! 1. Start the embedded broker (or take the bootstrap servers) and make sure the topic exists;
//!    an unreachable cluster fails here, within `cluster.connect_timeout`, before any load.
//! 2. Start the clock and the planned workers, each on its own OS thread with its own
//!    single-threaded runtime. A stopper ends sending at the plan's stop instant (so a worker
//!    stuck on a full queue or a missing ack cannot overrun); any run stops on Ctrl-C.
//! 3. Drain: wait until every enqueued message has a delivery report, at most `load.grace`
//!    (a second Ctrl-C cuts the wait short). What is still open then is `unresolved`.
//! 4. Merge the instances' recorders and the workers' send statistics ([`finish`]).
//!
//! With `producer.transaction`, each instance's transactions are started before t0 and ended
//! before the drain ([`txns`]).

mod consume;
pub mod engines;
mod finish;
pub use finish::SKEW_ACCOUNTING;
mod instance;
mod live;
mod setup;
mod txns;

pub use instance::Instance;

use finish::{collect, drain, end_events};
use live::acked_total;
pub use live::Live;
use setup::{create_clients, prepare_topic, start_cluster};
pub use txns::TxnTotals;
use txns::{finish_transactions, start_transactions, txn_events, Txn};

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot::Receiver;

use crate::broker::{self, BrokerError, Embedded, TopicInfo};
use crate::event::Event;
use crate::pacing::Clock;
use crate::payload::{KeyGen, Payloads};
use crate::plan::{PartitionPlan, RunPlan, StopPlan};
use crate::producer::worker::{
    stop_signal, HeaderSet, LiveCounter, PartitionChoice, Stamper, StopHandle, StopSignal, Worker,
};
use crate::producer::{self, Client};
use crate::recorder::{Recorded, SendStats};
use crate::rng::Rng;
use crate::scenario::client_config;
use crate::signal::Interrupts;

/// How long the purge reports of what was outstanding at the end of the grace may take to come
/// back (they are local: librdkafka answers them at once).
const PURGE_WAIT: Duration = Duration::from_secs(5);
/// How often the drain checks for outstanding deliveries.
const DRAIN_POLL: Duration = Duration::from_millis(5);

/// How one run is placed among others: as a shard of a larger run, at an agreed start time.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOpts {
    /// Drive workers `index*W .. (index+1)*W` of `count*W`: a `1/count` share of the rate and
    /// of the messages, on a schedule that interleaves exactly with the other shards' (the plan
    /// is built with it).
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
    /// What the plan made due (the counts' `scheduled`).
    pub scheduled: crate::plan::Scheduled,
    pub wall: Duration,
    pub cpu_s: Option<f64>,
    /// Messages the topic's partitions received during the run (high watermarks after - before).
    pub landed: Option<u64>,
    /// librdkafka's latest statistics, summed over instances (at most one interval old).
    pub client: Option<producer::ClientStats>,
    /// Every statistics report of every instance (one per interval each).
    pub reports: Vec<Vec<crate::recorder::stats::StatsReport>>,
    /// What the instances' transactions did, merged (with `producer.transaction`).
    pub transactions: Option<TxnTotals>,
    /// Wall-clock time of t0, in ms since the Unix epoch.
    pub t0_unix_ms: u64,
    /// An external engine's run: its client, versions, configuration and cost.
    pub engine: Option<engines::EngineRun>,
}

/// Everything a run sets up before its clock starts.
struct Prepared {
    embedded: Option<Embedded>,
    bootstrap: String,
    config: rdkafka::ClientConfig,
    /// The librdkafka clients: every instance's, or (an external engine's run) one that only
    /// prepares the topic and reads watermarks.
    clients: Vec<Arc<Client>>,
    /// The instances that send: the clients, or the engines.
    instances: Vec<Instance>,
    payloads: Arc<Payloads>,
    topic: TopicInfo,
    txns: Vec<Arc<Txn>>,
    /// The topics' high watermarks before the load (what landed is counted from them).
    before: Option<u64>,
    /// This run's tag in the `[consume]` stamp.
    random: u64,
    consumers: Option<Arc<crate::consumer::Consumers>>,
    consume_events: Vec<Event>,
}

impl Prepared {
    /// Starts the clients' and consumers' clocks, the backlog watch and the workers; returns the
    /// workers' results to come, the live counters and the backlog watch.
    #[allow(clippy::type_complexity)]
    fn start_load(
        &self,
        plan: &RunPlan,
        clock: Clock,
        stop: &StopSignal,
    ) -> Result<
        (
            Vec<Receiver<SendStats>>,
            Live,
            Option<consume::BacklogWatch>,
        ),
        BrokerError,
    > {
        for i in &self.instances {
            i.context().start(clock);
            if let Instance::Engine(e) = i {
                e.start_clock(clock);
            }
        }
        self.consumers.iter().for_each(|c| c.set_clock(clock));
        let backlog = self
            .consumers
            .as_ref()
            .and_then(|c| consume::watch_backlog(plan, c, &self.instances, clock));
        let tag = self.consumers.as_ref().map(|_| self.random);
        let to = Sending {
            instances: &self.instances,
            txns: &self.txns,
            topic: &self.topic,
            payloads: &self.payloads,
        };
        let (handles, sent) = spawn_workers(plan, to, clock, stop, tag)?;
        let live = Live {
            sent,
            contexts: self.instances.clone(),
            clock,
            target_rate: plan.target_rate,
            consumers: self.consumers.clone(),
        };
        Ok((handles, live, backlog))
    }
}

/// The cluster (embedded or not), the clients, the topic, the transactions, the watermarks
/// before the load and the `[consume]` consumers.
async fn prepare(plan: &RunPlan) -> Result<Prepared, BrokerError> {
    let s = &plan.scenario;
    let (embedded, bootstrap) = start_cluster(s)?;
    let config = client_config(s, &bootstrap);
    let external = s.producer.engine.is_external();
    let clients = create_clients(plan, &config, external)?;
    let topic = prepare_topic(s, &clients, &config, &bootstrap).await?;
    let txns = start_transactions(plan, &clients).await?;
    let payloads = Arc::new(
        Payloads::between(&s.message, s.min_payload(), s.max_payload())?
            .scrambled(s.producer.compression != crate::scenario::Compression::None),
    );
    let instances = match external {
        false => clients.iter().cloned().map(Instance::Rdkafka).collect(),
        true => start_engines(plan, &bootstrap, payloads.pool())?,
    };
    let watermark_timeout = s.cluster.connect_timeout.0.min(Duration::from_secs(5));
    let names = s.topic.names();
    let before =
        broker::high_watermarks(&config, &names, topic.partitions, watermark_timeout).await;
    let random = consume::run_random();
    let (consumers, consume_events) =
        consume::start(plan, &config, &bootstrap, &topic, random).await?;
    Ok(Prepared {
        embedded,
        bootstrap,
        config,
        clients,
        instances,
        payloads,
        topic,
        txns,
        before,
        random,
        consumers: consumers.map(Arc::new),
        consume_events,
    })
}

/// Carries out one run's plan. `on_start` receives live counters once the load starts
/// (progress line).
pub async fn execute(
    plan: &RunPlan,
    opts: &RunOpts,
    interrupts: &Interrupts,
    on_start: impl FnOnce(Live),
) -> Result<RunOutput, BrokerError> {
    let s = &plan.scenario;
    let mut p = prepare(plan).await?;
    let watermark_timeout = s.cluster.connect_timeout.0.min(Duration::from_secs(5));
    let names = s.topic.names();
    let cpu_start = crate::usage::process_cpu_s();
    let (started, t0_wall) = start_instant(opts.start_at, interrupts).await?;
    let clock = Clock::starting_at(started);
    let (stop, stop_signal) = stop_signal();
    let (handles, live, backlog) = p.start_load(plan, clock, &stop_signal)?;
    tracing::info!(target: "kbench", "load started: {} workers", plan.workers.len());
    on_start(live);
    let timed_out = Arc::new(AtomicBool::new(false));
    let guard = spawn_stopper(plan, &stop, interrupts, clock, timed_out.clone());
    let fault_events = RefCell::new(Vec::new());
    let (send, transactions) = send_and_drain(
        plan,
        p.embedded.as_ref(),
        &p.clients,
        &p.instances,
        &p.txns,
        handles,
        guard,
        interrupts,
        clock,
        &fault_events,
    )
    .await;
    let mut consumed = match p.consumers.take() {
        Some(c) => Some(consume::finish_all(s, c, backlog, &p.instances, interrupts).await),
        None => None,
    };
    let interrupted = interrupts.count() > 0;
    let after =
        broker::settled_high_watermarks(&p.config, &names, p.topic.partitions, watermark_timeout)
            .await;
    let landed = p.before.zip(after).map(|(b, a)| a.saturating_sub(b));
    let timed_out = timed_out.load(Ordering::Acquire);
    let mut events = fault_events.into_inner();
    events.append(&mut p.consume_events);
    events.extend(
        consumed
            .iter_mut()
            .flat_map(|c| std::mem::take(&mut c.events)),
    );
    events.extend(end_events(plan, interrupted, timed_out));
    // A run by count cut short (load.timeout, or transactions that could not go on) leaves the
    // rest of its count unsent.
    let cut_short = timed_out || p.txns.iter().any(|t| t.broken().is_some());
    let ended = finish::Ended {
        interrupted,
        cut_short,
    };
    let (mut recorded, scheduled, client, client_events) = collect(plan, &p.instances, send, ended);
    recorded.consumed = consumed;
    let reports = p
        .instances
        .iter()
        .map(|c| c.context().take_reports())
        .collect();
    events.extend(client_events);
    let engine = engines::report(&p.instances, started.elapsed().as_secs_f64(), &mut events);
    events.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
    let wall = started.elapsed();
    let cpu_s = cpu_start
        .zip(crate::usage::process_cpu_s())
        .map(|(a, b)| b - a);
    if s.topic.delete_after && !p.topic.created.is_empty() {
        events.push(delete_created(&p.config, &p.topic.created, watermark_timeout, wall).await);
    }
    // Dropping a producer purges what is left and waits for librdkafka: off the runtime threads.
    let (clients, instances) = (p.clients, p.instances);
    let _ = tokio::task::spawn_blocking(move || drop((clients, instances))).await;
    // The mock cluster (not `Send`) stops last, once no client talks to it.
    drop(p.embedded);
    Ok(RunOutput {
        recorded,
        bootstrap: p.bootstrap,
        topic: p.topic,
        events,
        interrupted,
        scheduled,
        wall,
        cpu_s,
        landed,
        client,
        reports,
        transactions,
        t0_unix_ms: unix_ms(t0_wall),
        engine,
    })
}

/// Milliseconds since the Unix epoch.
fn unix_ms(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Deletes the topics this run created (`topic.delete_after`); the event says how it went.
async fn delete_created(
    config: &rdkafka::ClientConfig,
    created: &[String],
    timeout: Duration,
    wall: Duration,
) -> Event {
    let detail = match broker::delete_topics(config, created, timeout).await {
        Ok(()) => format!(
            "deleted the {} topics this run created (topic.delete_after)",
            created.len()
        ),
        Err(e) => format!("topic.delete_after: could not delete every topic this run created: {e}"),
    };
    Event {
        t_s: wall.as_secs_f64(),
        kind: crate::event::EventKind::TopicsDeleted,
        detail,
        repeats: 0,
        recovery_s: None,
    }
}

/// Where the workers send: the instances, their transactions, the topic, the payloads.
#[derive(Clone, Copy)]
struct Sending<'a> {
    instances: &'a [Instance],
    txns: &'a [Arc<Txn>],
    topic: &'a TopicInfo,
    payloads: &'a Arc<Payloads>,
}

/// One engine process per planned instance, each recording into its own context.
fn start_engines(
    plan: &RunPlan,
    bootstrap: &str,
    pool: &[u8],
) -> Result<Vec<Instance>, BrokerError> {
    (0..plan.instances.len())
        .map(|i| {
            let (context, _) = setup::context_for(plan, i);
            // Every worker of the instance has a slot (the engine's own goroutine in sync mode).
            let slots = plan.workers.iter().filter(|w| w.instance == i).count();
            engines::start(plan, bootstrap, context, slots, pool)
                .map(|e| Instance::Engine(Arc::new(e)))
        })
        .collect()
}

/// Starts every planned worker on its own thread; returns their results and live counters.
#[allow(clippy::type_complexity)]
fn spawn_workers(
    plan: &RunPlan,
    to: Sending<'_>,
    clock: Clock,
    stop: &StopSignal,
    stamp_random: Option<u64>,
) -> Result<(Vec<Receiver<SendStats>>, Vec<Arc<LiveCounter>>), BrokerError> {
    let shard = plan.shard.map_or(0, |sh| sh.index);
    let s = &plan.scenario;
    let (payloads, topic) = (to.payloads, to.topic);
    let headers = Arc::new(HeaderSet::new(&s.message.headers, s.message.seed));
    let topics: Arc<[Arc<str>]> = s
        .topic
        .names()
        .iter()
        .map(|n| Arc::from(n.as_str()))
        .collect();
    let pick = crate::payload::TopicPick::new(&s.topic.distribution, s.topic.count);
    let mut handles = Vec::new();
    let mut live = Vec::new();
    for (local, w) in plan.workers.iter().enumerate() {
        let live_sent = Arc::<LiveCounter>::default();
        live.push(live_sent.clone());
        let worker = Worker {
            index: w.global,
            workers: plan.total_workers(),
            slot: w.slot,
            sync_batch: s.producer.sync_batch as usize,
            sink: to.instances[w.instance].sink(),
            topics: topics.clone(),
            pick: pick.clone(),
            mode: s.producer.mode,
            plan: w.timing.clone(),
            clock,
            interval_us: plan.interval_us,
            payloads: payloads.clone(),
            keys: KeyGen::new(&s.message),
            headers: headers.clone(),
            phases: plan.phases.clone(),
            rng: Rng::new(w.seed),
            stop: stop.clone(),
            live_sent,
            partition: match w.partition {
                PartitionPlan::Client => PartitionChoice::Client,
                PartitionPlan::RoundRobin => PartitionChoice::RoundRobin(topic.partitions),
                PartitionPlan::Fixed(n) => PartitionChoice::Fixed(n),
            },
            txn: to.txns.get(w.instance).cloned(),
            stamper: stamp_random.map(|r| Stamper::new(crate::stamp::tag(r, shard), local as u32)),
        };
        handles.push(
            spawn_worker(worker)
                .map_err(|e| BrokerError::Client(format!("cannot start a worker thread: {e}")))?,
        );
    }
    Ok((handles, live))
}

/// Joins the workers, then drains their outstanding deliveries, with the fault schedule running
/// beside both (in this non-`Send` future, which borrows the mock cluster; it is dropped when the
/// drain ends).
#[allow(clippy::too_many_arguments)]
async fn send_and_drain(
    plan: &RunPlan,
    embedded: Option<&Embedded>,
    clients: &[Arc<Client>],
    instances: &[Instance],
    txns: &[Arc<Txn>],
    handles: Vec<Receiver<SendStats>>,
    stopper: tokio::task::JoinHandle<()>,
    interrupts: &Interrupts,
    clock: Clock,
    fault_events: &RefCell<Vec<Event>>,
) -> (SendStats, Option<TxnTotals>) {
    let execs = RefCell::new(crate::fault::Execs::default());
    let mut faults = std::pin::pin!(async {
        crate::fault::drive(embedded, &plan.faults, clock, fault_events, &execs).await;
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
    stopper.abort();
    // The last transactions end before the drain (their commit flushes them).
    let transactions = finish_transactions(txns, clients, clock).await;
    let enqueued = send.sent + send.warmup_sent
        - send.local_failures.failed
        - send.local_failures_warmup.failed;
    let grace = plan.scenario.load.grace.0;
    if plan.scenario.producer.engine.is_external() {
        tokio::select! {
            _ = engines::finish_all(instances, grace, interrupts) => {},
            _ = faults.as_mut() => unreachable!("the fault future never completes"),
        }
    } else {
        tokio::select! {
            _ = drain(clients, enqueued, grace, interrupts) => {},
            _ = faults.as_mut() => unreachable!("the fault future never completes"),
        }
    }
    // The run is over: commands still running are killed, and what they reported is kept.
    fault_events
        .borrow_mut()
        .extend(execs.take().finish(&clock));
    fault_events.borrow_mut().extend(txn_events(txns));
    (send, transactions)
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

/// Stops the workers on an interrupt, or at the plan's stop instant: a duration run's end (plus
/// slack), or `load.timeout` for a run by count (then `timed_out` is set). Every run ends, even
/// against a dead broker.
fn spawn_stopper(
    plan: &RunPlan,
    stop: &StopHandle,
    interrupts: &Interrupts,
    clock: Clock,
    timed_out: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    let StopPlan { at, is_timeout } = plan.stop;
    let stop = stop.clone();
    let interrupts = interrupts.clone();
    tokio::spawn(async move {
        let at = tokio::time::Instant::from_std(clock.instant_at_ns(at.as_nanos() as u64));
        tokio::select! {
            _ = tokio::time::sleep_until(at) => timed_out.store(is_timeout, Ordering::Release),
            _ = interrupts.at_least(1) => {}
        }
        stop.stop();
    })
}
