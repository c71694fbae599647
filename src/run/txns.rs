//! The transactions of a run (`producer.transaction`): one driver per instance
//! (`producer::txn`), registered with the coordinator before t0 and ended before the drain.

use std::sync::Arc;

use crate::broker::BrokerError;
use crate::event::Event;
use crate::pacing::Clock;
use crate::plan::RunPlan;
pub(super) use crate::producer::txn::Txn;
use crate::producer::Client;

/// The transactions of a run, over its instances.
pub struct TxnTotals {
    pub committed: u64,
    pub aborted: u64,
    pub failed: u64,
    /// Commit latency (µs) after the warm-up, and by interval (encoded, warm-up included).
    pub commit: crate::recorder::hist::Hist,
    pub series: Vec<Option<String>>,
}

/// One transaction driver per instance (with `producer.transaction`), registered with the
/// coordinator and with its first transaction open, before t0.
pub(super) async fn start_transactions(
    plan: &RunPlan,
    clients: &[Arc<Client>],
) -> Result<Vec<Arc<Txn>>, BrokerError> {
    let s = &plan.scenario;
    let Some(t) = &s.producer.transaction else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        let txn = Arc::new(Txn::new(
            t,
            s.cluster
                .connect_timeout
                .0
                .max(s.producer.message_timeout.0),
            plan.interval_us,
            plan.warmup_end_us,
        ));
        let (tx, client) = (txn.clone(), c.clone());
        tokio::task::spawn_blocking(move || tx.start(&client))
            .await
            .map_err(|e| BrokerError::Client(e.to_string()))?
            .map_err(|e| {
                BrokerError::Client(format!(
                    "transactions on instance {i} (does the cluster support them?): {}",
                    crate::scenario::render::scrub(s, &e.to_string())
                ))
            })?;
        out.push(txn);
    }
    Ok(out)
}

/// Ends every open transaction (the run is over) and adds up what the transactions did.
pub(super) async fn finish_transactions(
    txns: &[Arc<Txn>],
    clients: &[Arc<Client>],
    clock: Clock,
) -> Option<TxnTotals> {
    if txns.is_empty() {
        return None;
    }
    for (t, c) in txns.iter().zip(clients) {
        let (t, c) = (t.clone(), c.clone());
        let _ = tokio::task::spawn_blocking(move || t.finish(&c, &clock)).await;
    }
    let mut totals = TxnTotals {
        committed: 0,
        aborted: 0,
        failed: 0,
        commit: crate::recorder::hist::new_hist(),
        series: Vec::new(),
    };
    let mut parts = Vec::new();
    for t in txns {
        let mut rec = t.record.lock().unwrap_or_else(|p| p.into_inner());
        totals.committed += rec.committed;
        totals.aborted += rec.aborted;
        totals.failed += rec.failed;
        crate::recorder::hist::add(&mut totals.commit, &rec.commit);
        parts.push(std::mem::take(&mut rec.series).finish());
    }
    let n = parts.iter().map(Vec::len).max().unwrap_or(0);
    totals.series = (0..n)
        .map(|i| crate::recorder::series::merged_at(&parts, i))
        .collect();
    Some(totals)
}

/// Failed commits, and why transactions stopped, as events.
pub(super) fn txn_events(txns: &[Arc<Txn>]) -> Vec<Event> {
    let mut out = Vec::new();
    if let Some((at_us, why)) = txns.iter().filter_map(|t| t.broken_at()).min() {
        out.push(Event {
            t_s: (at_us as f64 / 1e3).round() / 1e3,
            kind: crate::event::EventKind::TransactionsStopped,
            detail: format!("transactions stopped, and with them sending: {why}"),
            repeats: 0,
            recovery_s: None,
        });
    }
    for t in txns {
        let rec = t.record.lock().unwrap_or_else(|p| p.into_inner());
        out.extend(rec.errors.iter().map(|(t_us, detail)| Event {
            t_s: (*t_us as f64 / 1e3).round() / 1e3,
            kind: crate::event::EventKind::TransactionError,
            detail: detail.clone(),
            repeats: 0,
            recovery_s: None,
        }));
    }
    out
}
