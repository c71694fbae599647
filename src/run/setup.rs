//! The start of a run: the cluster (embedded or external), one librdkafka client per planned
//! instance, and the topic.

use std::sync::Arc;

use rdkafka::producer::Producer as _;

use crate::broker::{self, BrokerError, Embedded, TopicInfo};
use crate::plan::RunPlan;
use crate::producer::{self, Client, Context};
use crate::recorder::InstanceRecorder;
use crate::scenario::Scenario;

/// The embedded broker (with the scenario's topic), or the external cluster's bootstrap list.
pub(super) fn start_cluster(s: &Scenario) -> Result<(Option<Embedded>, String), BrokerError> {
    match &s.cluster.bootstrap {
        None => {
            let e = Embedded::start(s.cluster.brokers)?;
            let started = std::time::Instant::now();
            e.create_topics(&s.topic.names(), s.topic.partitions, s.topic.replication)?;
            if s.topic.count > 1 {
                tracing::info!(target: "kbench", "created {} topics in {:?}", s.topic.count, started.elapsed());
            }
            let bootstrap = e.bootstrap().to_string();
            Ok((Some(e), bootstrap))
        }
        Some(b) => Ok((None, b.clone())),
    }
}

/// Instance `i`'s context (its recorder shard and sync slots), and its sync slots.
pub(super) fn context_for(plan: &RunPlan, i: usize) -> (Context, usize) {
    let s = &plan.scenario;
    let inst = &plan.instances[i];
    let shard = InstanceRecorder::new(plan.interval_us, plan.warmup_end_us)
        .with_phases(plan.phases.clone())
        .window_end(plan.window_end_us())
        .unpaced(plan.curve.is_none())
        .per_topic(s.topic.count > 1);
    let ctx = Context::new(
        s.producer.mode,
        shard,
        inst.sync_slots,
        s.producer.sync_batch as usize,
    )
    .with_topics(&s.topic.names());
    (ctx, inst.sync_slots)
}

/// One librdkafka client per planned instance, each recording into its own shard; with
/// `setup_only` (an external engine sends), one client that only prepares the topic.
pub(super) fn create_clients(
    plan: &RunPlan,
    config: &rdkafka::ClientConfig,
    setup_only: bool,
) -> Result<Vec<Arc<Client>>, BrokerError> {
    let s = &plan.scenario;
    let count = if setup_only { 1 } else { plan.instances.len() };
    (0..count)
        .map(|i| {
            let (ctx, _) = context_for(plan, i);
            let mut config = config.clone();
            if let Some(t) = &s.producer.transaction {
                let id = t.id.clone().unwrap_or_else(|| format!("kbench-{}", s.name));
                let shard = plan.shard.map_or(0, |sh| sh.index);
                config.set("transactional.id", format!("{id}-{shard}-{i}"));
            }
            producer::create(&config, ctx, i as u32).map_err(|e| {
                // librdkafka quotes property values in configuration errors: no secrets in them.
                BrokerError::Client(crate::scenario::render::scrub(s, &e.to_string()))
            })
        })
        .collect()
}

/// Waits for the cluster through the first client and makes sure the topic exists; errors carry
/// what the client itself reported, scrubbed of secrets.
pub(super) async fn prepare_topic(
    s: &Scenario,
    clients: &[Arc<Client>],
    config: &rdkafka::ClientConfig,
    bootstrap: &str,
) -> Result<TopicInfo, BrokerError> {
    broker::prepare(
        &clients[0],
        config,
        bootstrap,
        &s.topic,
        s.cluster.connect_timeout.0,
    )
    .await
    .map_err(|e| with_client_events(e, clients))
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
        BrokerError::Refused { bootstrap, detail } => BrokerError::Refused {
            bootstrap,
            detail: crate::scenario::render::scrub(s, &detail),
        },
        other => other,
    })
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
