//! The result of one run: a versioned JSON document (`schema = "kbench.result/v3"`), written the
//! moment the run ends. Reports, comparisons and gates are pure functions of these files, which is
//! why they carry the full histograms and not only percentiles.
//!
//! The JSON Schema is `schemas/result.v3.json`; every field is documented there and below.
//! Throughput is what the cluster acked inside the measured window: for a run by duration, the
//! measured acks done by the window's end over the planned window; what was acked after it is
//! the `drain`, reported apart, and `achieved_rate_ratio` is in-window acks over target x window.
//! `counts.scheduled` comes from the plan and is checked against what the workers sent and left
//! unsent.
//!
//! Older files still read. Version 2 divided every measured ack (drain included) by the planned
//! window and had `drain_s` instead of `drain`; version 1 had no schedule counts, and its
//! `loss_rate` is (failed + unresolved) / sent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::event::Event;
pub use crate::plan::ShardSpec;
use crate::recorder::hist::LatencyStats;
use crate::scenario::Scenario;

pub const SCHEMA: &str = "kbench.result/v3";
/// Earlier layouts, still read by `report`, `compare`, `gate` and `merge`.
pub const SCHEMA_V2: &str = "kbench.result/v2";
pub const SCHEMA_V1: &str = "kbench.result/v1";

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Reached its stop condition.
    Completed,
    /// Stopped early by Ctrl-C / SIGTERM; what was measured until then is here.
    Interrupted,
}

/// Where a merged result came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeInfo {
    /// The shard count of the run.
    pub shards: u32,
    /// The shard indexes merged.
    pub merged: Vec<u32>,
    /// Shard indexes that were missing (only with --allow-partial).
    pub missing: Vec<u32>,
    /// The merged result files.
    pub sources: Vec<String>,
}

/// One run's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// `kbench.result/v3` for this layout (`v2` or `v1` for an older file read back).
    pub schema: String,
    /// Version of kbench that wrote the file.
    pub kbench_version: String,
    pub status: Status,
    pub scenario: ScenarioInfo,
    /// The fully resolved scenario (defaults and `--set` applied, secrets redacted).
    pub spec: Scenario,
    /// Wall-clock start of the run (RFC 3339, UTC).
    pub started_at: String,
    /// The run's t0 (the instant its schedule starts) in milliseconds since the Unix epoch:
    /// interval `t_s` is at wall-clock `t0_unix_ms / 1000 + t_s`.
    #[serde(default)]
    pub t0_unix_ms: u64,
    /// Set when this run is one shard of a larger one (`--shard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardSpec>,
    /// Set on a result made by `kbench merge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<MergeInfo>,
    /// Length of the measured window in seconds, the one throughput is over: for a completed
    /// run by duration (paced or `rate = "max"`), the planned measured window (`load.duration`);
    /// for a run by count or an interrupted one, from the first measured send to the last
    /// measured ack (failed outcomes never extend it).
    pub duration_s: f64,
    /// What was acked after the window of a completed run by duration: the cluster behind the
    /// schedule (or librdkafka's queue emptying at `rate = "max"`). Null for other runs.
    #[serde(default)]
    pub drain: Option<Drain>,
    /// Warm-up length in seconds (excluded from counts, throughput and latency).
    pub warmup_s: f64,
    /// Seconds from the first send to the end of the drain, warm-up included.
    pub wall_s: f64,
    pub broker: BrokerInfo,
    /// Measured messages: `scheduled == sent + unsent` and `sent == acked + failed + unresolved`.
    pub counts: Counts,
    /// Warm-up messages, accounted the same way.
    pub warmup_counts: Counts,
    /// Failed measured messages by librdkafka error name (e.g. `_MSG_TIMED_OUT`).
    pub errors: BTreeMap<String, u64>,
    /// Messages that did not make it, as a share: (failed + unresolved + unsent) / scheduled
    /// (over sent when nothing is scheduled, at `rate = "max"` by duration). A gate passes only
    /// at 0 unless it states its own `loss_rate` threshold.
    #[serde(default)]
    pub loss_rate: f64,
    pub backpressure: Backpressure,
    /// Measured acks done inside the measured window, per second of it (the drain excluded).
    pub throughput: Throughput,
    /// Target rate in messages per second, or null for `rate = "max"`.
    pub target_rate: Option<f64>,
    /// In-window acks over target x window (`throughput.msgs_per_sec / target_rate`), or null
    /// without a target. Below 1 means the offered load was not delivered inside the window (by
    /// the generator or the cluster: send lag and the drain tell which).
    pub achieved_rate_ratio: Option<f64>,
    /// Latency summaries in microseconds.
    pub latency_us: Streams<LatencyStats>,
    /// Full histograms (µs): base64 of HdrHistogram V2 + deflate.
    pub histograms: Streams<String>,
    /// Latencies beyond the histograms' 24 h range, recorded as 24 h.
    pub clamped_samples: u64,
    /// Messages that landed in the topic during the run, from its high watermarks after - before
    /// (duplicates included, other producers too); null when the cluster did not say. Compare
    /// with `counts.acked + warmup_counts.acked`: more means duplicates, fewer means loss.
    pub landed_messages: Option<u64>,
    /// What librdkafka itself counted (from its statistics, which lag up to 500 ms: null for
    /// runs shorter than that).
    pub client: Option<ClientSummary>,
    /// Every librdkafka property kbench set (typed keys rendered, raw properties, bootstrap),
    /// secrets as `***`: enough to rerun the same client with rdkafka_performance or kcat. With
    /// an external engine, its client's configuration as the engine resolved it.
    #[serde(default, skip_serializing_if = "ClientProperties::is_empty")]
    pub client_properties: ClientProperties,
    /// The external engine that sent (absent: librdkafka in process).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineInfo>,
    /// Acked measured messages and bytes by partition (and topic, with many): skew shows here.
    #[serde(default)]
    pub partitions: Vec<PartitionCount>,
    /// With more than one topic (`topic.count`): each topic's messages, bytes and latency.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<topics::TopicResult>,
    /// Sizes and keys of the measured messages sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub produced: Option<Produced>,
    /// What the transactions did (`producer.transaction`); absent without them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactions: Option<Transactions>,
    /// What the run's consumers did (`[consume]`); absent without them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consume: Option<consume::ConsumeResult>,
    /// One entry per phase of a rate profile (`load.profile`); empty without one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<PhaseResult>,
    /// Interval time series, warm-up included (see `warmup_s`).
    pub intervals: Vec<Interval>,
    /// Things that happened during the run: client errors, interruptions.
    pub events: Vec<Event>,
    /// Caveats a reader must know (embedded broker, closed-loop latency, ...).
    pub notes: Vec<String>,
    pub process: ProcessStats,
    /// `load.repeats` above 1: every repeat's figures and their medians' intervals; the rest
    /// of this result is the representative repeat's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<repeats::Repeats>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    pub name: String,
    /// The scenario file, as given on the command line.
    pub file: Option<String>,
    pub description: String,
    /// `--set` overrides applied on top of the file.
    pub overrides: Vec<String>,
}

