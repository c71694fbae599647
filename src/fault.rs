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
//! Each start and end of a fault is recorded as an event in `result.json` and drawn on the
//! timeline. Faults need the embedded broker: a real cluster cannot be told to fail.

use std::time::Duration;

use crate::broker::Embedded;
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
    };
    match (start, f.duration) {
        (true, Some(d)) if f.action != Action::Errors => format!("{what} for {d}"),
        _ => what,
    }
}

/// Runs the fault schedule against the embedded broker; returns the events as they happened.
/// The future ends after its last step; callers stop polling it when the run ends.
pub async fn drive(
    cluster: &Embedded,
    steps: &[FaultStep],
    clock: Clock,
    events: &std::cell::RefCell<Vec<Event>>,
) {
    for step in steps {
        let at = tokio::time::Instant::from_std(clock.instant_at_ns(step.at.as_nanos() as u64));
        tokio::time::sleep_until(at).await;
        let f = &step.fault;
        let id = match f.broker {
            Target::All => -1,
            Target::Broker(id) => id as i32,
        };
        let outcome = match (f.action, step.start) {
            (Action::BrokerDown, true) => cluster.broker_down(id),
            (Action::BrokerDown, false) => cluster.broker_up(id),
            (Action::Delay, true) => cluster.round_trip(id, f.rtt.unwrap_or_default().0),
            (Action::Delay, false) => cluster.round_trip(id, Duration::ZERO),
            (Action::Errors, _) => {
                let code = f.error.as_deref().and_then(error_code);
                match code {
                    Some(code) => {
                        cluster.produce_errors(code, f.count.unwrap_or(0) as usize);
                        Ok(())
                    }
                    None => Err("unknown error name".to_string()),
                }
            }
        };
        let mut detail = describe(f, step.start);
        if let Err(e) = outcome {
            detail = format!("{detail}: FAILED to inject: {e}");
        }
        events.borrow_mut().push(Event {
            t_s: (clock.now_us() as f64 / 1e3).round() / 1e3,
            kind: "fault".into(),
            detail,
            repeats: 0,
        });
    }
}
