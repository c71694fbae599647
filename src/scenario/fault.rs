//! The `[[faults]]` section: what to break, when and for how long. Plain data with checks that
//! only parse; the fault driver (`crate::fault`) carries the schedule out during a run.

use serde::{Deserialize, Serialize};

use crate::kafka_error::error_code;
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
