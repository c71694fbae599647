//! External engines in a run (`crate::engine`): one process per producer instance, started
//! before the clock, fed the payload pool, and read on a thread of its own that records every
//! answer into the instance's recorder, as librdkafka's delivery thread does. At the end each
//! gets the finish line with the grace; what it did not answer by then is unresolved.
//!
//! The engine's output is untrusted: a line kbench cannot read, an answer for a message it never
//! sent, a crash or a hang becomes an `engine` event with the engine's words (and its standard
//! error), and the accounting then says what is missing; the run still ends and is written.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::broker::BrokerError;
use crate::engine::protocol::{self, Reply, PROTOCOL};
use crate::engine::EngineError;
use crate::event::{Event, EventKind};
use crate::plan::RunPlan;
use crate::producer::engine_link::EngineLink;
use crate::producer::Context;
use crate::recorder::{Sample, PURGE_INFLIGHT, PURGE_QUEUE};
use crate::scenario::engine::{self, Engine};
use crate::scenario::Scenario;

/// How long an engine may take to answer its configuration (connecting included), beyond
/// `cluster.connect_timeout`.
const READY_SLACK: Duration = Duration::from_secs(10);
/// How long an engine may take to end after the grace.
const END_SLACK: Duration = Duration::from_secs(10);
/// The most of an engine's standard error kept for an error message.
const STDERR_KEEP: usize = 2048;

/// What the reader thread learned, for the end of the run.
#[derive(Default)]
struct Heard {
    /// The end line's fields (CPU seconds, peak RSS, sarama's metrics).
    end: Option<serde_json::Value>,
    /// What went wrong: unreadable lines, a fatal error after the start, an early exit.
    problems: Vec<String>,
}

/// One running engine process.
pub struct EngineInstance {
    pub engine: Engine,
    pub link: Arc<EngineLink>,
    /// The `R` line: client, versions, the resolved configuration.
    pub ready: serde_json::Value,
    child: Mutex<Child>,
    reader: Mutex<Option<JoinHandle<()>>>,
    heard: Arc<Mutex<Heard>>,
    t0: Arc<OnceLock<u64>>,
    stderr: Arc<Mutex<(String, String)>>,
}

/// What an engine reported at its end.
#[derive(Debug, Clone, Default)]
pub struct EngineEnd {
    pub cpu_s: Option<f64>,
    pub max_rss_bytes: Option<u64>,
    pub metrics: Option<serde_json::Value>,
}

/// The configuration line for scenario `s` (secrets resolved: it goes only to the engine's
/// standard input).
pub fn config_line(
    s: &Scenario,
    bootstrap: &str,
    slots: usize,
    check_only: bool,
) -> Result<String, EngineError> {
    let engine = s.producer.engine;
    let security = match &s.cluster.security {
        None => serde_json::Value::Null,
        Some(sec) => {
            let password = match &sec.password {
                Some(p) => p.value().map_err(|e| EngineError::Config {
                    engine,
                    detail: format!("cluster.security.password: {e}"),
                })?,
                None => String::new(),
            };
            serde_json::json!({
                "protocol": sec.protocol.as_rdkafka().to_uppercase(),
                "mechanism": sec.mechanism.map(|m| m.as_rdkafka().to_string()).unwrap_or_default(),
                "username": sec.username.clone().unwrap_or_default(),
                "password": password,
                "ca": sec.ca.clone().unwrap_or_default(),
                "cert": sec.cert.clone().unwrap_or_default(),
                "key": sec.key.clone().unwrap_or_default(),
            })
        }
    };
    let line = serde_json::json!({
        "protocol": PROTOCOL,
        "bootstrap": bootstrap.split(',').map(str::trim).filter(|b| !b.is_empty()).collect::<Vec<_>>(),
        "client_id": format!("kbench-{}", s.name),
        "topics": s.topic.names(),
        "mode": s.producer.mode.to_string(),
        "slots": slots.max(1),
        "sync_batch": s.producer.sync_batch,
        "partitioner": engine::partitioner(&s.producer.partitioner),
        "settings": engine::settings(s).into_iter().filter(|t| t.name != "-").map(|t| [t.name, t.value]).collect::<Vec<_>>(),
        "security": security,
        "headers": headers(s),
        "check_only": check_only,
    });
    Ok(format!("{line}\n"))
}

