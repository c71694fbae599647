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
    Payload(#[from] crate::payload::PayloadError),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
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
    pub fn broker_down(&self, id: i32) -> Result<(), BrokerError> {
        self.cluster
            .broker_down(id)
            .map_err(|e| BrokerError::Embedded(e.to_string()))
    }

    /// Makes a broker (-1: all) accept connections again.
    pub fn broker_up(&self, id: i32) -> Result<(), BrokerError> {
        self.cluster
            .broker_up(id)
            .map_err(|e| BrokerError::Embedded(e.to_string()))
    }

    /// Sets the added round-trip time of a broker (-1: all); zero removes it.
    pub fn round_trip(&self, id: i32, rtt: Duration) -> Result<(), BrokerError> {
        self.cluster
            .broker_round_trip_time(id, rtt)
            .map_err(|e| BrokerError::Embedded(e.to_string()))
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

    /// Creates many topics. The mock cluster's thread serves creations in waves, and one at a
    /// time each waited about 0.1 s (1,000 topics took 2 minutes), so they are asked for from up
    /// to [`CREATE_THREADS`] threads at once (the mock takes requests through one locked queue):
    /// 1,000 topics then take about 2-3 s.
    pub fn create_topics(
        &self,
        names: &[String],
        partitions: u32,
        replication: u32,
    ) -> Result<(), BrokerError> {
        /// The mock cluster by reference, shared with the creating threads.
        struct Shared<'a>(&'a Embedded);
        // SAFETY: `rd_kafka_mock_topic_create` hands its work to the mock thread through a
        // locked op queue and waits for the reply; nothing else of the cluster is touched.
        unsafe impl Sync for Shared<'_> {}
        let shared = Shared(self);
        let chunk = names.len().div_ceil(CREATE_THREADS).max(1);
        std::thread::scope(|scope| {
            let handles: Vec<_> = names
                .chunks(chunk)
                .map(|part| {
                    let shared = &shared;
                    scope.spawn(move || {
                        part.iter()
                            .try_for_each(|n| shared.0.create_topic(n, partitions, replication))
                    })
                })
                .collect();
            handles.into_iter().try_for_each(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(BrokerError::Embedded(
                        "a topic-creating thread failed".into(),
                    ))
                })
            })
        })
    }
}

/// Threads that create an embedded broker's topics at once.
const CREATE_THREADS: usize = 500;

/// The topic as the cluster reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Partitions per topic (the largest, if the existing topics differ).
    pub partitions: u32,
    /// Set when a topic's partition count differs from the scenario's.
    pub warning: Option<String>,
    /// The topics this run created (external clusters).
    pub created: Vec<String>,
}

/// Waits for the cluster's metadata (bounded by `timeout`) and makes sure every topic of the
/// scenario exists, creating the missing ones on an external cluster (one admin request for all
/// of them) when `topic.create` allows.
pub async fn prepare(
    client: &std::sync::Arc<impl MetadataSource>,
    config: &ClientConfig,
    bootstrap: &str,
    topic: &Topic,
    timeout: Duration,
) -> Result<TopicInfo, BrokerError> {
    let names = topic.names();
    let mut found = partitions_of(client, &names, bootstrap, timeout).await?;
    let missing: Vec<String> = names
        .iter()
        .filter(|n| !found.contains_key(*n))
        .cloned()
        .collect();
    let mut created = Vec::new();
    if !missing.is_empty() {
        if !topic.create {
            let more = match missing.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            return Err(BrokerError::TopicMissing {
                topic: format!("{}{more}", missing[0]),
            });
        }
        create_external(config, topic, &missing, timeout).await?;
        found = wait_for_topics(client, &names, bootstrap, timeout).await?;
        created = missing;
    }
    let counts: Vec<u32> = names.iter().map(|n| found[n]).collect();
    let other: Vec<(&String, u32)> = names
        .iter()
        .zip(&counts)
        .filter(|(_, &n)| n != topic.partitions)
        .map(|(name, &n)| (name, n))
        .collect();
    let warning = match other.as_slice() {
        [] => None,
        [(name, n)] => Some(format!(
            "topic {name:?} has {n} partitions, the scenario asks for {}: using the existing {n}",
            topic.partitions
        )),
        [(first, n), ..] => Some(format!(
            "{} of {} topics have another partition count than the scenario's {} (e.g. {first:?} has {n}): using the existing ones",
            other.len(),
            names.len(),
            topic.partitions
        )),
    };
    Ok(TopicInfo {
        partitions: counts.iter().copied().max().unwrap_or(0),
        warning,
        created,
    })
}