/// Which cluster a run ran against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BrokerKind {
    /// librdkafka's mock cluster, in process (acks are not honoured).
    Embedded,
    /// A cluster at `cluster.bootstrap`.
    External,
}

impl BrokerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BrokerKind::Embedded => "embedded",
            BrokerKind::External => "external",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerInfo {
    pub kind: BrokerKind,
    pub bootstrap: String,
    /// Partitions of the topic as the cluster reported them.
    pub partitions: u32,
    /// librdkafka version used by the producer.
    pub librdkafka: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Counts {
    /// Messages the schedule made due in this window, from the plan (the count of a run by
    /// count; for a paced run by duration the schedule's messages due before its end, Poisson
    /// arrivals replayed from their seeds): checked against `sent + unsent`, which the workers
    /// count themselves. Null at `rate = "max"` by duration (nothing is due) and after an
    /// interrupt (the plan's window was not run out).
    #[serde(default)]
    pub scheduled: Option<u64>,
    /// Messages handed to the producer (including ones it rejected at once).
    pub sent: u64,
    /// Messages that were due but never sent: the run stopped (duration over, `load.timeout`,
    /// Ctrl-C) while the generator or a closed loop was behind. Their lateness is `latency_us.unsent`.
    #[serde(default)]
    pub unsent: u64,
    /// Messages with a successful delivery report.
    pub acked: u64,
    /// Messages with a failed delivery report or rejected at send.
    pub failed: u64,
    /// Messages with no delivery report by the end of the grace, counted from their purge
    /// reports (`unresolved_by`).
    pub unresolved: u64,
    #[serde(default)]
    pub unresolved_by: UnresolvedBy,
    /// Messages of aborted transactions (`producer.transaction.abort_every`): sent, never
    /// delivered by design, and not loss. `sent == acked + failed + unresolved + aborted`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub aborted: u64,
    /// `[consume]` only: distinct messages read back by the run's consumers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed: Option<u64>,
    /// `[consume]` only: messages read more than once (a re-read offset, or a second copy the
    /// producer wrote).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicates: Option<u64>,
    /// `[consume]` only: acked but not read back by the end of `consume.grace` (by partition in
    /// `consume.missing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<u64>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// Where librdkafka held the unresolved messages when they were purged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UnresolvedBy {
    /// Still in the client's queue (`_PURGE_QUEUE`): never sent to a broker.
    pub queued: u64,
    /// Sent, with no response (`_PURGE_INFLIGHT`): the broker may or may not have them.
    pub in_flight: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Backpressure {
    /// Times `send` answered `QueueFull` (local queue full); each time the worker waited for a
    /// delivery report to free room (at most 10 ms) and sent again.
    pub queue_full: u64,
}

/// Measured acks done after the end of a duration run's window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Drain {
    /// Seconds from the window's end to the last measured outcome (0 when none came after it).
    pub s: f64,
    /// Measured messages acked after the window: in `counts.acked`, not in `throughput`.
    pub messages: u64,
    /// Their payload+key bytes.
    pub bytes: u64,
    /// `messages / s` (0 for an empty drain).
    pub msgs_per_sec: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Throughput {
    /// Measured messages acked inside the measured window, per second of it.
    pub msgs_per_sec: f64,
    /// Their payload+key bytes per second.
    pub bytes_per_sec: f64,
}

/// The latency streams. `corrected`, `service` and `send_lag` are of acked messages; `failed`
/// and `unsent` hold every message that was not acked, so no loss hides from the picture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Streams<T> {
    /// Delivery report time - due time (coordinated-omission corrected).
    pub corrected: T,
    /// Delivery report time - enqueue time.
    pub service: T,
    /// Enqueue time - due time (how late the generator was).
    pub send_lag: T,
    /// Failed and unresolved messages: due -> failure report, or due -> purge at the end of the
    /// grace (a lower bound). Count = failed + unresolved.
    #[serde(default)]
    pub failed: T,
    /// Transactional runs: each commit, `commit_transaction` called to returned (µs).
    #[serde(default)]
    pub commit: T,
    /// Unsent messages that were already due: due -> the stop of sending (a lower bound). Count =
    /// unsent, except for a run by count cut short by `load.timeout`, whose rest was never due.
    #[serde(default)]
    pub unsent: T,
    /// `[consume]`: consumed - due, of each message's first reading (coordinated-omission
    /// corrected; the headline end-to-end figure at a fixed rate).
    #[serde(default)]
    pub e2e: T,
    /// `[consume]`: consumed - enqueue.
    #[serde(default)]
    pub e2e_service: T,
}

/// Transactions of a run, over its instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Transactions {
    pub committed: u64,
    /// Aborted on purpose (`abort_every`).
    pub aborted: u64,
    /// Commits that failed (then aborted).
    pub failed: u64,
}

