//! Fault injection on the embedded broker: make the cluster misbehave on a schedule, to see what
//! acks, retries and idempotence buy.
//!
//! ```toml
//! [[faults]]
//! at = "10s"                 # since the run's start (warm-up included)
//! action = "broker-down"     # broker-down | delay | errors
//! broker = 1                 # a broker id (1..=cluster.brokers), or "all"
//! duration = "3s"            # or "forever" (the default)
//!
//! [[faults]]
//! at = "0s"
//! action = "delay"           # injected round-trip time
//! rtt = "20ms"
//!
//! [[faults]]
//! at = "20s"
//! action = "errors"          # the next `count` produce requests fail with this Kafka error
//! error = "NOT_LEADER_OR_FOLLOWER"
//! count = 50
//! ```
//!
//!
//! [[faults]]
//! at = "5s"
//! action = "exec"            # any cluster: a command that breaks it, and one that undoes it
//! command = ["scripts/kafka.sh", "kill", "2"]
//! undo = ["scripts/kafka.sh", "restart", "2"]
//! duration = "10s"           # undo at at + duration
//! timeout = "30s"            # per command
//! ```
//!
//! Each start and end of a fault is one `fault` event in `result.json`, drawn on the timeline
//! (the result builder pairs them with the plan's fault steps, in order, for `recovery_s`). An
//! `exec` command runs beside the load, never holding up the schedule; its exit code and first
//! line of output are a `fault-exec` event, and so are a failure, a timeout (the command is
//! killed) and a command still running when the run ends (killed then).

use std::time::Duration;

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use crate::broker::{BrokerError, Embedded};
use crate::event::Event;
use crate::kafka_error::error_code;
use crate::pacing::Clock;
use crate::plan::FaultStep;
pub use crate::scenario::fault::{Action, Fault, Target};

fn describe(f: &Fault, start: bool) -> String {
    let who = match f.broker {
        Target::All => "all brokers".to_string(),
        Target::Broker(id) => format!("broker {id}"),
    };
    let what = match f.action {
        Action::BrokerDown if start => format!("{who} down"),
        Action::BrokerDown => format!("{who} up"),
        Action::Delay if start => format!("{who}: round trip +{}", f.rtt.unwrap_or_default()),
        Action::Delay => format!("{who}: round trip delay removed"),
        Action::Errors => format!(
            "next {} produce requests fail with {}",
            f.count.unwrap_or(0),
            f.error.as_deref().unwrap_or("?")
        ),
        Action::Exec => format!("exec {}", argv_text(exec_argv(f, start))),
    };
    match (start, f.duration) {
        (true, Some(d)) if f.action != Action::Errors => format!("{what} for {d}"),
        _ => what,
    }
}

/// The command an `exec` step runs: `command` at the start, `undo` at the end.
fn exec_argv(f: &Fault, start: bool) -> &[String] {
    let argv = if start { &f.command } else { &f.undo };
    argv.as_deref().unwrap_or_default()
}

fn argv_text(argv: &[String]) -> String {
    format!("`{}`", argv.join(" "))
}

fn seconds(clock: &Clock) -> f64 {
    (clock.now_us() as f64 / 1e3).round() / 1e3
}

/// The `exec` commands of a run: still running ones, and what finished ones reported.
#[derive(Default)]
pub struct Execs {
    running: Vec<(String, tokio::task::JoinHandle<()>)>,
    events: Arc<Mutex<Vec<Event>>>,
}

