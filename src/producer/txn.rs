//! Transactions of one producer instance (`producer.transaction`).
//!
//! librdkafka allows one transaction per producer instance at a time, so the workers of an
//! instance share it: each send holds a read guard of the instance's gate and reserves its place
//! in the open transaction (so a transaction of `messages` holds exactly that many), and the
//! worker whose send completes it (the N-th message, or the first send after `duration`) takes
//! the write guard, so no other worker is inside `send` while it commits (`commit_transaction`,
//! which flushes the transaction's messages), records the commit's latency (the call to its
//! return), and begins the next. Meanwhile the other workers wait at the gate: the open-loop
//! schedule keeps running, so the commit's wait shows in their corrected latency, as it would
//! for an application that produces through one transactional producer.
//!
//! One transaction in `abort_every` is aborted instead. While it is open, the context marks
//! every delivery report (ack or purge) as aborted, so its messages are counted apart
//! (`counts.aborted`) and never as delivered; the mark is lifted only once all of them have
//! reported. Before it aborts, the transaction waits (bounded) for the reports of all its
//! messages, as a commit flushes them: its messages reach their partitions and are aborted by
//! the broker's markers, and no abort races librdkafka's registration of a partition the last
//! messages opened (aborting right after a produce can make the coordinator answer
//! `INVALID_TXN_STATE`, librdkafka issue 4849). A commit that fails counts as failed and the
//! transaction is aborted.

