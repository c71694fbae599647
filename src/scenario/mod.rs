//! The scenario: what one benchmark run does, fully resolved.
//!
//! A scenario file (TOML, or JSON with the same structure) has the sections `[cluster]`, `[topic]`,
//! `[producer]`, `[message]` and `[load]`. Every key has a default, so an empty file is a valid
//! scenario. Loading goes: text -> value tree -> `--set` overrides -> typed [`Scenario`] (unknown
//! keys and bad values rejected with file, line and key) -> cross-field checks ([`validate`]) that
//! also resolve the defaults that depend on other keys or on the machine.
//!
//! The resolved scenario is what a run executes and what `result.json` stores as `spec`, so two
//! results can be compared key by key. The file format is documented key by key in docs/scenario-format.md.
//!
//! One layer of types serves both the file and the resolved form (serde defaults fill what the file
//! leaves out): simpler than a parallel all-`Option` file struct, and sweeps and `--set` work on the
//! value tree before typing anyway.

pub mod capacity;
pub mod consume;
pub mod engine;
mod experiment;
pub mod fault;
pub mod gate;
mod load;
mod locate;
mod message;
mod partitioner;
mod profile;
pub mod render;
pub mod security;
pub mod topics;
pub mod transaction;
mod validate;

use std::collections::BTreeMap;
use std::fmt;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::units::{Bytes, Dur, Rate};

pub use experiment::{Experiment, Order};
pub use load::{
    parse, read, set_override, set_path, Cell, Format, InputError, ScenarioFile, Source,
};
pub use message::{key_width, Headers, KeySpec, Keys, Message, PayloadFile, SizeDist};
pub use partitioner::{Partitioner, LIBRDKAFKA_PARTITIONERS};
pub use profile::{Arrivals, Phase};
pub use render::{client_config, properties_text, redact, redacted_properties};
pub use topics::Topic;
pub use transaction::Transaction;

/// A fully resolved benchmark scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Scenario name, used in report directory names.
    pub name: String,
    /// Free text shown in summaries.
    pub description: String,
    pub cluster: Cluster,
    pub topic: Topic,
    pub producer: Producer,
    pub message: Message,
    pub load: Load,
    /// Where live output goes (the metrics endpoint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Output>,
    /// Consumers reading the run back: end-to-end latency (see `consume`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consume: Option<consume::Consume>,
    /// CI gate thresholds and baseline allowances (see `gate`).
    #[serde(skip_serializing_if = "gate::GateSpec::is_empty")]
    pub gate: gate::GateSpec,
    /// Faults injected into the embedded broker (see `fault`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<fault::Fault>,
    /// A capacity search instead of one run (see `capacity`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<capacity::CapacitySpec>,
    /// Sweep: dotted key -> values; the runs are the cartesian product (see `plan`). Expanded
    /// away when the cells are loaded, so a run's spec never holds a matrix.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub matrix: BTreeMap<String, Vec<serde_json::Value>>,
    /// How a sweep runs: repeats, cooldown, order, the SLO of its ranking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment: Option<Experiment>,
}

/// The `[output]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Output {
    /// Serve live metrics at `http://<addr>/metrics` (`--metrics-addr` overrides it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_addr: Option<String>,
    /// Append every result to this run history (SQLite), and gate against it (`--history`
    /// and `KBENCH_HISTORY` override it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<std::path::PathBuf>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "kbench".into(),
            description: String::new(),
            cluster: Cluster::default(),
            topic: Topic::default(),
            producer: Producer::default(),
            message: Message::default(),
            load: Load::default(),
            output: None,
            consume: None,
            gate: gate::GateSpec::default(),
            faults: Vec::new(),
            capacity: None,
            matrix: BTreeMap::new(),
            experiment: None,
        }
    }
}

