//! The cluster a run talks to: the embedded mock cluster, or an external one reached by bootstrap
//! servers; and the checks that happen before any load starts (reachable, topic present).
//!
//! The embedded broker is librdkafka's mock cluster, started in-process: real Kafka protocol on
//! 127.0.0.1, several brokers, in-memory partitions. It is a stand-in, not a benchmark target: it
//! answers a produce request right after the in-memory append, so `acks=1` and `acks=all` cost the
//! same; it keeps only a few MiB per partition; one thread serves all brokers. Run summaries say so.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::ClientConfig;

use rdkafka::error::KafkaResult;
use rdkafka::metadata::Metadata;

use crate::scenario::Topic;

/// Something that can fetch the cluster's metadata: the run's first producer client, so a
/// connection failure is seen (and reported) by the client the load will use.
pub trait MetadataSource: Send + Sync + 'static {
    /// All topics' metadata (asking for one topic can auto-create it on the broker).
    fn fetch_metadata(&self, timeout: Duration) -> KafkaResult<Metadata>;
    /// An error retrying cannot cure (failed authentication, a TLS handshake refused), if the
    /// client has reported one: waiting for the rest of the timeout would only delay it.
    fn fatal_error(&self) -> Option<String>;
}

/// How long one metadata request may take before the fatal-error check runs again.
const METADATA_SLICE: Duration = Duration::from_millis(500);

/// The cluster could not be used: exit code 3.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot reach the cluster at {bootstrap} within {timeout:?}: {detail}")]
    Unreachable {
        bootstrap: String,
        timeout: Duration,
        detail: String,
    },
    #[error("the cluster at {bootstrap} refused the client: {detail}")]
    Refused { bootstrap: String, detail: String },
    #[error("topic {topic:?} does not exist and [topic] create = false")]
    TopicMissing { topic: String },
    #[error("cannot create topic {topic:?}: {detail}")]
    CreateTopic { topic: String, detail: String },
    #[error("embedded broker: {0}")]
    Embedded(String),
    #[error("cannot create the producer client: {0}")]
    Client(String),
    #[error("cannot prepare the message payloads: {0}")]
    Payload(String),
    #[error("the start time passed {0:?} ago, more than the 5 s a shard may be late")]
    StartPassed(Duration),
}

/// What the summary must say about the embedded broker.
pub const EMBEDDED_NOTES: [&str; 3] = [
    "embedded broker (librdkafka mock cluster): acks are not honoured, so acks=1 and acks=all cost the same",
    "embedded broker keeps only a few MiB per partition and serves all brokers from one thread: not a real cluster's numbers",
    "load generator and broker share this machine's CPUs",
];

/// The in-process mock cluster.
pub struct Embedded {
    cluster: MockCluster<'static, DefaultProducerContext>,
    bootstrap: String,
}

impl Embedded {
    pub fn start(brokers: u32) -> Result<Self, BrokerError> {
        let cluster =
            MockCluster::new(brokers as i32).map_err(|e| BrokerError::Embedded(e.to_string()))?;
        let bootstrap = cluster.bootstrap_servers();
        Ok(Embedded { cluster, bootstrap })
    }

    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// Makes a broker (-1: all) refuse connections.
    pub fn broker_down(&self, id: i32) -> Result<(), String> {
        self.cluster.broker_down(id).map_err(|e| e.to_string())
    }

    /// Makes a broker (-1: all) accept connections again.
    pub fn broker_up(&self, id: i32) -> Result<(), String> {
        self.cluster.broker_up(id).map_err(|e| e.to_string())
    }

    /// Sets the added round-trip time of a broker (-1: all); zero removes it.
    pub fn round_trip(&self, id: i32, rtt: Duration) -> Result<(), String> {
        self.cluster
            .broker_round_trip_time(id, rtt)
            .map_err(|e| e.to_string())
    }

    /// Makes the next `count` produce requests fail with `code`.
    pub fn produce_errors(&self, code: rdkafka::types::RDKafkaRespErr, count: usize) {
        self.cluster
            .request_errors(rdkafka::types::RDKafkaApiKey::Produce, &vec![code; count]);
    }

    pub fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        replication: u32,
    ) -> Result<(), BrokerError> {
        self.cluster
            .create_topic(name, partitions as i32, replication as i32)
            .map_err(|e| BrokerError::CreateTopic {
                topic: name.to_string(),
                detail: e.to_string(),
            })
    }
}

/// The topic as the cluster reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub partitions: u32,
    /// Set when the topic's partition count differs from the scenario's.
    pub warning: Option<String>,
}

