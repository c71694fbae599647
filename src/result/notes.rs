//! The notes a result carries for its reader: what the numbers cannot mean on this cluster or in
//! this mode, and what went wrong that a percentile would not show. Each kind is a [`Note`]
//! whose text is written in one place; results keep the text (`notes: [String]`).

use std::fmt;

use crate::plan::RunPlan;
use crate::recorder::{hist, Recorded};
use crate::run::RunOutput;
use crate::scenario::{Acks, Mode};
use crate::units::{human_us, Dur};

/// How the note about what landed in the topic begins (a merge drops it: every shard's
/// watermarks saw the others' messages too).
const LANDED: &str = "the topic received";

/// One note of a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// What the embedded broker is not (`crate::broker::EMBEDDED_NOTES`).
    Embedded(&'static str),
    /// acks=all on a topic of replication factor 1.
    OneReplica,
    /// Sync mode: what its latency streams mean.
    Sync { workers: u32, batch: u32 },
    /// acks=0: a report confirms nothing.
    FireAndForget,
    /// `rate = "max"`: no schedule.
    Unpaced { queue_messages: Option<u32> },
    /// More than 1% of the measured acks came after the window.
    FellBehind { drained: u64, percent: f64 },
    /// The send lag grew through the run.
    GrowingSendLag { first_us: u64, last_us: u64 },
    /// What the cluster said of the topic (e.g. another partition count than asked).
    Topic(String),
    /// `load.timeout` cut a run by count short (the event's detail).
    Timeout(String),
    /// Messages without a report when the grace ended.
    Unresolved {
        queued: u64,
        in_flight: u64,
        grace: Dur,
    },
    /// Messages due but never sent.
    Unsent { count: u64, closed_loop: bool },
    /// Faults without idempotence: at-least-once delivery.
    AtLeastOnce,
    /// The topic's watermarks moved by another count than the acks.
    Landed { landed: u64, acked: u64 },
    /// Latencies above the histograms' range.
    Clamped(u64),
}

impl Note {
    /// Whether a note's text is the one about what landed in the topic.
    pub fn is_landed(text: &str) -> bool {
        text.starts_with(LANDED)
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Embedded(text) => f.write_str(text),
            Note::OneReplica => {
                f.write_str("replication factor 1: acks=all cannot differ from acks=1")
            }
            Note::Sync { workers: w, batch } => write!(
                f,
                "sync mode: each of {w} workers {}; throughput = workers{} / latency. Service latency (enqueue to ack) is the closed-loop round trip and leads; corrected is from each message's arrival on the open-loop schedule to its ack, through the {w} synchronous callers",
                match batch {
                    1 => "waits for its ack before the next send".to_string(),
                    n => format!("enqueues {n} messages, then waits until all {n} are acked (sync_batch)"),
                },
                match batch {
                    1 => String::new(),
                    n => format!(" x {n}"),
                },
            ),
            Note::FireAndForget => f.write_str(
                "fire-and-forget (acks=0): a delivery report means the request was written to the socket; the broker confirmed nothing",
            ),
            Note::Unpaced { queue_messages } => write!(
                f,
                "rate = max: no schedule, so corrected latency equals service latency, and it is mostly local queueing behind producer.queue_messages ({} per instance)",
                queue_messages.map_or("librdkafka's default".into(), |q| q.to_string())
            ),
            Note::FellBehind { drained, percent } => write!(
                f,
                "the cluster fell behind the schedule: {drained} messages ({percent:.1}% of the acks) were acked after the window; throughput counts only the acks inside it"
            ),
            Note::GrowingSendLag { first_us, last_us } => write!(
                f,
                "send lag grew through the run (interval p99 {} at the start, {} at the end): the schedule fell further and further behind",
                human_us(*first_us as f64),
                human_us(*last_us as f64)
            ),
            Note::Topic(text) | Note::Timeout(text) => f.write_str(text),
            Note::Unresolved {
                queued,
                in_flight,
                grace,
            } => write!(
                f,
                "{} messages had no delivery report when the grace ({grace}) ended: purged and counted as unresolved ({queued} still queued, {in_flight} in flight)",
                queued + in_flight
            ),
            Note::Unsent { count, closed_loop } => write!(
                f,
                "{count} messages were due but never sent: sending stopped while the {} was behind its schedule (counted as unsent and as loss)",
                if *closed_loop {
                    "closed loop (each sync worker waits for its ack)"
                } else {
                    "load generator"
                }
            ),
            Note::AtLeastOnce => f.write_str(
                "without idempotence delivery is at-least-once: a batch the broker appended but whose response was lost to a fault is sent again and appended twice (landed_messages above the acks means duplicates); producer.idempotence = true gives one copy",
            ),
            Note::Landed { landed, acked } => write!(
                f,
                "{LANDED} {landed} messages during the run but {acked} were acked: {}",
                if landed > acked {
                    "duplicates (retries without idempotence) or another producer"
                } else {
                    "messages acked but not in the topic, or the broker reports wrong end offsets (tansu 0.6 does: consume the topic to count)"
                }
            ),
            Note::Clamped(n) => write!(f, "{n} latencies exceeded 24 h and were recorded as 24 h"),
        }
    }
}