/// Where to produce: an external cluster, or the embedded mock cluster when `bootstrap` is unset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Cluster {
    /// `host:port[,host:port...]`; `None` starts the embedded broker.
    pub bootstrap: Option<String>,
    /// Number of brokers of the embedded cluster (ignored with `bootstrap`).
    pub brokers: u32,
    /// How long to wait for the cluster's metadata before giving up (exit code 3).
    pub connect_timeout: Dur,
    /// Raw librdkafka client properties, passed through verbatim (secrets are redacted in output).
    #[serde(deserialize_with = "string_map")]
    pub properties: BTreeMap<String, String>,
    /// TLS and SASL (see `security`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<security::Security>,
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster {
            bootstrap: None,
            brokers: 3,
            connect_timeout: Dur::from_secs(10),
            properties: BTreeMap::new(),
            security: None,
        }
    }
}

impl Scenario {
    /// The smallest payload a run writes: room for the stamp with `[consume]`, else 0.
    pub fn min_payload(&self) -> u64 {
        match self.consume {
            Some(_) => crate::stamp::STAMP_LEN as u64,
            None => 0,
        }
    }

    /// `message.max.bytes`: the typed key, else librdkafka's default.
    pub fn max_message_bytes(&self) -> u64 {
        self.producer.max_message_bytes.map_or(1_000_000, |b| b.0)
    }

    /// The largest payload the broker takes: `message.max.bytes` minus key, headers and the
    /// record framing (sizes drawn from a distribution are clamped to it).
    pub fn max_payload(&self) -> u64 {
        let key = match self.message.keys.distribution {
            Keys::None => 0,
            _ => key_width(self.message.key_cardinality) as u64,
        };
        (self.max_message_bytes())
            .saturating_sub(key + self.message.headers.bytes() + RECORD_OVERHEAD)
    }
}

/// Bytes of record and batch framing the payload limit leaves room for.
const RECORD_OVERHEAD: u64 = 128;

impl Cluster {
    /// True when the run uses the in-process mock cluster.
    pub fn is_embedded(&self) -> bool {
        self.bootstrap.is_none()
    }
}

/// How messages are handed to librdkafka and how the worker learns the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Pipelined sends; outcomes arrive as delivery reports (sarama's AsyncProducer).
    Async,
    /// Each worker waits for the delivery report before its next send (sarama's SyncProducer).
    Sync,
    /// acks=0: the delivery report only says the message was written to the socket.
    FireAndForget,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Async => "async",
            Mode::Sync => "sync",
            Mode::FireAndForget => "fire-and-forget",
        })
    }
}

/// `request.required.acks`: sarama's NoResponse / WaitForLocal / WaitForAll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    None,
    Leader,
    All,
}

impl Acks {
    /// The librdkafka value of `acks`.
    pub fn as_rdkafka(self) -> &'static str {
        match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        }
    }
}

impl fmt::Display for Acks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_rdkafka())
    }
}

impl std::str::FromStr for Acks {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "0" | "none" | "noresponse" => Ok(Acks::None),
            "1" | "leader" | "waitforlocal" => Ok(Acks::Leader),
            "all" | "-1" | "waitforall" => Ok(Acks::All),
            _ => Err(format!("expected 0, 1 or all, found {s:?}")),
        }
    }
}

impl Serialize for Acks {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_rdkafka())
    }
}

impl<'de> Deserialize<'de> for Acks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar_string(d)?.parse().map_err(de::Error::custom)
    }
}