use std::sync::atomic::Ordering;
use std::sync::{Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use rdkafka::producer::Producer;

use super::Client;
use crate::pacing::Clock;
use crate::recorder::hist::{self, new_hist, Hist};
use crate::recorder::series::Series;
use crate::scenario::Transaction;

/// A transactional call librdkafka refused: which call, and librdkafka's words.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TxnError {
    #[error("{0}: {1}")]
    Call(&'static str, String),
}

/// How long the reports of an aborted transaction may take to come back before the mark is
/// lifted anyway.
const ABORT_REPORTS_WAIT: Duration = Duration::from_secs(5);

/// What an instance's transactions did.
#[derive(Debug)]
pub struct TxnRecord {
    pub committed: u64,
    pub aborted: u64,
    pub failed: u64,
    /// Commit latency (µs) of commits that began after the warm-up.
    pub commit: Hist,
    /// Commit latency by interval of the commit's end, warm-up included.
    pub series: Series,
    /// Errors of failed commits, as events (instant in µs, detail).
    pub errors: Vec<(u64, String)>,
}

struct State {
    /// The open transaction, from 1.
    number: u64,
    messages: u64,
    began: Instant,
    /// The instance's delivery reports when it began.
    reports_at_begin: u64,
}

/// One instance's transactions.
pub struct Txn {
    every_messages: Option<u64>,
    every: Option<Duration>,
    abort_every: Option<u64>,
    timeout: Duration,
    interval_us: u64,
    warmup_end_us: u64,
    gate: RwLock<()>,
    state: Mutex<State>,
    pub record: Mutex<TxnRecord>,
    /// Set when transactions cannot go on (the cluster does not support them, or a fatal
    /// error): the workers stop sending, and the run reports why.
    /// When (µs since t0) and why.
    broken: Mutex<Option<(u64, String)>>,
}

impl Txn {
    /// `timeout` bounds each init, commit and abort call.
    pub fn new(t: &Transaction, timeout: Duration, interval_us: u64, warmup_end_us: u64) -> Self {
        Txn {
            every_messages: t.messages,
            every: t.duration.map(|d| d.0),
            abort_every: t.abort_every,
            timeout,
            interval_us: interval_us.max(1),
            warmup_end_us,
            gate: RwLock::new(()),
            state: Mutex::new(State {
                number: 1,
                messages: 0,
                began: Instant::now(),
                reports_at_begin: 0,
            }),
            broken: Mutex::new(None),
            record: Mutex::new(TxnRecord {
                committed: 0,
                aborted: 0,
                failed: 0,
                commit: new_hist(),
                series: Series::default(),
                errors: Vec::new(),
            }),
        }
    }

    /// Registers the producer with its transaction coordinator and opens the first transaction.
    pub fn start(&self, client: &Client) -> Result<(), TxnError> {
        client
            .init_transactions(self.timeout)
            .map_err(|e| TxnError::Call("init_transactions", e.to_string()))?;
        let mut st = self.lock_state();
        self.begin(client, &mut st)
    }

    /// Held while a worker hands one message to librdkafka, with its place in the open
    /// transaction reserved: a transaction of `messages` holds exactly that many. When the open
    /// one is full, the caller ends it (or waits while another worker does) first.
    /// `None` once transactions are broken: the worker stops sending.
    pub fn sending(&self, client: &Client, clock: &Clock) -> Option<RwLockReadGuard<'_, ()>> {
        loop {
            if self.broken().is_some() {
                return None;
            }
            let gate = self.gate.read().unwrap_or_else(|p| p.into_inner());
            {
                let mut st = self.lock_state();
                if !self.every_messages.is_some_and(|n| st.messages >= n) {
                    st.messages += 1;
                    return Some(gate);
                }
            }
            drop(gate);
            self.end_if_due(client, clock);
        }
    }

    /// Gives back the place [`Txn::sending`] reserved, for a message that was not enqueued;
    /// call it with the guard still held.
    pub fn unreserve(&self, _sending: &RwLockReadGuard<'_, ()>) {
        let mut st = self.lock_state();
        st.messages = st.messages.saturating_sub(1);
    }

    /// Ends the transaction if it is due (its `messages` sent, or `duration` passed), with the
    /// sending guard dropped.
    pub fn end_if_due(&self, client: &Client, clock: &Clock) {
        if !self.is_due(&self.lock_state()) {
            return;
        }
        let _gate = self.gate.write().unwrap_or_else(|p| p.into_inner());
        let mut st = self.lock_state();
        // Another worker may have ended it while this one waited at the gate.
        if self.is_due(&st) {
            self.end(client, clock, &mut st, true);
        }
    }

    /// At the end of the run: ends the open transaction if it holds messages (no next one).
    pub fn finish(&self, client: &Client, clock: &Clock) {
        let _gate = self.gate.write().unwrap_or_else(|p| p.into_inner());
        let mut st = self.lock_state();
        if st.messages > 0 {
            self.end(client, clock, &mut st, false);
        }
    }

    /// Why transactions stopped, if they did.
    pub fn broken(&self) -> Option<String> {
        self.broken_at().map(|(_, why)| why)
    }

    /// When (µs since t0) and why transactions stopped, if they did.
    pub fn broken_at(&self) -> Option<(u64, String)> {
        self.broken
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_broken(&self, at_us: u64, why: String) {
        let mut b = self.broken.lock().unwrap_or_else(|p| p.into_inner());
        if b.is_none() {
            *b = Some((at_us, why));
        }
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_due(&self, st: &State) -> bool {
        self.every_messages.is_some_and(|n| st.messages >= n)
            || self
                .every
                .is_some_and(|d| st.messages > 0 && st.began.elapsed() >= d)
    }

    fn aborts(&self, number: u64) -> bool {
        self.abort_every.is_some_and(|k| number % k == 0)
    }

    fn begin(&self, client: &Client, st: &mut State) -> Result<(), TxnError> {
        let ctx = client.context();
        ctx.aborting
            .store(self.aborts(st.number), Ordering::Release);
        st.messages = 0;
        st.began = Instant::now();
        st.reports_at_begin = ctx.reports();
        client
            .begin_transaction()
            .map_err(|e| TxnError::Call("begin_transaction", e.to_string()))
    }

    /// Commits (or aborts) the open transaction, records it, and begins the next if `next`.
    fn end(&self, client: &Client, clock: &Clock, st: &mut State, next: bool) {
        let abort = self.aborts(st.number);
        if abort {
            // Its messages reach their partitions first (see the module docs).
            self.await_reports(client, st);
        }
        let start_us = clock.now_us();
        let outcome = if abort {
            client.abort_transaction_now(self.timeout)
        } else {
            client.commit_transaction_now(self.timeout)
        };
        let end_us = clock.now_us();
        let mut rec = self.record.lock().unwrap_or_else(|p| p.into_inner());
        match (&outcome, abort) {
            (Ok(()), true) => rec.aborted += 1,
            (Ok(()), false) => {
                rec.committed += 1;
                let latency = end_us.saturating_sub(start_us);
                rec.series
                    .record((end_us / self.interval_us) as usize, latency);
                if start_us >= self.warmup_end_us {
                    hist::record(&mut rec.commit, latency);
                }
            }
            (Err(e), _) => {
                rec.failed += 1;
                rec.errors
                    .push((end_us, format!("transaction {}: {e}", st.number)));
                let fatal = e.fatal || (!e.retriable && !e.requires_abort);
                if fatal {
                    self.set_broken(
                        end_us,
                        format!("transaction {} could not end: {e}", st.number),
                    );
                }
                // Its messages must not count as delivered: abort it, marked as aborted.
                client.context().aborting.store(true, Ordering::Release);
                if let Err(a) = client.abort_transaction_now(self.timeout) {
                    self.set_broken(
                        clock.now_us(),
                        format!(
                            "transaction {} could not end: {e}; nor be aborted: {a}",
                            st.number
                        ),
                    );
                }
            }
        }
        drop(rec);
        if abort || outcome.is_err() {
            self.await_reports(client, st);
        }
        st.number += 1;
        if next && self.broken().is_none() {
            if let Err(e) = self.begin(client, st).map_err(|e| e.to_string()) {
                let mut rec = self.record.lock().unwrap_or_else(|p| p.into_inner());
                let at = clock.now_us();
                rec.errors.push((at, e.clone()));
                self.set_broken(at, e);
            }
        } else {
            client.context().aborting.store(false, Ordering::Release);
        }
    }

    /// Waits (bounded) until every message of the ended transaction has reported, so the
    /// aborted mark covers them all.
    fn await_reports(&self, client: &Client, st: &State) {
        let ctx = client.context();
        let deadline = Instant::now() + ABORT_REPORTS_WAIT;
        while ctx.reports() < st.reports_at_begin + st.messages && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
