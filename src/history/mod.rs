//! The run history: results kept in one SQLite database (`--history FILE`, `[output] history`,
//! `KBENCH_HISTORY`), so a gate can judge a run against what the same scenario usually does on
//! the same environment, and a reader can see a trend.
//!
//! One row per run: when it started, the scenario's name and hash, the environment's fingerprint
//! ([`key`]), the CI context (commit, branch: read by the command layer), whether the run is
//! valid, the headline figures as columns (throughput, corrected p50/p99/p99.9, loss and error
//! rates; with repeats the medians and their intervals), and the whole result as JSON. The file is SQLite's own format with kbench's
//! `application_id`; its `user_version` is the schema version, and an older file is migrated when
//! opened. It runs in WAL mode with a busy timeout, and each run lands in one transaction, so runs
//! writing one history at the same time all land.

pub mod key;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::result::{RunResult, Status};

/// kbench's mark in the SQLite header ("kbhi").
const APPLICATION_ID: i32 = 0x6b62_6869;
/// The schema this kbench writes; older files are migrated up to it.
pub const SCHEMA_VERSION: i32 = 2;
/// How long a writer waits for another's transaction.
const BUSY: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("{path}: not a kbench history: {detail}")]
    NotOurs { path: String, detail: String },
    #[error("{path}: history schema {found} is newer than this kbench's ({SCHEMA_VERSION}): use a newer kbench")]
    Newer { path: String, found: i32 },
    #[error("{path}: {detail}")]
    Sqlite { path: String, detail: String },
}

/// Where a run came from, beyond its result: the CI context and the machine.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub cpus: usize,
}

/// One run as listed: the columns, without the whole result.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: i64,
    pub started_at: String,
    pub scenario: String,
    pub scenario_hash: String,
    pub fingerprint: String,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub valid: bool,
    pub throughput: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub loss_rate: f64,
    /// With repeats: the 95% intervals of the medians above (low, high).
    pub throughput_interval: Option<(f64, f64)>,
    pub p50_interval: Option<(f64, f64)>,
    pub p99_interval: Option<(f64, f64)>,
}

/// An open history.
pub struct History {
    conn: Connection,
    path: PathBuf,
}