/// `compression.codec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];
    pub fn as_rdkafka(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// Producer client settings. Typed keys render to librdkafka properties; `properties` overrides them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Producer {
    /// The client that sends: librdkafka (in process) or an external engine (sarama, franz-go, java).
    pub engine: engine::Engine,
    pub mode: Mode,
    /// Producer clients, each its own librdkafka instance (own threads, queues and connections).
    /// Unset: 1, except at `rate = "max"` in async or fire-and-forget mode, where each worker
    /// gets its own (workers sharing one client contend on its locks; docs/performance.md).
    pub instances: Option<u32>,
    /// Worker threads that generate the load (each with its own single-threaded runtime);
    /// worker `w` uses instance `w % instances`.
    /// Unset: the number of CPUs (async), 4 (sync); at `rate = "max"` with a mean payload of
    /// 512 B or more, half the CPUs (librdkafka's sending threads need the rest).
    pub workers: Option<u32>,
    /// Unset: `all` (librdkafka's default), or `0` in fire-and-forget mode.
    pub acks: Option<Acks>,
    pub compression: Compression,
    /// `linger.ms` (sarama `Flush.Frequency`).
    pub linger: Dur,
    /// `batch.size`: the most bytes in one batch (sarama `Flush.Bytes`).
    pub batch_size: Bytes,
    /// `batch.num.messages` (sarama `Flush.Messages`); unset keeps librdkafka's default.
    pub batch_messages: Option<u32>,
    /// `enable.idempotence`: producer id and sequence numbers, no duplicates on retry.
    pub idempotence: bool,
    /// `max.in.flight.requests.per.connection`.
    pub max_in_flight: u32,
    /// `retries` (sarama `Retry.Max`).
    pub retries: u32,
    /// `retry.backoff.ms` (sarama `Retry.Backoff`).
    pub retry_backoff: Dur,
    /// `message.timeout.ms`: a message not acked by then fails with a timeout.
    pub message_timeout: Dur,
    /// `request.timeout.ms`; unset keeps librdkafka's default (30 s).
    pub request_timeout: Option<Dur>,
    /// `message.max.bytes` (sarama `MaxMessageBytes`); unset keeps librdkafka's default (1000000).
    pub max_message_bytes: Option<Bytes>,
    /// `queue.buffering.max.messages`: the local queue; when full, sends see `QueueFull`.
    /// Unset: librdkafka's 100000, or 25000 per instance at `rate = "max"` on the embedded
    /// broker (the queue is always full there, so this is the run's memory).
    pub queue_messages: Option<u32>,
    /// How messages are spread over partitions (sarama's hash / random / round-robin / manual).
    pub partitioner: Partitioner,
    /// Raw librdkafka producer properties; they override the typed keys above.
    #[serde(deserialize_with = "string_map")]
    pub properties: BTreeMap<String, String>,
    /// Transactions: commit every `messages` (per instance) or every `duration`; needs acks =
    /// all and idempotence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<Transaction>,
    /// Sync mode: each worker enqueues this many messages, then waits until every one of them
    /// has its report (sarama's `SyncProducer.SendMessages`).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub sync_batch: u32,
    /// `producer.engine = "sarama"`: sarama.Config fields by their Go path
    /// (`"Flush.Frequency" = "10ms"` is `Producer.Flush.Frequency`; a full path also works),
    /// applied after the typed keys.
    #[serde(
        deserialize_with = "string_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub sarama: BTreeMap<String, String>,
    /// `producer.engine = "franz-go"`: kgo options by their names (`ProducerLinger = "10ms"`),
    /// applied after the typed keys.
    #[serde(
        rename = "franz-go",
        deserialize_with = "string_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub franz_go: BTreeMap<String, String>,
    /// `producer.engine = "java"`: ProducerConfig properties by name (`"linger.ms" = "10"`),
    /// applied after the typed keys.
    #[serde(
        deserialize_with = "string_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub java: BTreeMap<String, String>,
}

fn one() -> u32 {
    1
}

fn is_one(v: &u32) -> bool {
    *v == 1
}

impl Default for Producer {
    fn default() -> Self {
        Producer {
            mode: Mode::Async,
            instances: None,
            workers: None,
            acks: None,
            compression: Compression::None,
            linger: Dur::from_millis(5),
            batch_size: Bytes(1_000_000),
            batch_messages: None,
            idempotence: false,
            max_in_flight: 5,
            retries: 2_147_483_647,
            retry_backoff: Dur::from_millis(100),
            message_timeout: Dur::from_secs(30),
            request_timeout: None,
            max_message_bytes: None,
            queue_messages: None,
            partitioner: Partitioner::default(),
            properties: BTreeMap::new(),
            transaction: None,
            sync_batch: 1,
            engine: engine::Engine::Librdkafka,
            sarama: BTreeMap::new(),
            franz_go: BTreeMap::new(),
            java: BTreeMap::new(),
        }
    }
}