/// Waits for the cluster's metadata (bounded by `timeout`) and makes sure the topic exists,
/// creating it on an external cluster when `topic.create` allows.
pub async fn prepare(
    client: &std::sync::Arc<impl MetadataSource>,
    config: &ClientConfig,
    bootstrap: &str,
    topic: &Topic,
    timeout: Duration,
) -> Result<TopicInfo, BrokerError> {
    let partitions = match partitions_of(client, &topic.name, bootstrap, timeout).await? {
        Some(n) => n,
        None if !topic.create => {
            return Err(BrokerError::TopicMissing {
                topic: topic.name.clone(),
            })
        }
        None => {
            create_external(config, topic, timeout).await?;
            wait_for_topic(client, topic, bootstrap, timeout).await?
        }
    };
    let warning = (partitions != topic.partitions).then(|| {
        format!(
            "topic {:?} has {partitions} partitions, the scenario asks for {}: using the existing {partitions}",
            topic.name, topic.partitions
        )
    });
    Ok(TopicInfo {
        partitions,
        warning,
    })
}

/// The topic's partition count, or `None` when the cluster does not have it. Asks in slices of
/// [`METADATA_SLICE`] up to `timeout`, and stops at once on a fatal client error.
async fn partitions_of(
    client: &std::sync::Arc<impl MetadataSource>,
    name: &str,
    bootstrap: &str,
    timeout: Duration,
) -> Result<Option<u32>, BrokerError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let unreachable = |detail: String| BrokerError::Unreachable {
        bootstrap: bootstrap.to_string(),
        timeout,
        detail,
    };
    let md = loop {
        let c = client.clone();
        let slice =
            METADATA_SLICE.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        let md = tokio::task::spawn_blocking(move || c.fetch_metadata(slice))
            .await
            .map_err(|e| BrokerError::Client(e.to_string()))?;
        match md {
            Ok(md) => break md,
            Err(e) => {
                if let Some(detail) = client.fatal_error() {
                    return Err(BrokerError::Refused {
                        bootstrap: bootstrap.to_string(),
                        detail,
                    });
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(unreachable(e.to_string()));
                }
            }
        }
    };
    Ok(md
        .topics()
        .iter()
        .find(|t| t.name() == name && t.error().is_none())
        .map(|t| t.partitions().len() as u32))
}

async fn create_external(
    config: &ClientConfig,
    topic: &Topic,
    timeout: Duration,
) -> Result<(), BrokerError> {
    let err = |detail: String| BrokerError::CreateTopic {
        topic: topic.name.clone(),
        detail,
    };
    let admin: AdminClient<DefaultClientContext> =
        config.create().map_err(|e| err(e.to_string()))?;
    let mut new = NewTopic::new(
        &topic.name,
        topic.partitions as i32,
        TopicReplication::Fixed(topic.replication as i32),
    );
    for (k, v) in &topic.configs {
        new = new.set(k, v);
    }
    let opts = AdminOptions::new().operation_timeout(Some(timeout));
    let results = admin
        .create_topics([&new], &opts)
        .await
        .map_err(|e| err(e.to_string()))?;
    for r in results {
        if let Err((_, code)) = r {
            if code != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists {
                return Err(err(code.to_string()));
            }
        }
    }
    Ok(())
}

async fn wait_for_topic(
    client: &std::sync::Arc<impl MetadataSource>,
    topic: &Topic,
    bootstrap: &str,
    timeout: Duration,
) -> Result<u32, BrokerError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(n) = partitions_of(client, &topic.name, bootstrap, timeout).await? {
            return Ok(n);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(BrokerError::CreateTopic {
                topic: topic.name.clone(),
                detail: "created, but it did not appear in the cluster's metadata".into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The sum of the topic's high watermarks: how many messages its partitions ever received. Read
/// before and after a run, the difference is what landed (duplicates included). `None` when the
/// cluster does not answer within `timeout`.
pub async fn high_watermarks(
    config: &ClientConfig,
    topic: &str,
    partitions: u32,
    timeout: Duration,
) -> Option<u64> {
    let ends = partition_ends(config, topic, partitions, timeout).await?;
    Some(ends.iter().map(|&h| h.max(0) as u64).sum())
}

/// Each partition's high watermark (the offset its next record gets), or `None` when the cluster
/// did not say for every partition.
pub async fn partition_ends(
    config: &ClientConfig,
    topic: &str,
    partitions: u32,
    timeout: Duration,
) -> Option<Vec<i64>> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = config.create().ok()?;
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        (0..partitions as i32)
            .map(|p| {
                consumer
                    .fetch_watermarks(&topic, p, timeout)
                    .ok()
                    .map(|w| w.1)
            })
            .collect()
    })
    .await
    .ok()
    .flatten()
}

/// [`high_watermarks`] once they stop moving: a broker may advance its high watermark a moment
/// after the ack (followers catching up), so this re-reads every 100 ms until three reads agree,
/// for at most 2 s. It waits for stability, never for a particular value.
pub async fn settled_high_watermarks(
    config: &ClientConfig,
    topic: &str,
    partitions: u32,
    timeout: Duration,
) -> Option<u64> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    let mut last = high_watermarks(config, topic, partitions, timeout).await?;
    let mut same = 1;
    while same < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = high_watermarks(config, topic, partitions, timeout).await?;
        same = if now == last { same + 1 } else { 1 };
        last = now;
    }
    Some(last)
}