/// The headers every message carries (`message.headers`), as the librdkafka workers build them:
/// `[name, base64 value]` pairs.
fn headers(s: &Scenario) -> Vec<[String; 2]> {
    use base64::Engine as _;
    let set = crate::producer::headers::HeaderSet::new(&s.message.headers, s.message.seed);
    set.names
        .into_iter()
        .zip(&set.values)
        .map(|(name, value)| {
            [
                name,
                base64::engine::general_purpose::STANDARD.encode(value),
            ]
        })
        .collect()
}

/// Asks the engine to resolve the scenario's configuration without connecting: the exact client
/// settings (secrets `***`), or the engine's refusal (exit 2). Builds the engine when needed.
pub fn resolve(s: &Scenario) -> Result<serde_json::Value, EngineError> {
    let engine = s.producer.engine;
    let bin = crate::engine::build::ensure(engine)?;
    let line = config_line(s, "", 1, true)?;
    let mut child = Command::new(&bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(engine, format!("cannot start {}: {e}", bin.display())))?;
    let mut stdin = child.stdin.take().expect("piped");
    let _ = stdin.write_all(line.as_bytes());
    drop(stdin);
    let out =
        wait_output(child, Duration::from_secs(30)).map_err(|detail| failed(engine, detail))?;
    match protocol::parse(out.lines().next().unwrap_or("")) {
        Ok(Reply::Ready(v)) => Ok(v),
        Ok(Reply::Fatal { kind, message }) => Err(fatal(engine, &kind, message)),
        _ => Err(failed(
            engine,
            format!("no answer to its configuration: {}", first(&out)),
        )),
    }
}

/// Waits (bounded) for a child's standard output; kills it when the time is up.
fn wait_output(mut child: Child, limit: Duration) -> Result<String, String> {
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer within {limit:?}"));
            }
        }
    }
    Ok(reader.join().unwrap_or_default())
}

fn first(text: &str) -> &str {
    text.lines().next().unwrap_or("(nothing)")
}

fn failed(engine: Engine, detail: String) -> EngineError {
    EngineError::Failed { engine, detail }
}

/// The error of an `X kind message` line.
fn fatal(engine: Engine, kind: &str, detail: String) -> EngineError {
    match kind {
        "config" => EngineError::Config { engine, detail },
        "cluster" => EngineError::Cluster { engine, detail },
        _ => EngineError::Failed { engine, detail },
    }
}

