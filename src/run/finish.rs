//! The end of a run: the drain (at most `load.grace`, then a purge so every message reports),
//! the events of how it ended, and the merge of what the instances and workers counted, checked
//! against each other.

use rdkafka::producer::Producer as _;
use std::sync::Arc;
use std::time::Duration;

use crate::event::Event;
use crate::plan::RunPlan;
use crate::producer::{self, Client};
use crate::recorder::{InstanceRecorder, Recorded, SendStats};
use crate::signal::Interrupts;

use super::{ACCOUNTING_EVENT, DRAIN_POLL, PURGE_WAIT};

/// The events of how the run ended: interrupted, or stopped by `load.timeout`.
pub(super) fn end_events(plan: &RunPlan, interrupted: bool, timed_out: bool) -> Vec<Event> {
    let mut events = Vec::new();
    if interrupted {
        events.push(Event {
            t_s: 0.0,
            kind: "interrupted".into(),
            detail: "stopped by a signal; sending ended early".into(),
            repeats: 0,
            recovery_s: None,
        });
    }
    if timed_out {
        let l = &plan.scenario.load;
        events.push(Event {
            t_s: (l.warmup.0 + l.timeout.0).as_secs_f64(),
            kind: "timeout".into(),
            detail: format!(
                "load.timeout ({}) passed before every message was sent: sending stopped (is the broker down? see the client errors)",
                l.timeout
            ),
            repeats: 0,
            recovery_s: None,
        });
    }
    events
}

/// Merges the instances' recorders with the workers' send statistics (a run by count cut short
/// adds the rest of its count as unsent); sums librdkafka's latest statistics;
/// takes the clients' events, plus an `accounting` event when the counts do not add up.
pub(super) fn collect(
    plan: &RunPlan,
    clients: &[Arc<Client>],
    mut send: SendStats,
    cut_short: bool,
) -> (Recorded, Option<producer::ClientStats>, Vec<Event>) {
    let (interval_us, warmup_end_us) = (plan.interval_us, plan.warmup_end_us);
    let mut recorders = Vec::new();
    let mut events = Vec::new();
    let mut problems = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        let rec = c.context().with_recorder(|sh| {
            std::mem::replace(sh, InstanceRecorder::new(interval_us, warmup_end_us))
        });
        // The instance's live counters against its recorder: two independent tallies.
        let (live, recorded) = (
            c.context().reports(),
            rec.measured.resolved_or_purged() + rec.warmup.resolved_or_purged(),
        );
        if live != recorded {
            problems.push(format!(
                "instance {i}: {live} delivery reports counted, {recorded} recorded"
            ));
        }
        recorders.push(rec);
        events.extend(c.context().take_events());
    }
    if let (true, Some(count)) = (cut_short, plan.measured_count()) {
        match count.checked_sub(send.sent + send.unsent) {
            Some(rest) => send.unsent += rest,
            None => problems.push(format!(
                "sent {} + unsent {} exceed the count {count}",
                send.sent, send.unsent
            )),
        }
    }
    let client = clients
        .iter()
        .filter_map(|c| c.context().stats())
        .reduce(|a, b| producer::ClientStats {
            tx_bytes: a.tx_bytes + b.tx_bytes,
            txmsg_bytes: a.txmsg_bytes + b.txmsg_bytes,
            txmsgs: a.txmsgs + b.txmsgs,
            tx: a.tx + b.tx,
        });
    let recorded = Recorded::merge(interval_us, warmup_end_us, recorders, send);
    problems.extend(recorded.check_accounting().err());
    events.extend(problems.into_iter().map(|detail| Event {
        t_s: 0.0,
        kind: ACCOUNTING_EVENT.into(),
        detail: format!("kbench's counts do not add up (a kbench bug): {detail}"),
        repeats: 0,
        recovery_s: None,
    }));
    (recorded, client, events)
}

/// Waits until every enqueued message has its delivery report, or the grace period ends, or a
/// second interrupt arrives.
pub(super) async fn drain(
    clients: &[Arc<Client>],
    enqueued: u64,
    grace: Duration,
    interrupts: &Interrupts,
) {
    let deadline = tokio::time::Instant::now() + grace;
    while reports(clients) < enqueued && tokio::time::Instant::now() < deadline {
        tokio::select! {
            _ = tokio::time::sleep(DRAIN_POLL) => {}
            _ = interrupts.at_least(2) => break,
        }
    }
    if reports(clients) >= enqueued {
        return;
    }
    // Still outstanding: purge, so every message reports back (as unresolved) and is counted
    // from its own report, not derived from the others.
    for c in clients {
        c.purge_outstanding();
    }
    let deadline = tokio::time::Instant::now() + PURGE_WAIT;
    while reports(clients) < enqueued && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(DRAIN_POLL).await;
    }
}

/// Delivery reports of every kind so far, over all instances.
fn reports(clients: &[Arc<Client>]) -> u64 {
    clients.iter().map(|c| c.context().reports()).sum()
}
