//! The end of a run: the drain (at most `load.grace`, then a purge so every message reports),
//! the events of how it ended, and the merge of what the instances and workers counted, checked
//! against each other.

use rdkafka::producer::Producer as _;
use std::sync::Arc;
use std::time::Duration;

use crate::event::Event;
use crate::plan::{RunPlan, Scheduled};
use crate::producer::{self, Client};
use crate::recorder::{InstanceRecorder, Recorded, SendStats};
use crate::signal::Interrupts;
use std::sync::atomic::Ordering;

use super::{Instance, DRAIN_POLL, PURGE_WAIT};

/// The events of how the run ended: interrupted, or stopped by `load.timeout`.
pub(super) fn end_events(plan: &RunPlan, interrupted: bool, timed_out: bool) -> Vec<Event> {
    let mut events = Vec::new();
    if interrupted {
        events.push(Event {
            t_s: 0.0,
            kind: crate::event::EventKind::Interrupted,
            detail: "stopped by a signal; sending ended early".into(),
            repeats: 0,
            recovery_s: None,
        });
    }
    if timed_out {
        let l = &plan.scenario.load;
        events.push(Event {
            t_s: (l.warmup.0 + l.timeout.0).as_secs_f64(),
            kind: crate::event::EventKind::Timeout,
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

/// Merges the instances' recorders with the workers' send statistics; sums librdkafka's latest
/// statistics; takes the clients' events, plus an `accounting` event when the counts do not add
/// up. Three identities, each between tallies kept at different points:
/// - per instance, the messages librdkafka put in its delivery-report events against what the
///   recorder classified;
/// - the plan's scheduled messages against the workers' `sent + unsent` (within one message per
///   worker: the rounding of a due instant at a window's edge), unless the run was interrupted;
/// - what the workers sent against every report (acked, failed, unresolved, aborted).
///
/// A run cut short (by `load.timeout`, or transactions that could not go on) never sent the rest
/// of its schedule: that rest is added as unsent.
pub(super) fn collect(
    plan: &RunPlan,
    clients: &[Instance],
    mut send: SendStats,
    ended: Ended,
) -> (
    Recorded,
    Scheduled,
    Option<producer::ClientStats>,
    Vec<Event>,
) {
    let (interval_us, warmup_end_us) = (plan.interval_us, plan.warmup_end_us);
    let mut recorders = Vec::new();
    let mut events = Vec::new();
    let mut problems = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        let rec = c.context().with_recorder(|sh| {
            std::mem::replace(sh, InstanceRecorder::new(interval_us, warmup_end_us))
        });
        let (reported, recorded) = (
            c.context().dr_messages.load(Ordering::Acquire),
            rec.measured.resolved_or_purged() + rec.warmup.resolved_or_purged(),
        );
        if reported != recorded {
            problems.push(format!(
                "instance {i}: librdkafka reported {reported} messages, {recorded} recorded"
            ));
        }
        recorders.push(rec);
        events.extend(c.context().take_events());
    }
    if SKEW_ACCOUNTING.load(Ordering::Relaxed) {
        send.sent += plan.workers.len() as u64 + 1;
    }
    let scheduled = if ended.interrupted {
        Scheduled::default()
    } else {
        plan.scheduled()
    };
    let slack = plan.workers.len() as u64;
    let windows = [
        (
            "measured",
            scheduled.measured,
            &mut send.sent,
            &mut send.unsent,
        ),
        (
            "warm-up",
            scheduled.warmup,
            &mut send.warmup_sent,
            &mut send.warmup_unsent,
        ),
    ];
    for (name, planned, sent, unsent) in windows {
        let Some(planned) = planned else { continue };
        if ended.cut_short && *sent + *unsent < planned {
            *unsent = planned - *sent;
        }
        if planned.abs_diff(*sent + *unsent) > slack {
            problems.push(format!(
                "{name} messages: the plan scheduled {planned}, the workers sent {sent} and left {unsent} unsent"
            ));
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
    problems.extend(recorded.check_accounting().err().map(|e| e.to_string()));
    // With librdkafka in process a disagreement is kbench's bug; an external engine that lost
    // answers (its `engine` events say how) is the other way counts stop adding up.
    let whose = match plan.scenario.producer.engine.is_external() {
        false => "a kbench bug".to_string(),
        true => format!(
            "a kbench bug, or the {} engine's: see its events",
            plan.scenario.producer.engine
        ),
    };
    events.extend(problems.into_iter().map(|detail| Event {
        t_s: 0.0,
        kind: crate::event::EventKind::Accounting,
        detail: format!("kbench's counts do not add up ({whose}): {detail}"),
        repeats: 0,
        recovery_s: None,
    }));
    (recorded, scheduled, client, events)
}

/// A test hook: when set, every run counts one measured message per worker, plus one, as sent
/// that no worker sent, so both identities on `sent` fail. Only the command layer sets it, from
/// the environment variable `KBENCH_TEST_ACCOUNTING_SKEW` (no scenario key reaches it), so the
/// tests can check that every command treats such a run as invalid.
pub static SKEW_ACCOUNTING: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// How sending ended.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ended {
    /// By a signal: the plan's window was not run out, so nothing is compared with it.
    pub interrupted: bool,
    /// Before the schedule ran out, by `load.timeout` or broken transactions.
    pub cut_short: bool,
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