/// Starts instance `index`'s engine: configuration, its answer, the payload pool.
pub fn start(
    plan: &RunPlan,
    bootstrap: &str,
    context: Context,
    slots: usize,
    pool: &[u8],
) -> Result<EngineInstance, BrokerError> {
    let s = &plan.scenario;
    let engine = s.producer.engine;
    let bin = crate::engine::build::ensure(engine)?;
    // A process group of its own: stopping it stops whatever it started.
    let mut child = std::os::unix::process::CommandExt::process_group(
        Command::new(&bin)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
        0,
    )
    .spawn()
    .map_err(|e| failed(engine, format!("cannot start {}: {e}", bin.display())))?;
    let stderr = keep_stderr(&mut child);
    let mut stdin: ChildStdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let context = Arc::new(context);
    let (first_tx, first_rx) = mpsc::channel();
    let heard = Arc::new(Mutex::new(Heard::default()));
    let t0 = Arc::new(OnceLock::new());
    let reader = {
        let (ctx, heard, t0) = (context.clone(), heard.clone(), t0.clone());
        std::thread::Builder::new()
            .name(format!("kbench-{engine}-reader"))
            .spawn(move || read(stdout, &ctx, &heard, &t0, first_tx))
            .map_err(|e| failed(engine, e.to_string()))?
    };
    let line = config_line(s, bootstrap, slots, false);
    let wait = s.cluster.connect_timeout.0 + READY_SLACK;
    let ready = line.map_err(BrokerError::from).and_then(|line| {
        let _ = stdin.write_all(line.as_bytes()).and_then(|_| stdin.flush());
        match first_rx.recv_timeout(wait) {
            Ok(Reply::Ready(v)) => Ok(v),
            Ok(Reply::Fatal { kind, message }) => Err(fatal(engine, &kind, message).into()),
            _ => {
                let why = format!(
                    "no answer to its configuration within {wait:?}; its standard error: {}",
                    stderr_text(&stderr)
                );
                Err(failed(engine, why).into())
            }
        }
    });
    let ready = match ready {
        Ok(v) => v,
        Err(e) => {
            kill_group(&mut child);
            return Err(e);
        }
    };
    let mut head = format!("P {}\n", pool.len()).into_bytes();
    head.extend_from_slice(pool);
    head.push(b'\n');
    if let Err(e) = stdin.write_all(&head) {
        kill_group(&mut child);
        return Err(failed(engine, format!("sending the payload pool: {e}")).into());
    }
    let unpaced = plan.curve.is_none();
    let input = Box::new(std::io::BufWriter::with_capacity(256 * 1024, stdin));
    Ok(EngineInstance {
        engine,
        link: Arc::new(EngineLink::new(input, context, pool, !unpaced)),
        ready,
        child: Mutex::new(child),
        reader: Mutex::new(Some(reader)),
        heard,
        t0,
        stderr,
    })
}

/// Stops an engine's process group (its pid is the group id), unless it has exited already
/// (so a reused pid is never signalled), and reaps it.
fn kill_group(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        // SAFETY: signalling the process group the engine leads.
        unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    }
    let _ = child.wait();
}

/// The engine's standard error as kept: its start and, if longer, its end.
fn stderr_text(kept: &Mutex<(String, String)>) -> String {
    let k = kept.lock().unwrap_or_else(|p| p.into_inner());
    let (head, tail) = &*k;
    let text = match tail.is_empty() {
        true => head.trim().to_string(),
        false => format!("{} [...] {}", head.trim(), tail.trim()),
    };
    match text.as_str() {
        "" => "(empty)".into(),
        t => t.replace('\n', " | "),
    }
}

/// A thread that keeps the start of the engine's standard error (where a crash says why) and its
/// last bytes, [`STDERR_KEEP`] of each at most.
fn keep_stderr(child: &mut Child) -> Arc<Mutex<(String, String)>> {
    let kept = Arc::new(Mutex::new((String::new(), String::new())));
    if let Some(mut err) = child.stderr.take() {
        let k = kept.clone();
        let _ = std::thread::Builder::new()
            .name("kbench-engine-stderr".into())
            .spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let text = String::from_utf8_lossy(&buf[..n]);
                    let mut k = k.lock().unwrap_or_else(|p| p.into_inner());
                    let (head, tail) = &mut *k;
                    if head.len() < STDERR_KEEP {
                        head.push_str(&text);
                        continue;
                    }
                    tail.push_str(&text);
                    if tail.len() > STDERR_KEEP {
                        let cut = tail.len() - STDERR_KEEP;
                        let cut = (cut..tail.len())
                            .find(|&i| tail.is_char_boundary(i))
                            .unwrap_or(0);
                        tail.drain(..cut);
                    }
                }
            });
    }
    kept
}