impl Execs {
    /// Kills what is still running (the run is over) and returns every command's events.
    pub fn finish(mut self, clock: &Clock) -> Vec<Event> {
        for (what, task) in self.running.drain(..) {
            if !task.is_finished() {
                // Aborting drops the child, which kills it (kill_on_drop).
                task.abort();
                push(
                    &self.events,
                    exec_event(
                        clock,
                        format!("{what}: still running when the run ended: killed"),
                    ),
                );
            }
        }
        std::mem::take(&mut *self.events.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn spawn(&mut self, argv: &[String], timeout: Duration, clock: Clock) {
        let what = argv_text(argv);
        let (events, label) = (self.events.clone(), what.clone());
        let mut cmd = tokio::process::Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let task = tokio::spawn(async move {
            let detail = match cmd.spawn() {
                Err(e) => format!("{label}: FAILED to start: {e}"),
                Ok(child) => match tokio::time::timeout(timeout, child.wait_with_output()).await {
                    Err(_) => format!("{label}: timed out after {timeout:?}: killed"),
                    Ok(Err(e)) => format!("{label}: FAILED: {e}"),
                    Ok(Ok(out)) => {
                        let code = out
                            .status
                            .code()
                            .map_or("killed by a signal".to_string(), |c| format!("exit {c}"));
                        let line = first_line(&out.stdout)
                            .or_else(|| first_line(&out.stderr))
                            .map_or(String::new(), |l| format!(": {l}"));
                        let failed = if out.status.success() { "" } else { "FAILED, " };
                        format!("{label}: {failed}{code}{line}")
                    }
                },
            };
            push(&events, exec_event(&clock, detail));
        });
        self.running.push((what, task));
    }
}

fn push(events: &Mutex<Vec<Event>>, e: Event) {
    events.lock().unwrap_or_else(|p| p.into_inner()).push(e);
}

fn exec_event(clock: &Clock, detail: String) -> Event {
    Event {
        t_s: seconds(clock),
        kind: crate::event::EventKind::FaultExec,
        detail,
        repeats: 0,
        recovery_s: None,
    }
}

/// The first non-empty line of a command's output, at most 200 characters.
fn first_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.chars().take(200).collect())
}

/// Runs the fault schedule: the embedded broker's faults on `cluster` (validation made sure it
/// is there when they exist), `exec` commands on any cluster. One `fault` event per step, in
/// order. The future ends after its last step; callers stop polling it when the run ends.
pub async fn drive(
    cluster: Option<&Embedded>,
    steps: &[FaultStep],
    clock: Clock,
    events: &RefCell<Vec<Event>>,
    execs: &RefCell<Execs>,
) {
    for step in steps {
        let at = tokio::time::Instant::from_std(clock.instant_at_ns(step.at.as_nanos() as u64));
        tokio::time::sleep_until(at).await;
        let f = &step.fault;
        let outcome = match (f.action, cluster) {
            (Action::Exec, _) => {
                let argv = exec_argv(f, step.start);
                if !argv.is_empty() {
                    execs.borrow_mut().spawn(argv, f.exec_timeout().0, clock);
                }
                Ok(())
            }
            (_, Some(c)) => inject(c, f, step.start),
            (_, None) => Err(BrokerError::Embedded(
                "no embedded broker to inject it into".into(),
            )),
        };
        let mut detail = describe(f, step.start);
        if let Err(e) = outcome {
            detail = format!("{detail}: FAILED to inject: {e}");
        }
        events.borrow_mut().push(Event {
            t_s: seconds(&clock),
            kind: crate::event::EventKind::Fault,
            detail,
            repeats: 0,
            recovery_s: None,
        });
    }
}

/// One step of an embedded-broker fault.
fn inject(cluster: &Embedded, f: &Fault, start: bool) -> Result<(), BrokerError> {
    let id = match f.broker {
        Target::All => -1,
        Target::Broker(id) => id as i32,
    };
    match (f.action, start) {
        (Action::BrokerDown, true) => cluster.broker_down(id),
        (Action::BrokerDown, false) => cluster.broker_up(id),
        (Action::Delay, true) => cluster.round_trip(id, f.rtt.unwrap_or_default().0),
        (Action::Delay, false) => cluster.round_trip(id, Duration::ZERO),
        (Action::Errors, _) => match f.error.as_deref().and_then(error_code) {
            Some(code) => {
                cluster.produce_errors(code, f.count.unwrap_or(0) as usize);
                Ok(())
            }
            None => Err(BrokerError::Embedded("unknown error name".into())),
        },
        (Action::Exec, _) => Ok(()),
    }
}
