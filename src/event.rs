//! Something that happened during a run (a client error, a fault, an interrupt): produced by the
//! moving parts of a run, kept in the result. A leaf, so every stage can make one.

use serde::{Deserialize, Serialize};

/// What kind of thing happened; serialised in kebab-case (`client-error`, `fault`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// librdkafka reported an error (not a delivery report's).
    ClientError,
    /// A `[consume]` consumer reported an error.
    ConsumerError,
    /// A consumer's rebalance failed.
    ConsumerRebalance,
    /// The consumer group's assignment, or waiting for it.
    ConsumerGroup,
    /// A fault's start (with its recovery) or end.
    Fault,
    /// An `exec` fault's command or undo ran.
    FaultExec,
    /// Ctrl-C.
    Interrupted,
    /// `load.timeout` stopped a run by count.
    Timeout,
    /// `topic.delete_after` deleted (or could not delete) the topics the run created.
    TopicsDeleted,
    /// A transaction failed to commit or abort.
    TransactionError,
    /// Transactions (and with them sending) stopped: the cluster could not serve them. The run
    /// exits 3.
    TransactionsStopped,
    /// Brokers started or stopped throttling the producer.
    Throttle,
    /// Requests started or stopped being retried.
    Retries,
    /// kbench's own counts do not add up: the run is invalid for every use (it exits 1; gates,
    /// sweeps, capacity probes and merges refuse it).
    Accounting,
    /// An external engine broke the protocol, crashed or hung: what it did not answer is
    /// unresolved, and the accounting says so.
    Engine,
    /// A kind this version does not know (a result from a newer kbench), kept as read.
    #[serde(untagged)]
    Other(String),
}

impl EventKind {
    /// Its name in a result: `client-error`, `fault`, ...
    pub fn as_str(&self) -> &str {
        match self {
            EventKind::ClientError => "client-error",
            EventKind::ConsumerError => "consumer-error",
            EventKind::ConsumerRebalance => "consumer-rebalance",
            EventKind::ConsumerGroup => "consumer-group",
            EventKind::Fault => "fault",
            EventKind::FaultExec => "fault-exec",
            EventKind::Interrupted => "interrupted",
            EventKind::Timeout => "timeout",
            EventKind::TopicsDeleted => "topics-deleted",
            EventKind::TransactionError => "transaction-error",
            EventKind::TransactionsStopped => "transactions-stopped",
            EventKind::Throttle => "throttle",
            EventKind::Retries => "retries",
            EventKind::Accounting => "accounting",
            EventKind::Engine => "engine",
            EventKind::Other(s) => s,
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happened during a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Seconds since the run's start.
    pub t_s: f64,
    pub kind: EventKind,
    pub detail: String,
    /// How many more times the same event followed immediately.
    #[serde(default)]
    pub repeats: u64,
    /// For the start of a fault at a fixed rate: seconds from the fault's start to the first
    /// interval whose corrected p99 is back under 2x the median interval p99 before the fault
    /// and whose acked msg/s is back at 95% of the target; null when it did not recover within
    /// the run (absent for other events).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub recovery_s: Option<Option<f64>>,
}

/// A field that is present (possibly `null`) deserializes to `Some`, so `null` survives a round
/// trip as "did not recover" instead of turning into "absent".
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_keep_their_names_and_unknown_ones_survive() {
        for kind in [
            EventKind::ClientError,
            EventKind::TransactionsStopped,
            EventKind::Accounting,
        ] {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<EventKind>(&json).unwrap(), kind);
        }
        let newer: EventKind = serde_json::from_str("\"broker-restarted\"").unwrap();
        assert_eq!(newer, EventKind::Other("broker-restarted".into()));
        assert_eq!(
            serde_json::to_string(&newer).unwrap(),
            "\"broker-restarted\""
        );
    }
}
