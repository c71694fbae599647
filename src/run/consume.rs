//! The run's side of `[consume]`: where the consumers start, waiting for a group to form before
//! t0, watching a backlog drain, and the wait for the last messages after the producers' drain.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::ClientConfig;

use super::Instance;
use crate::broker::{self, BrokerError, TopicInfo};
use crate::consumer::{ConsumerSpec, Consumers};
use crate::event::Event;
use crate::pacing::Clock;
use crate::plan::RunPlan;
use crate::recorder::{Backlog, Consumed};
use crate::scenario::consume::{group_id, ConsumeMode};
use crate::signal::Interrupts;

/// How often the run checks the consumers' progress.
const POLL: Duration = Duration::from_millis(5);
/// The longest wait for a consumer group to form before the load starts.
const MAX_GROUP_WAIT: Duration = Duration::from_secs(30);

/// A random number per run: its stamps' tag (with the shard mixed in) and its id in `{run}`.
pub(super) fn run_random() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut rng = crate::rng::Rng::new(nanos ^ ((std::process::id() as u64) << 40));
    rng.next_u64()
}

/// Starts the consumers of a `[consume]` run at the topic's current ends; in group mode without
/// `start_after`, waits (bounded) until the group has spread every partition, so the load starts
/// on a formed group. `None` without `[consume]`.
pub(super) async fn start(
    plan: &RunPlan,
    config: &ClientConfig,
    bootstrap: &str,
    topic: &TopicInfo,
    random: u64,
) -> Result<(Option<Consumers>, Vec<Event>), BrokerError> {
    let s = &plan.scenario;
    let Some(c) = &s.consume else {
        return Ok((None, Vec::new()));
    };
    let timeout = s.cluster.connect_timeout.0;
    let names = s.topic.names();
    let start_offsets = broker::topic_ends(config, &names, topic.partitions, timeout)
        .await
        .ok_or_else(|| {
            BrokerError::Client(format!(
                "[consume]: the cluster did not give the end offsets of {:?} within {timeout:?}",
                s.topic.name
            ))
        })?;
    let shard = plan.shard.map_or(0, |sh| sh.index);
    let group = group_id(c, &format!("{random:016x}-{shard}"));
    let spec = ConsumerSpec {
        properties: crate::scenario::render::consumer_properties(s, bootstrap, &group),
        topics: names,
        partitions: topic.partitions,
        mode: c.mode,
        consumers: c.consumers,
        start_offsets,
        tag: crate::stamp::tag(random, shard),
        interval_us: plan.interval_us,
        warmup_end_us: plan.warmup_end_us,
        start_after_us: c.start_after.0.as_micros() as u64,
    };
    let consumers = Consumers::start(&spec)
        .map_err(|e| BrokerError::Client(crate::scenario::render::scrub(s, &e.to_string())))?;
    let mut events = Vec::new();
    if c.mode == ConsumeMode::Group && c.start_after.0.is_zero() {
        let wait = timeout.max(MAX_GROUP_WAIT);
        let total = topic.partitions * s.topic.count;
        if !group_formed(&consumers, total, wait).await {
            events.push(Event {
                t_s: 0.0,
                kind: crate::event::EventKind::ConsumerGroup,
                detail: format!(
                    "group {group:?} had not assigned all {total} partitions to its {} consumers within {wait:?}: the load started anyway, and the first messages' e2e latency includes the wait",
                    c.consumers
                ),
                repeats: 0,
                recovery_s: None,
            });
        }
    }
    Ok((Some(consumers), events))
}

/// Every partition assigned, and every consumer that can have one has one.
async fn group_formed(consumers: &Consumers, partitions: u32, wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let assigned = consumers.assigned();
        let busy = assigned.iter().filter(|&&n| n > 0).count() as u32;
        let total: u32 = assigned.iter().sum();
        if total >= partitions && busy >= partitions.min(assigned.len() as u32) {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Where the backlog watcher leaves what it saw.
pub(super) type BacklogSlot = Arc<Mutex<Option<Backlog>>>;

/// With `start_after`: waits for the consumers' start, notes the backlog, and follows the lag
/// until it is back to about zero (at most 1 % of the backlog, the target rate's messages of
/// 50 ms plus `producer.linger`, or one message). Runs beside the load; the run aborts it when it ends.
/// A backlog watch: its figure, and the task that fills it.
pub(super) type BacklogWatch = (BacklogSlot, tokio::task::JoinHandle<()>);

pub(super) fn watch_backlog(
    plan: &RunPlan,
    consumers: &Arc<Consumers>,
    clients: &[Instance],
    clock: Clock,
) -> Option<BacklogWatch> {
    let c = plan.scenario.consume.as_ref()?;
    if c.start_after.0.is_zero() {
        return None;
    }
    let start_us = c.start_after.0.as_micros() as u64;
    // What a batch in the making holds: acks come a linger's worth at a time.
    let window = 0.05 + plan.scenario.producer.linger.0.as_secs_f64();
    let per_window = plan.target_rate.map_or(0.0, |r| r * window) as u64;
    let out = Arc::new(Mutex::new(None));
    let (consumers, clients, slot) = (consumers.clone(), clients.to_vec(), out.clone());
    let task = tokio::spawn(async move {
        let at = tokio::time::Instant::from_std(clock.instant_at_ns(start_us * 1000));
        tokio::time::sleep_until(at).await;
        let start_consumed = consumers.consumed();
        let messages = super::acked_total(&clients).saturating_sub(start_consumed);
        let threshold = (messages / 100).max(per_window).max(1);
        let set = |b: Backlog| *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(b);
        let mut b = Backlog {
            start_us,
            messages,
            caught_up_us: None,
            drained: 0,
        };
        set(b);
        loop {
            tokio::time::sleep(POLL).await;
            let consumed = consumers.consumed();
            b.drained = consumed - start_consumed;
            if super::acked_total(&clients).saturating_sub(consumed) <= threshold {
                b.caught_up_us = Some(clock.now_us());
                set(b);
                return;
            }
            set(b);
        }
    });
    Some((out, task))
}

/// The consumers' end: [`finish`] within `[consume] grace`, with the backlog watch (if any)
/// stopped and its figure kept.
pub(super) async fn finish_all(
    s: &crate::scenario::Scenario,
    consumers: Arc<Consumers>,
    backlog: Option<BacklogWatch>,
    clients: &[Instance],
    interrupts: &Interrupts,
) -> Consumed {
    let grace = s.consume.as_ref().map_or(Duration::ZERO, |c| c.grace.0);
    let mut consumed = finish(consumers, clients, grace, interrupts).await;
    if let Some((b, task)) = backlog {
        task.abort();
        consumed.backlog = *b.lock().unwrap_or_else(|p| p.into_inner());
    }
    consumed
}

/// After the producers' drain: waits until the consumers have read every acked message (at most
/// `consume.grace`, or until a second interrupt), then stops them and merges what they recorded.
pub(super) async fn finish(
    consumers: Arc<Consumers>,
    clients: &[Instance],
    grace: Duration,
    interrupts: &Interrupts,
) -> Consumed {
    let deadline = tokio::time::Instant::now() + grace;
    while consumers.consumed() < super::acked_total(clients)
        && tokio::time::Instant::now() < deadline
    {
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = interrupts.at_least(2) => break,
        }
    }
    tokio::task::spawn_blocking(move || consumers.finish())
        .await
        .unwrap_or_else(|_| Consumed::merge(Vec::new()))
}
