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

use serde::{Deserialize, Serialize};

use crate::broker::Embedded;
use crate::pacing::Clock;
use crate::result::Event;
use crate::units::Dur;

/// What a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The broker refuses connections (and drops existing ones).
    BrokerDown,
    /// Every request to the broker is delayed by `rtt`.
    Delay,
    /// The next `count` produce requests fail with `error`.
    Errors,
}

/// Which broker(s) a fault hits: an id, or "all".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    All,
    Broker(u32),
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Target::All => s.serialize_str("all"),
            Target::Broker(id) => s.serialize_u32(*id),
        }
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Id(u32),
            Name(String),
        }
        match Raw::deserialize(d)
            .map_err(|_| serde::de::Error::custom("expected a broker id or \"all\""))?
        {
            Raw::Id(id) => Ok(Target::Broker(id)),
            Raw::Name(s) if s == "all" => Ok(Target::All),
            Raw::Name(s) => s.parse().map(Target::Broker).map_err(|_| {
                serde::de::Error::custom(format!("expected a broker id or \"all\", found {s:?}"))
            }),
        }
    }
}

/// One scheduled fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// When it starts, since the run's start.
    pub at: Dur,
    pub action: Action,
    #[serde(default = "all")]
    pub broker: Target,
    /// How long it lasts; unset or "forever" means until the run ends.
    #[serde(default, with = "forever")]
    pub duration: Option<Dur>,
    /// Round-trip time added by `delay`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt: Option<Dur>,
    /// Kafka error name for `errors`, e.g. NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How many produce requests fail, for `errors`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

fn all() -> Target {
    Target::All
}

/// `duration = "forever"` or a duration.
mod forever {
    use super::Dur;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Dur>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.collect_str(d),
            None => s.serialize_str("forever"),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Dur>, D::Error> {
        let s = String::deserialize(d)?;
        if s == "forever" {
            return Ok(None);
        }
        s.parse::<Dur>().map(Some).map_err(serde::de::Error::custom)
    }
}

/// Current Kafka error names that librdkafka still knows by their older names.
const ALIASES: [(&str, &str); 2] = [
    ("NOT_LEADER_OR_FOLLOWER", "NOT_LEADER_FOR_PARTITION"),
    ("UNKNOWN_TOPIC_OR_PARTITION", "UNKNOWN_TOPIC_OR_PART"),
];

/// The librdkafka error code with this name (case-insensitive), e.g. `NOT_LEADER_OR_FOLLOWER`.
pub fn error_code(name: &str) -> Option<rdkafka::types::RDKafkaRespErr> {
    let wanted = name.trim().to_ascii_uppercase();
    let wanted = ALIASES
        .iter()
        .find(|(modern, _)| *modern == wanted)
        .map_or(wanted.as_str(), |(_, old)| old);
    (-200..=200)
        .filter_map(|c| rdkafka::types::RDKafkaRespErr::try_from(c).ok())
        .find(|code| crate::producer::error_name((*code).into()).eq_ignore_ascii_case(wanted))
}

/// Checks the faults of a scenario: (dotted key, message) of the first problem.
pub fn check(faults: &[Fault], embedded: bool, brokers: u32) -> Result<(), (String, String)> {
    for (i, f) in faults.iter().enumerate() {
        let key = |k: &str| format!("faults[{i}].{k}");
        if !embedded {
            return Err((
                key("action"),
                "faults can only be injected into the embedded broker; remove [[faults]] or cluster.bootstrap".into(),
            ));
        }
        if let Target::Broker(id) = f.broker {
            if id == 0 || id > brokers {
                return Err((
                    key("broker"),
                    format!("expected a broker id from 1 to {brokers} or \"all\", found {id}"),
                ));
            }
        }
        match f.action {
            Action::Delay if f.rtt.is_none() => {
                return Err((key("rtt"), "a delay needs rtt, e.g. rtt = \"20ms\"".into()))
            }
            Action::Errors => {
                let name = f.error.as_deref().ok_or_else(|| {
                    (
                        key("error"),
                        "errors need error = \"NOT_LEADER_OR_FOLLOWER\" (a Kafka error name)"
                            .to_string(),
                    )
                })?;
                if error_code(name).is_none() {
                    return Err((key("error"), format!("unknown Kafka error name {name:?}")));
                }
                if f.count.unwrap_or(0) == 0 {
                    return Err((key("count"), "errors need count >= 1".into()));
                }
            }
            _ => {}
        }
        if f.action != Action::Delay && f.rtt.is_some() {
            return Err((key("rtt"), "rtt only applies to action = \"delay\"".into()));
        }
    }
    Ok(())
}

/// One step of the schedule.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    at: Duration,
    start: bool,
    fault: Fault,
}

fn steps(faults: &[Fault]) -> Vec<Step> {
    let mut out = Vec::new();
    for f in faults {
        out.push(Step {
            at: f.at.0,
            start: true,
            fault: f.clone(),
        });
        // Error injection is a one-off push: nothing to undo.
        if let (Some(d), true) = (f.duration, f.action != Action::Errors) {
            out.push(Step {
                at: f.at.0 + d.0,
                start: false,
                fault: f.clone(),
            });
        }
    }
    out.sort_by_key(|s| s.at);
    out
}

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
    faults: &[Fault],
    clock: Clock,
    events: &std::cell::RefCell<Vec<Event>>,
) {
    for step in steps(faults) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(at: u64, action: Action, duration: Option<u64>) -> Fault {
        Fault {
            at: Dur::from_secs(at),
            action,
            broker: Target::All,
            duration: duration.map(Dur::from_secs),
            rtt: (action == Action::Delay).then(|| Dur::from_millis(20)),
            error: (action == Action::Errors).then(|| "NOT_LEADER_OR_FOLLOWER".into()),
            count: (action == Action::Errors).then_some(5),
        }
    }

    #[test]
    fn schedule_orders_starts_and_ends() {
        let s = steps(&[
            fault(10, Action::BrokerDown, Some(3)),
            fault(0, Action::Delay, None),
            fault(11, Action::Errors, Some(100)),
        ]);
        let at: Vec<(u64, bool)> = s.iter().map(|s| (s.at.as_secs(), s.start)).collect();
        assert_eq!(at, vec![(0, true), (10, true), (11, true), (13, false)]);
    }

    #[test]
    fn error_names_resolve() {
        assert!(error_code("NOT_LEADER_OR_FOLLOWER").is_some());
        assert!(error_code("request_timed_out").is_some());
        assert!(error_code("NO_SUCH_ERROR").is_none());
    }

    #[test]
    fn checks_name_the_bad_key() {
        assert!(check(&[fault(0, Action::Delay, None)], true, 3).is_ok());
        let e = check(&[fault(0, Action::Delay, None)], false, 3).unwrap_err();
        assert_eq!(e.0, "faults[0].action");
        let mut f = fault(0, Action::BrokerDown, Some(1));
        f.broker = Target::Broker(4);
        assert_eq!(check(&[f], true, 3).unwrap_err().0, "faults[0].broker");
        let mut f = fault(0, Action::Errors, None);
        f.error = Some("NOPE".into());
        assert_eq!(check(&[f], true, 3).unwrap_err().0, "faults[0].error");
    }
}
