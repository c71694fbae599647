//! `producer.transaction`: transactional producers, each instance committing (or, one in
//! `abort_every`, aborting) every `messages` messages or every `duration`. Plain data and its
//! parse-level rules; the producer carries it out (`crate::producer::txn`).

use serde::{Deserialize, Serialize};

use super::{Acks, Mode};
use crate::units::Dur;

/// `producer.transaction`: how messages are grouped into transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Transaction {
    /// Commit after this many messages of an instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<u64>,
    /// Commit once a transaction is this old (checked at each send).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Dur>,
    /// The `transactional.id` prefix: each instance uses `<id>-<shard>-<instance>` (default
    /// `kbench-<name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Abort one transaction in this many (the N-th, 2N-th, ...) instead of committing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_every: Option<u64>,
}

/// The `producer.transaction` rules: (dotted key, message) of the first problem.
pub fn check(
    t: &Transaction,
    mode: Mode,
    acks: Acks,
    idempotence: bool,
) -> Result<(), (String, String)> {
    let key = |k: &str| format!("producer.transaction.{k}");
    match (t.messages, t.duration) {
        (None, None) | (Some(_), Some(_)) => {
            return Err((
                "producer.transaction".into(),
                "give exactly one of messages (commit every N) or duration (commit every T)".into(),
            ))
        }
        (Some(0), _) => return Err((key("messages"), "expected at least 1, found 0".into())),
        (_, Some(d)) if d.0.is_zero() => {
            return Err((key("duration"), "must be greater than 0".into()))
        }
        _ => {}
    }
    if t.abort_every == Some(0) {
        return Err((key("abort_every"), "expected at least 1, found 0".into()));
    }
    if t.id.as_deref().is_some_and(|id| id.trim().is_empty()) {
        return Err((key("id"), "must not be empty".into()));
    }
    if mode == Mode::FireAndForget {
        return Err((
            "producer.mode".into(),
            "transactions need delivery reports: use async or sync, not fire-and-forget".into(),
        ));
    }
    if acks != Acks::All {
        return Err((
            "producer.acks".into(),
            format!("transactions need acks = all, found {acks}"),
        ));
    }
    if !idempotence {
        return Err((
            "producer.idempotence".into(),
            "transactions need idempotence = true".into(),
        ));
    }
    Ok(())
}