/// The reader thread: the first answer goes to `first` (ready or refused), every later line is
/// recorded.
fn read(
    stdout: std::process::ChildStdout,
    ctx: &Context,
    heard: &Mutex<Heard>,
    t0: &OnceLock<u64>,
    first: mpsc::Sender<Reply>,
) {
    let mut lines = BufReader::with_capacity(1 << 20, stdout);
    let mut first = Some(first);
    let mut line = String::new();
    let note = |p: String| {
        let mut h = heard.lock().unwrap_or_else(|p| p.into_inner());
        if h.problems.len() < 20 {
            h.problems.push(p);
        }
    };
    loop {
        line.clear();
        match (&mut lines)
            .take(protocol::MAX_LINE as u64)
            .read_line(&mut line)
        {
            Ok(0) => return,
            Ok(_) if !line.ends_with('\n') => {
                note(format!("a line longer than {} bytes", protocol::MAX_LINE));
                return;
            }
            Ok(_) => {}
            Err(e) => return note(format!("reading its output: {e}")),
        }
        let reply = match protocol::parse(line.trim_end_matches('\n')) {
            Ok(r) => r,
            Err(e) => {
                note(e.to_string());
                continue;
            }
        };
        if let Some(tx) = first.take() {
            let _ = tx.send(reply);
            continue;
        }
        match reply {
            Reply::Acked(..) | Reply::Failed(..) | Reply::Unresolved(..) => match t0.get() {
                Some(&t0) => record(ctx, t0, &reply),
                None => note("an answer before the load started".into()),
            },
            Reply::Event(text) => ctx.client_event(text),
            Reply::End(v) => heard.lock().unwrap_or_else(|p| p.into_inner()).end = Some(v),
            Reply::Fatal { kind, message } => note(format!("{kind}: {message}")),
            Reply::Ready(_) => note("a second ready line".into()),
        }
    }
}

/// Records one answer: instants from CLOCK_MONOTONIC to the run's clock.
fn record(ctx: &Context, t0: u64, reply: &Reply) {
    let us = |ns: u64| ns.saturating_sub(t0) / 1000;
    let now_us = ctx.clock().map_or(0, |c| c.now_us());
    let (o, error, partition) = match reply {
        Reply::Acked(o, p) => (o, None, *p),
        Reply::Failed(o, name) => (o, Some(protocol::error_name(name)), -1),
        Reply::Unresolved(o, true) => (o, Some(PURGE_QUEUE), -1),
        Reply::Unresolved(o, false) => (o, Some(PURGE_INFLIGHT), -1),
        _ => return,
    };
    let enqueue_us = if o.enqueue_ns == 0 {
        o.due_us
    } else {
        us(o.enqueue_ns)
    };
    let done_us = if o.done_ns == 0 {
        now_us
    } else {
        us(o.done_ns)
    };
    let sample = Sample {
        due_us: o.due_us,
        enqueue_us,
        done_us,
        bytes: o.bytes,
        error,
        partition,
        topic: o.topic,
    };
    ctx.engine_outcome(protocol::slot_of(o.id), &sample);
}

impl EngineInstance {
    /// The load starts: the instants the engine reports are read against this clock.
    pub fn start_clock(&self, clock: crate::pacing::Clock) {
        let _ = self.t0.set(clock.t0_monotonic_ns());
    }

    /// The finish line, then waits (at most the grace and [`END_SLACK`]) for the engine to
    /// answer the rest and end; kills it otherwise.
    pub fn finish(&self, grace: Duration) {
        let ms = grace.as_millis().min(u32::MAX as u128);
        let told = self.link.write(format!("F {ms}\n").as_bytes(), true);
        let deadline = Instant::now() + grace + END_SLACK;
        let reader = self.reader.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(r) = reader {
            while !r.is_finished() && Instant::now() < deadline && told {
                std::thread::sleep(Duration::from_millis(10));
            }
            if !r.is_finished() {
                self.note(format!("no end within the grace and {END_SLACK:?}: killed"));
                self.kill();
            }
            let _ = r.join();
        }
        let status = self.wait_exit();
        let heard = self.heard.lock().unwrap_or_else(|p| p.into_inner());
        if heard.end.is_none() {
            drop(heard);
            self.note(format!(
                "it exited ({status}) without its end line; its standard error: {}",
                self.stderr_text()
            ));
        }
    }