/// The notes of one run, as the result keeps them.
pub fn of_run(plan: &RunPlan, out: &RunOutput) -> Vec<String> {
    let mut notes = about_the_setup(plan);
    let r = &out.recorded;
    notes.extend(fell_behind(plan, r));
    notes.extend(growing_send_lag(r));
    notes.extend(out.topic.warning.clone().map(Note::Topic));
    notes.extend(
        out.events
            .iter()
            .filter(|e| e.kind == crate::event::EventKind::Timeout)
            .map(|e| Note::Timeout(e.detail.clone())),
    );
    notes.extend(about_the_messages(plan, out));
    notes.iter().map(Note::to_string).collect()
}

/// What the cluster, the mode and the rate mean for the numbers.
fn about_the_setup(plan: &RunPlan) -> Vec<Note> {
    let s = &plan.scenario;
    let p = &s.producer;
    let mut notes = Vec::new();
    if s.cluster.is_embedded() {
        notes.extend(crate::broker::EMBEDDED_NOTES.map(Note::Embedded));
    } else if p.acks() == Acks::All && s.topic.replication == 1 {
        notes.push(Note::OneReplica);
    }
    match p.mode {
        Mode::Sync => notes.push(Note::Sync {
            workers: p.workers(),
            batch: p.sync_batch,
        }),
        Mode::FireAndForget => notes.push(Note::FireAndForget),
        Mode::Async => {}
    }
    if plan.curve.is_none() {
        notes.push(Note::Unpaced {
            queue_messages: p.queue_messages,
        });
    }
    notes
}

/// Messages that did not make it, or made it twice, or whose latency did not fit.
fn about_the_messages(plan: &RunPlan, out: &RunOutput) -> Vec<Note> {
    let s = &plan.scenario;
    let r = &out.recorded;
    let mut notes = Vec::new();
    let (queued, in_flight) = (
        r.measured.unresolved_queued + r.warmup.unresolved_queued,
        r.measured.unresolved_in_flight + r.warmup.unresolved_in_flight,
    );
    if queued + in_flight > 0 {
        let grace = s.load.grace;
        notes.push(Note::Unresolved {
            queued,
            in_flight,
            grace,
        });
    }
    let unsent = r.send.unsent + r.send.warmup_unsent;
    if unsent > 0 {
        let closed_loop = s.producer.mode == Mode::Sync;
        notes.push(Note::Unsent {
            count: unsent,
            closed_loop,
        });
    }
    if !s.producer.idempotence && !s.faults.is_empty() && s.producer.acks() != Acks::None {
        notes.push(Note::AtLeastOnce);
    }
    let acked = r.measured.acked + r.warmup.acked;
    if let Some(landed) = out.landed.filter(|&l| l != acked) {
        notes.push(Note::Landed { landed, acked });
    }
    if r.clamped > 0 {
        notes.push(Note::Clamped(r.clamped));
    }
    notes
}

/// More than 1% of a duration run's measured acks came after its window: the throughput counts
/// only the rest, and the drain is reported apart.
fn fell_behind(plan: &RunPlan, r: &Recorded) -> Option<Note> {
    plan.window_end_us()?;
    let drained = r.drain.acked;
    (drained * 100 > r.measured.acked).then(|| Note::FellBehind {
        drained,
        percent: drained as f64 * 100.0 / r.measured.acked.max(1) as f64,
    })
}

/// The send lag grew through the measured intervals (last p99 over 10x the first and over
/// 10 ms): the generator, or a closed loop, fell further and further behind.
fn growing_send_lag(r: &Recorded) -> Option<Note> {
    let first_measured = (r.warmup_end_us / r.interval_us) as usize;
    let p99s: Vec<u64> = r
        .intervals
        .iter()
        .skip(first_measured)
        .filter_map(|row| row.send_lag.as_deref())
        .filter_map(|text| hist::decode(text).ok())
        .filter(|h| !h.is_empty())
        .map(|h| h.value_at_quantile(0.99))
        .collect();
    let (&first_us, &last_us) = (p99s.first()?, p99s.last()?);
    (p99s.len() >= 3 && last_us > 10_000 && last_us > first_us.max(1) * 10)
        .then_some(Note::GrowingSendLag { first_us, last_us })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_landed_note_is_recognised_by_its_own_text() {
        let landed = Note::Landed {
            landed: 1_001,
            acked: 1_000,
        };
        assert!(Note::is_landed(&landed.to_string()));
        assert!(landed.to_string().contains("duplicates"));
        assert!(!Note::is_landed(&Note::AtLeastOnce.to_string()));
        let behind = Note::FellBehind {
            drained: 2_070,
            percent: 51.8,
        };
        assert!(behind
            .to_string()
            .contains("2070 messages (51.8% of the acks)"));
    }
}