impl Producer {
    /// Workers after [`validate`] resolved them.
    pub fn workers(&self) -> u32 {
        self.workers.unwrap_or(1)
    }
    /// Instances after [`validate`] resolved them.
    pub fn instances(&self) -> u32 {
        self.instances.unwrap_or(1)
    }
    /// Acks after [`validate`] resolved them.
    pub fn acks(&self) -> Acks {
        self.acks.unwrap_or(Acks::All)
    }
}

/// The load shape: rate, how long, and what is excluded as warm-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Load {
    /// Messages per second over all workers, or `max`.
    pub rate: Rate,
    /// Measured duration (after warm-up). Exclusive with `messages`; default 10s.
    pub duration: Option<Dur>,
    /// Measured message count (after warm-up). Exclusive with `duration`.
    pub messages: Option<u64>,
    /// Traffic sent first and excluded from the result.
    pub warmup: Dur,
    /// Length of one interval of the time series.
    pub interval: Dur,
    /// After the last send, how long to wait for outstanding deliveries.
    pub grace: Dur,
    /// A run by count stops sending after this long (after the warm-up), whatever it sent, so a
    /// dead broker cannot keep it going for ever; the result says so.
    pub timeout: Dur,
    /// Phases run in order instead of `rate` and `duration` (see `profile`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profile: Vec<Phase>,
    pub arrivals: Arrivals,
    /// Runs of the whole scenario in a row (`--repeat N`), written as one result with each
    /// repeat's figures and their medians' 95% intervals.
    #[serde(skip_serializing_if = "is_one")]
    pub repeats: u32,
}

impl Default for Load {
    fn default() -> Self {
        Load {
            rate: Rate::Max,
            duration: None,
            messages: None,
            warmup: Dur::from_secs(0),
            interval: Dur::from_secs(1),
            grace: Dur::from_secs(10),
            timeout: Dur::from_secs(600),
            profile: Vec::new(),
            arrivals: Arrivals::Uniform,
            repeats: 1,
        }
    }
}

/// When a run stops sending.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StopCondition {
    /// After this much measured time (warm-up comes before it).
    Duration(std::time::Duration),
    /// After this many measured messages (warm-up messages come before them).
    Count(u64),
}

impl Load {
    /// The longest a run may take from its start to the end of its grace: warm-up, the measured
    /// window (or `timeout` for a run by count) and the grace.
    pub fn whole_run(&self) -> std::time::Duration {
        let sending = match self.stop() {
            StopCondition::Duration(d) => d,
            StopCondition::Count(_) => self.timeout.0,
        };
        self.warmup
            .0
            .saturating_add(sending)
            .saturating_add(self.grace.0)
    }

    /// How the run stops sending: after a count or a duration (a profile's phases added up).
    pub fn stop(&self) -> StopCondition {
        if !self.profile.is_empty() {
            let total = self.profile.iter().map(|p| p.duration.0).sum();
            return StopCondition::Duration(total);
        }
        match (self.messages, self.duration) {
            (Some(n), _) => StopCondition::Count(n),
            (None, Some(d)) => StopCondition::Duration(d.0),
            (None, None) => StopCondition::Duration(std::time::Duration::from_secs(10)),
        }
    }
}

pub use validate::validate;

/// The longest whole run ([`Load::whole_run`]) kbench accepts: each message's instants are
/// stamped in microseconds since the run's start in 40 bits (12.7 days), and nothing is clamped.
pub const MAX_RUN: std::time::Duration = std::time::Duration::from_secs(12 * 24 * 3600);

/// Accepts a string, number or boolean and returns it as a string (for librdkafka properties).
fn scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        S(String),
        I(i64),
        F(f64),
        B(bool),
    }
    Ok(match Scalar::deserialize(d)? {
        Scalar::S(s) => s,
        Scalar::I(i) => i.to_string(),
        Scalar::F(f) => f.to_string(),
        Scalar::B(b) => b.to_string(),
    })
}

fn string_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    struct Wrapped(String);
    impl<'de> Deserialize<'de> for Wrapped {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            scalar_string(d).map(Wrapped)
        }
    }
    let map = BTreeMap::<String, Wrapped>::deserialize(d)?;
    Ok(map.into_iter().map(|(k, v)| (k, v.0)).collect())
}