    pub fn note(&self, problem: String) {
        self.heard
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .problems
            .push(problem);
    }

    fn wait_exit(&self) -> String {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let start = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(s)) => return s.to_string(),
                Ok(None) if start.elapsed() < Duration::from_secs(2) => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => {
                    kill_group(&mut child);
                    return "killed".into();
                }
            }
        }
    }

    /// Stops the engine's process group.
    pub fn kill(&self) {
        kill_group(&mut self.child.lock().unwrap_or_else(|p| p.into_inner()));
    }

    fn stderr_text(&self) -> String {
        stderr_text(&self.stderr)
    }

    /// What the engine reported at its end, and the `engine` events of what went wrong.
    pub fn end(&self, t_s: f64) -> (EngineEnd, Vec<Event>) {
        let heard = self.heard.lock().unwrap_or_else(|p| p.into_inner());
        let end = heard
            .end
            .as_ref()
            .map_or_else(EngineEnd::default, |v| EngineEnd {
                cpu_s: v["cpu_s"].as_f64(),
                max_rss_bytes: v["max_rss_kib"].as_u64().map(|k| k * 1024),
                metrics: v.get("metrics").cloned(),
            });
        let events = heard
            .problems
            .iter()
            .map(|p| Event {
                t_s,
                kind: EventKind::Engine,
                detail: format!("the {} engine: {p}", self.engine),
                repeats: 0,
                recovery_s: None,
            })
            .collect();
        (end, events)
    }
}

impl Drop for EngineInstance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What a run records of its engine.
#[derive(Debug, Clone)]
pub struct EngineRun {
    pub engine: Engine,
    /// The first instance's `R` line: client, client version, Go version, configuration.
    pub ready: serde_json::Value,
    /// CPU seconds over every engine process.
    pub cpu_s: Option<f64>,
    /// The largest engine process's peak RSS.
    pub peak_rss_bytes: Option<u64>,
    /// sarama's own metrics of the first instance.
    pub metrics: Option<serde_json::Value>,
}

/// Ends every engine at once (each waits at most the grace and its slack); a second Ctrl-C
/// stops them at once, as it cuts librdkafka's drain short.
pub async fn finish_all(
    instances: &[super::Instance],
    grace: Duration,
    interrupts: &crate::signal::Interrupts,
) {
    let engines: Vec<Arc<EngineInstance>> = instances
        .iter()
        .filter_map(|i| match i {
            super::Instance::Engine(e) => Some(e.clone()),
            super::Instance::Rdkafka(_) => None,
        })
        .collect();
    let tasks: Vec<_> = engines
        .iter()
        .cloned()
        .map(|e| tokio::task::spawn_blocking(move || e.finish(grace)))
        .collect();
    let all = async {
        for t in tasks {
            let _ = t.await;
        }
    };
    tokio::select! {
        _ = all => {}
        _ = interrupts.at_least(2) => {
            for e in &engines {
                e.note("a second Ctrl-C: stopped before its end".into());
                e.kill();
            }
        }
    }
}

/// The engine's record of the run (absent with librdkafka); its problems join `events`.
pub fn report(
    instances: &[super::Instance],
    t_s: f64,
    events: &mut Vec<Event>,
) -> Option<EngineRun> {
    let mut run: Option<EngineRun> = None;
    for i in instances {
        let super::Instance::Engine(e) = i else {
            continue;
        };
        let (end, problems) = e.end(t_s);
        events.extend(problems);
        let r = run.get_or_insert_with(|| EngineRun {
            engine: e.engine,
            ready: e.ready.clone(),
            cpu_s: Some(0.0),
            peak_rss_bytes: None,
            metrics: end.metrics.clone(),
        });
        r.cpu_s = r.cpu_s.zip(end.cpu_s).map(|(a, b)| a + b);
        r.peak_rss_bytes = r.peak_rss_bytes.max(end.max_rss_bytes);
    }
    run
}
