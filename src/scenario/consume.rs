//! `[consume]`: consumers in the same run, reading back what the producers wrote, for
//! end-to-end latency (produce intent to consume, on one clock) and an independent check of the
//! producer's accounting. Plain data and its parse-level rules; `crate::consumer` carries it out.
//!
//! ```toml
//! [consume]
//! consumers = 2                    # consumer threads in this process
//! mode = "group"                   # group (subscribe) | partitions (assign directly)
//! group = "kbench-{run}"           # default: unique per run ({run} = the run's id)
//! isolation = "read_uncommitted"   # or read_committed
//! start_after = "0s"               # start late to build a backlog, then measure the drain
//! grace = "10s"                    # how long to wait for the last messages after the drain
//! # [consume.properties]           # raw librdkafka consumer properties
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::units::Dur;

/// The most consumers one process runs.
pub const MAX_CONSUMERS: u32 = 1024;

/// The `[consume]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Consume {
    /// Consumer threads in this process (each shard of a sharded run has its own).
    pub consumers: u32,
    pub mode: ConsumeMode,
    /// The consumer group (`mode = "group"`); `{run}` becomes the run's id.
    pub group: String,
    pub isolation: Isolation,
    /// Start the consumers this long after t0 (a backlog builds meanwhile).
    pub start_after: Dur,
    /// After the producers' drain, how long to wait for the last acked messages to be read.
    pub grace: Dur,
    /// Raw librdkafka consumer properties, applied last.
    #[serde(deserialize_with = "super::string_map")]
    pub properties: BTreeMap<String, String>,
}

impl Default for Consume {
    fn default() -> Self {
        Consume {
            consumers: 1,
            mode: ConsumeMode::Group,
            group: "kbench-{run}".into(),
            isolation: Isolation::ReadUncommitted,
            start_after: Dur::from_secs(0),
            grace: Dur::from_secs(10),
            properties: BTreeMap::new(),
        }
    }
}

/// How consumers get their partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsumeMode {
    /// Subscribe as one consumer group; the group coordinator spreads the partitions.
    Group,
    /// Assign partitions directly (consumer `c` takes partitions `p` with `p % consumers == c`),
    /// as sarama's `ConsumePartition` does: no group, no rebalance.
    Partitions,
}

impl ConsumeMode {
    /// The name in a scenario and a result: "group" or "partitions".
    pub fn as_str(self) -> &'static str {
        match self {
            ConsumeMode::Group => "group",
            ConsumeMode::Partitions => "partitions",
        }
    }
}

/// `isolation.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    ReadUncommitted,
    ReadCommitted,
}

impl Isolation {
    pub fn as_rdkafka(self) -> &'static str {
        match self {
            Isolation::ReadUncommitted => "read_uncommitted",
            Isolation::ReadCommitted => "read_committed",
        }
    }
}

/// The `[consume]` rules: (dotted key, message) of the first problem. `smallest_payload` is the
/// smallest payload the scenario can produce, when it is known before the run.
pub fn check(c: &Consume, smallest_payload: Option<u64>) -> Result<(), (String, String)> {
    let key = |k: &str| format!("consume.{k}");
    if !(1..=MAX_CONSUMERS).contains(&c.consumers) {
        return Err((
            key("consumers"),
            format!("expected 1 to {MAX_CONSUMERS}, found {}", c.consumers),
        ));
    }
    if c.group.trim().is_empty() {
        return Err((key("group"), "must not be empty".into()));
    }
    if c.grace.0.is_zero() {
        return Err((key("grace"), "must be greater than 0".into()));
    }
    for k in c.properties.keys() {
        if k.trim().is_empty() || k.contains(char::is_whitespace) {
            return Err((
                key("properties"),
                format!("invalid librdkafka property name {k:?}"),
            ));
        }
    }
    if let Some(n) = smallest_payload.filter(|&n| n < crate::stamp::STAMP_LEN as u64) {
        return Err((
            "message.size".into(),
            format!(
                "[consume] reads a {}-byte stamp at the start of every payload: payloads must be at least {} bytes, found {n}",
                crate::stamp::STAMP_LEN,
                crate::stamp::STAMP_LEN
            ),
        ));
    }
    Ok(())
}

/// The group id of a run: `{run}` replaced by its id.
pub fn group_id(c: &Consume, run_id: &str) -> String {
    c.group.replace("{run}", run_id)
}