/// What one partition received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionCount {
    /// Its topic, in a run with more than one (`topic.count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    pub partition: u32,
    /// Acked measured messages.
    pub messages: u64,
    /// Their payload+key bytes.
    pub bytes: u64,
}

/// What was produced: payload sizes and keys of measured messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Produced {
    /// Payload sizes in bytes (the fields are named like latencies, but hold bytes).
    pub size_bytes: LatencyStats,
    /// The size histogram (base64 HdrHistogram, bytes), so merged runs stay exact.
    pub size_hist: String,
    /// Header bytes (names and values) of every message.
    pub header_bytes: u64,
    /// Keys the scenario could produce (null without keys).
    pub key_cardinality: Option<u64>,
    /// Distinct keys actually produced (null without keys, above 16M keys, or after a merge).
    pub distinct_keys: Option<u64>,
}

/// One phase of a rate profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseResult {
    pub name: String,
    /// Start and end of the phase in seconds since t0 (like `intervals[].t_s`).
    pub start_s: f64,
    pub end_s: f64,
    /// Target rate at the start and at the end of the phase (equal unless it is a ramp).
    pub target_rate_start: f64,
    pub target_rate_end: f64,
    /// Messages the schedule put in the phase.
    pub planned: u64,
    /// Messages due in the phase that were sent (late ones included), and their outcomes.
    pub sent: u64,
    pub acked: u64,
    pub failed: u64,
    /// Messages enqueued within the phase's window per second: the offered rate the generator
    /// achieved.
    pub achieved_rate: f64,
    /// Acks inside the phase's window over the messages it planned (`acked_rate` over the
    /// phase's mean target rate): below 1 when the generator or the cluster fell behind.
    pub achieved_rate_ratio: f64,
    /// Acks that arrived within the phase's window, per second.
    pub acked_rate: f64,
    /// Corrected latency of the messages due in the phase (µs).
    pub latency_us: LatencyStats,
    /// Its histogram (base64 HdrHistogram), null without acks.
    pub hist: Option<String>,
}