impl History {
    /// Opens (creating it if need be) and migrates a history; a file that is not one is an error
    /// naming it.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let conn = Connection::open(path).map_err(|e| sql(path, e))?;
        let mut h = History {
            conn,
            path: path.to_path_buf(),
        };
        h.conn.busy_timeout(BUSY).map_err(|e| h.err(e))?;
        let app: i32 = h
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|e| h.not_ours(e.to_string()))?;
        let tables: i64 = h
            .conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(|e| h.not_ours(e.to_string()))?;
        if app != APPLICATION_ID && (app != 0 || tables > 0) {
            return Err(h.not_ours("an SQLite database of something else".into()));
        }
        h.conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| h.err(e))?;
        h.migrate()?;
        Ok(h)
    }

    /// Brings the schema up to [`SCHEMA_VERSION`], in one transaction (a second process opening
    /// a new file at the same time waits, then finds it done).
    fn migrate(&mut self) -> Result<(), HistoryError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql(&path, e))?;
        let found: i32 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| sql(&path, e))?;
        if found > SCHEMA_VERSION {
            return Err(HistoryError::Newer {
                path: path.display().to_string(),
                found,
            });
        }
        if found < 1 {
            tx.execute_batch(SCHEMA_1).map_err(|e| sql(&path, e))?;
        }
        if found < 2 {
            tx.execute_batch(SCHEMA_2).map_err(|e| sql(&path, e))?;
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .and_then(|_| tx.pragma_update(None, "user_version", SCHEMA_VERSION))
            .and_then(|_| tx.commit())
            .map_err(|e| sql(&path, e))
    }

    /// Appends a run in one transaction; returns its id.
    pub fn append(&mut self, r: &RunResult, p: &Provenance) -> Result<i64, HistoryError> {
        let json = serde_json::to_string(r).map_err(|e| self.not_ours(e.to_string()))?;
        // With repeats, the columns are the repeats' medians.
        let lat = &r.latency_us.corrected;
        let (throughput, p50, p99, p999) = match &r.repeats {
            Some(rep) => (
                rep.throughput.median,
                rep.p50_us.median,
                rep.p99_us.median,
                rep.p999_us.median,
            ),
            None => (
                r.throughput.msgs_per_sec,
                lat.p50 as f64,
                lat.p99 as f64,
                lat.p999 as f64,
            ),
        };
        let error_rate = r.counts.failed as f64 / r.counts.sent.max(1) as f64;
        let bounds = Bounds {
            throughput: r.repeats.as_ref().map(|rep| rep.throughput),
            p50: r.repeats.as_ref().map(|rep| rep.p50_us),
            p99: r.repeats.as_ref().map(|rep| rep.p99_us),
        };
        let repeats_valid = r.repeats.iter().flat_map(|rep| &rep.runs).all(|f| f.valid);
        let valid =
            r.status == Status::Completed && r.accounting_error().is_none() && repeats_valid;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql(&self.path, e))?;
        tx.execute(
            "INSERT INTO runs (started_at, t0_unix_ms, scenario, scenario_hash, fingerprint, \
             cluster_kind, brokers, client, kbench_version, cpus, commit_sha, branch, status, \
             valid, throughput, p50_us, p99_us, p999_us, loss_rate, error_rate, result, \
             throughput_low, throughput_high, p50_low, p50_high, p99_low, p99_high) VALUES \
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
             ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)",
            params![
                r.started_at,
                r.t0_unix_ms as i64,
                r.scenario.name,
                key::scenario_hash(r),
                key::fingerprint(r, p.cpus),
                r.broker.kind.as_str(),
                r.spec.cluster.brokers,
                key::client(r),
                r.kbench_version,
                p.cpus as i64,
                p.commit,
                p.branch,
                format!("{:?}", r.status).to_lowercase(),
                valid,
                throughput,
                p50,
                p99,
                p999,
                r.loss_rate,
                error_rate,
                json,
                bounds.throughput.map(|i| i.low),
                bounds.throughput.map(|i| i.high),
                bounds.p50.map(|i| i.low),
                bounds.p50.map(|i| i.high),
                bounds.p99.map(|i| i.low),
                bounds.p99.map(|i| i.high),
            ],
        )
        .map_err(|e| sql(&self.path, e))?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(|e| sql(&self.path, e))?;
        Ok(id)
    }

    /// The last `last` runs, newest first, of one scenario (by name) or all.
    pub fn list(&self, scenario: Option<&str>, last: usize) -> Result<Vec<Row>, HistoryError> {
        let mut q = self
            .conn
            .prepare(
                "SELECT id, started_at, scenario, scenario_hash, fingerprint, commit_sha, branch, \
                 valid, throughput, p50_us, p99_us, loss_rate, throughput_low, throughput_high, \
                 p50_low, p50_high, p99_low, p99_high FROM runs \
                 WHERE ?1 IS NULL OR scenario = ?1 ORDER BY id DESC LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = q
            .query_map(params![scenario, last as i64], |r| {
                Ok(Row {
                    id: r.get(0)?,
                    started_at: r.get(1)?,
                    scenario: r.get(2)?,
                    scenario_hash: r.get(3)?,
                    fingerprint: r.get(4)?,
                    commit: r.get(5)?,
                    branch: r.get(6)?,
                    valid: r.get(7)?,
                    throughput: r.get(8)?,
                    p50_us: r.get(9)?,
                    p99_us: r.get(10)?,
                    loss_rate: r.get(11)?,
                    throughput_interval: pair(r.get(12)?, r.get(13)?),
                    p50_interval: pair(r.get(14)?, r.get(15)?),
                    p99_interval: pair(r.get(16)?, r.get(17)?),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The whole result of run `id`, if there is one.
    pub fn result(&self, id: i64) -> Result<Option<RunResult>, HistoryError> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT result FROM runs WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        text.map(|t| self.parse(&t, id)).transpose()
    }

    /// The last `last` valid runs comparable with `current[0]` (same scenario hash and
    /// fingerprint) on `branch`, newest first, without any of `current` (a result judged after
    /// its run added it).
    pub fn comparable(
        &self,
        current: &[RunResult],
        cpus: usize,
        branch: &str,
        last: usize,
    ) -> Result<Vec<RunResult>, HistoryError> {
        let Some(r) = current.first() else {
            return Ok(Vec::new());
        };
        let mut q = self
            .conn
            .prepare(
                "SELECT id, t0_unix_ms, started_at, result FROM runs WHERE scenario_hash = ?1 \
                 AND fingerprint = ?2 AND branch = ?3 AND valid ORDER BY id DESC LIMIT ?4",
            )
            .map_err(|e| self.err(e))?;
        let (hash, print) = (key::scenario_hash(r), key::fingerprint(r, cpus));
        let limit = (last + current.len()) as i64;
        let rows = q
            .query_map(params![hash, print, branch, limit], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, t0, started, text) = row.map_err(|e| self.err(e))?;
            let judged = current
                .iter()
                .any(|c| c.t0_unix_ms as i64 == t0 && c.started_at == started);
            if !judged && out.len() < last {
                out.push(self.parse(&text, id)?);
            }
        }
        Ok(out)
    }

    fn parse(&self, text: &str, id: i64) -> Result<RunResult, HistoryError> {
        let label = format!("{} run {id}", self.path.display());
        RunResult::parse(text, &label).map_err(|e| self.not_ours(e.to_string()))
    }

    fn err(&self, e: rusqlite::Error) -> HistoryError {
        sql(&self.path, e)
    }

    fn not_ours(&self, detail: String) -> HistoryError {
        HistoryError::NotOurs {
            path: self.path.display().to_string(),
            detail,
        }
    }
}

/// The intervals a run with repeats stores beside its medians.
struct Bounds {
    throughput: Option<crate::stats::Interval>,
    p50: Option<crate::stats::Interval>,
    p99: Option<crate::stats::Interval>,
}

fn pair(low: Option<f64>, high: Option<f64>) -> Option<(f64, f64)> {
    low.zip(high)
}

fn sql(path: &Path, e: rusqlite::Error) -> HistoryError {
    HistoryError::Sqlite {
        path: path.display().to_string(),
        detail: e.to_string(),
    }
}

/// Version 1: the runs, and the index a gate's lookup uses.
const SCHEMA_1: &str = "
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    t0_unix_ms INTEGER NOT NULL,
    scenario TEXT NOT NULL,
    scenario_hash TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    cluster_kind TEXT NOT NULL,
    brokers INTEGER NOT NULL,
    client TEXT NOT NULL,
    kbench_version TEXT NOT NULL,
    cpus INTEGER NOT NULL,
    commit_sha TEXT,
    branch TEXT,
    status TEXT NOT NULL,
    valid INTEGER NOT NULL,
    throughput REAL NOT NULL,
    p50_us REAL NOT NULL,
    p99_us REAL NOT NULL,
    p999_us REAL NOT NULL,
    loss_rate REAL NOT NULL,
    error_rate REAL NOT NULL,
    result TEXT NOT NULL
);
CREATE INDEX runs_by_key ON runs (scenario_hash, fingerprint, branch, id);
";

/// Version 2: a run with repeats keeps its medians' intervals (null otherwise).
const SCHEMA_2: &str = "
ALTER TABLE runs ADD COLUMN throughput_low REAL;
ALTER TABLE runs ADD COLUMN throughput_high REAL;
ALTER TABLE runs ADD COLUMN p50_low REAL;
ALTER TABLE runs ADD COLUMN p50_high REAL;
ALTER TABLE runs ADD COLUMN p99_low REAL;
ALTER TABLE runs ADD COLUMN p99_high REAL;
";