/// The partition counts of those of `names` the cluster has. Asks in slices of
/// [`METADATA_SLICE`] up to `timeout`, and stops at once on a fatal client error.
async fn partitions_of(
    client: &std::sync::Arc<impl MetadataSource>,
    names: &[String],
    bootstrap: &str,
    timeout: Duration,
) -> Result<std::collections::HashMap<String, u32>, BrokerError> {
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
    let wanted: std::collections::HashSet<&str> = names.iter().map(String::as_str).collect();
    Ok(md
        .topics()
        .iter()
        .filter(|t| t.error().is_none() && wanted.contains(t.name()))
        .map(|t| (t.name().to_string(), t.partitions().len() as u32))
        .collect())
}

/// Creates `names` in one admin request (an existing one is not an error).
async fn create_external(
    config: &ClientConfig,
    topic: &Topic,
    names: &[String],
    timeout: Duration,
) -> Result<(), BrokerError> {
    let err = |detail: String| BrokerError::CreateTopic {
        topic: names[0].clone(),
        detail,
    };
    let admin: AdminClient<DefaultClientContext> =
        config.create().map_err(|e| err(e.to_string()))?;
    let new: Vec<NewTopic> = names
        .iter()
        .map(|name| {
            let mut new = NewTopic::new(
                name,
                topic.partitions as i32,
                TopicReplication::Fixed(topic.replication as i32),
            );
            for (k, v) in &topic.configs {
                new = new.set(k, v);
            }
            new
        })
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(timeout));
    let results = admin
        .create_topics(new.iter(), &opts)
        .await
        .map_err(|e| err(e.to_string()))?;
    for r in results {
        if let Err((name, code)) = r {
            if code != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists {
                return Err(BrokerError::CreateTopic {
                    topic: name,
                    detail: code.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Deletes `names` (the topics a run created, with `topic.delete_after`); what went wrong, if
/// anything.
pub async fn delete_topics(
    config: &ClientConfig,
    names: &[String],
    timeout: Duration,
) -> Result<(), String> {
    if names.is_empty() {
        return Ok(());
    }
    let admin: AdminClient<DefaultClientContext> = config.create().map_err(|e| e.to_string())?;
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let opts = AdminOptions::new().operation_timeout(Some(timeout));
    let results = admin
        .delete_topics(&refs, &opts)
        .await
        .map_err(|e| e.to_string())?;
    let failed: Vec<String> = results
        .into_iter()
        .filter_map(|r| r.err().map(|(name, code)| format!("{name}: {code}")))
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join(", "))
    }
}

async fn wait_for_topics(
    client: &std::sync::Arc<impl MetadataSource>,
    names: &[String],
    bootstrap: &str,
    timeout: Duration,
) -> Result<std::collections::HashMap<String, u32>, BrokerError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let found = partitions_of(client, names, bootstrap, timeout).await?;
        if let Some(missing) = names.iter().find(|n| !found.contains_key(*n)) {
            if tokio::time::Instant::now() >= deadline {
                return Err(BrokerError::CreateTopic {
                    topic: missing.clone(),
                    detail: "created, but it did not appear in the cluster's metadata".into(),
                });
            }
        } else {
            return Ok(found);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The sum of the topic's high watermarks: how many messages its partitions ever received. Read
/// before and after a run, the difference is what landed (duplicates included). `None` when the
/// cluster does not answer within `timeout`.
pub async fn high_watermarks(
    config: &ClientConfig,
    topics: &[String],
    partitions: u32,
    timeout: Duration,
) -> Option<u64> {
    if topics.len() as u64 * partitions as u64 > MAX_WATERMARK_READS {
        return None;
    }
    let ends = topic_ends(config, topics, partitions, timeout).await?;
    Some(ends.iter().flatten().map(|&h| h.max(0) as u64).sum())
}

/// Above this many partitions (over all topics) kbench reads no watermarks for `landed`: it
/// takes one request per partition.
pub const MAX_WATERMARK_READS: u64 = 500;

/// Each partition's high watermark (the offset its next record gets), by topic, through one
/// client; `None` when the cluster did not say for every partition.
pub async fn topic_ends(
    config: &ClientConfig,
    topics: &[String],
    partitions: u32,
    timeout: Duration,
) -> Option<Vec<Vec<i64>>> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = config.create().ok()?;
    let topics = topics.to_vec();
    tokio::task::spawn_blocking(move || {
        topics
            .iter()
            .map(|t| {
                (0..partitions as i32)
                    .map(|p| consumer.fetch_watermarks(t, p, timeout).ok().map(|w| w.1))
                    .collect::<Option<Vec<i64>>>()
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
    topics: &[String],
    partitions: u32,
    timeout: Duration,
) -> Option<u64> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    let mut last = high_watermarks(config, topics, partitions, timeout).await?;
    let mut same = 1;
    while same < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = high_watermarks(config, topics, partitions, timeout).await?;
        same = if now == last { same + 1 } else { 1 };
        last = now;
    }
    Some(last)
}