/// One interval of the time series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Interval {
    /// Interval start in seconds since the run's start.
    pub t_s: f64,
    /// Messages sent in the interval.
    pub sent: u64,
    /// Delivery reports with success in the interval.
    pub acked: u64,
    /// Failed delivery reports in the interval.
    pub failed: u64,
    /// Acked payload+key bytes in the interval.
    pub bytes: u64,
    /// Corrected latency of messages acked in the interval (µs).
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// That interval's histograms (base64 V2 + deflate, µs) of corrected latency, service latency
    /// and send lag, each absent when empty: what `.hlog` files and merges are made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hist: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_hist: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_lag_hist: Option<String>,
    /// Transactions committed in the interval and their commit p99 (µs); absent without any.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub commits: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_p99_us: Option<u64>,
    /// `[consume]`: distinct messages first read in the interval, the lag at its end (acked so
    /// far but not yet read, warm-up included), the interval's e2e p50 and p99 and its e2e and
    /// e2e-service histograms.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub consumed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_p50_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_p99_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_hist: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_service_hist: Option<String>,
    /// librdkafka's breakdown of the interval (absent without a statistics report in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<client::ClientInterval>,
}

/// The librdkafka configuration of a run's clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ClientProperties {
    pub producer: BTreeMap<String, String>,
    /// `[consume]` consumers (their `group.id` is the run's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub consumer: BTreeMap<String, String>,
    /// The scenario's producer keys as this client took them, key by key (values as the client
    /// resolved them), each marked where the client cannot mean what librdkafka means: a
    /// comparison's settings table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<crate::scenario::engine::Setting>,
}

impl ClientProperties {
    pub fn is_empty(&self) -> bool {
        self.producer.is_empty() && self.consumer.is_empty() && self.settings.is_empty()
    }
}

/// librdkafka's own counters for the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientSummary {
    /// Messages librdkafka transmitted.
    pub txmsgs: i64,
    /// Message bytes before compression (with framing).
    pub txmsg_bytes: i64,
    /// Bytes written to the brokers (after compression, all requests).
    pub tx_bytes: i64,
    /// Requests sent to brokers.
    pub requests: i64,
    /// `txmsg_bytes / tx_bytes`: about 1 without compression, N for N:1 compression.
    pub compression_ratio: Option<f64>,
    /// Messages per request: how well batching worked.
    pub msgs_per_request: Option<f64>,
    /// Where the service latency went: queue, output buffer, round trip (see `intervals[].client`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<client::Breakdown>,
    /// Per broker over the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub brokers: Vec<client::BrokerTotals>,
}

/// An external engine's run: which client, and what its processes cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineInfo {
    /// `sarama`.
    pub name: String,
    /// The client library and its version, e.g. `github.com/IBM/sarama v1.61.1`.
    pub client: String,
    /// The toolchain the engine was built with, e.g. `go1.26.8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<String>,
    /// CPU seconds of every engine process (beside `process.cpu_s`, kbench's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_s: Option<f64>,
    /// The largest engine process's peak resident memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    /// The client's own metrics, under its names (sarama: request-latency-in-ms, batch-size,
    /// records-per-request: count, mean, p50, p99).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<serde_json::Value>,
}

/// The load generator's own cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct ProcessStats {
    /// CPU seconds (user + system) kbench used during the run, librdkafka's threads included.
    pub cpu_s: Option<f64>,
    /// Acked messages per CPU second: the generator's headroom.
    pub msgs_per_cpu_s: Option<f64>,
    /// Peak resident memory of the process so far, in bytes.
    pub peak_rss_bytes: Option<u64>,
}

impl RunResult {
    /// Measured messages acked inside the window (all of them without a drain).
    pub fn in_window_acks(&self) -> u64 {
        self.counts.acked - self.drain.map_or(0, |d| d.messages.min(self.counts.acked))
    }

    /// The first `accounting` event's detail: the counts do not add up, so the run is invalid
    /// for every use (gates, sweeps, capacity, merge).
    pub fn accounting_error(&self) -> Option<&str> {
        self.events
            .iter()
            .find(|e| e.kind == crate::event::EventKind::Accounting)
            .map(|e| e.detail.as_str())
    }
}

/// (failed + unresolved + unsent) / scheduled, or over sent when nothing was scheduled; 0 for
/// an empty run.
pub fn loss_rate(c: &Counts) -> f64 {
    let lost = c.failed + c.unresolved + c.unsent;
    let base = c.scheduled.unwrap_or(c.sent);
    if base == 0 {
        0.0
    } else {
        lost as f64 / base as f64
    }
}

/// `v` rounded to `digits` decimals.
pub(crate) fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

mod io;
pub use io::{run_dir, write_atomic, ResultError};

pub mod build;
pub mod client;
pub mod consume;
pub mod derive;
pub mod hlog;
pub mod notes;
pub mod repeats;
pub mod topics;
