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
    /// Runs `command` (argv, no shell) at `at`, and `undo` at `at + duration`: any cluster, any
    /// chaos tool (`kill`, `kubectl delete pod`, `tc qdisc`, `scripts/kafka.sh kill 2`).
    Exec,
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
    /// The program and its arguments, for `exec` (`["sh", "-c", "..."]` for a shell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// What undoes it, run at `at + duration` (needs `duration`), for `exec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<Vec<String>>,
    /// How long each command may run before it is killed (default 30s), for `exec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
}

/// How long an `exec` command may run when the fault does not say.
pub const EXEC_TIMEOUT: Dur = Dur(std::time::Duration::from_secs(30));

impl Fault {
    /// The `exec` timeout in force.
    pub fn exec_timeout(&self) -> Dur {
        self.timeout.unwrap_or(EXEC_TIMEOUT)
    }
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
        if f.action == Action::Exec {
            check_exec(f, &key)?;
            continue;
        }
        for (name, set) in [
            ("command", f.command.is_some()),
            ("undo", f.undo.is_some()),
            ("timeout", f.timeout.is_some()),
        ] {
            if set {
                return Err((
                    key(name),
                    format!("{name} only applies to action = \"exec\""),
                ));
            }
        }
        if !embedded {
            return Err((
                key("action"),
                "broker-down, delay and errors drive the embedded broker; against another cluster use action = \"exec\" with a command that breaks it".into(),
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

/// The parse-level rules of an `exec` fault (that the program exists is checked by the plan step,
/// which may read the file system).
fn check_exec(f: &Fault, key: &dyn Fn(&str) -> String) -> Result<(), (String, String)> {
    match f.command.as_deref() {
        None => {
            return Err((
                key("command"),
                "exec needs command = [\"program\", \"arg\", ...]".into(),
            ))
        }
        Some([]) => return Err((key("command"), "the command is empty".into())),
        Some([p, ..]) if p.trim().is_empty() => {
            return Err((key("command"), "the program name is empty".into()))
        }
        _ => {}
    }
    if let Some(u) = &f.undo {
        if u.first().map_or(true, |p| p.trim().is_empty()) {
            return Err((key("undo"), "the undo command is empty".into()));
        }
        if f.duration.is_none() {
            return Err((
                key("undo"),
                "undo runs at at + duration: give duration, e.g. duration = \"10s\"".into(),
            ));
        }
    }
    if f.timeout.is_some_and(|t| t.0.is_zero()) {
        return Err((key("timeout"), "must be greater than 0".into()));
    }
    for (name, set) in [
        ("rtt", f.rtt.is_some()),
        ("error", f.error.is_some()),
        ("count", f.count.is_some()),
    ] {
        if set {
            return Err((
                key(name),
                format!("{name} does not apply to action = \"exec\""),
            ));
        }
    }
    Ok(())
}

/// A fault of `action` for tests: at `at` s, lasting `duration` s, with what the action needs.
#[cfg(test)]
pub(crate) fn sample(at: u64, action: Action, duration: Option<u64>) -> Fault {
    Fault {
        at: Dur::from_secs(at),
        action,
        broker: Target::All,
        duration: duration.map(Dur::from_secs),
        rtt: (action == Action::Delay).then(|| Dur::from_millis(20)),
        error: (action == Action::Errors).then(|| "NOT_LEADER_OR_FOLLOWER".into()),
        count: (action == Action::Errors).then_some(5),
        command: None,
        undo: None,
        timeout: None,
    }
}

#[cfg(test)]
mod tests {
    use super::sample as fault;
    use super::*;

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
        // exec works on any cluster, and needs a command.
        let mut f = fault(0, Action::Exec, None);
        assert_eq!(
            check(&[f.clone()], false, 3).unwrap_err().0,
            "faults[0].command"
        );
        f.command = Some(vec![]);
        assert_eq!(
            check(&[f.clone()], false, 3).unwrap_err().0,
            "faults[0].command"
        );
        f.command = Some(vec!["true".into()]);
        assert!(check(&[f.clone()], false, 3).is_ok());
        f.undo = Some(vec!["true".into()]);
        assert_eq!(
            check(&[f.clone()], false, 3).unwrap_err().0,
            "faults[0].undo"
        );
        f.duration = Some(Dur::from_secs(1));
        assert!(check(&[f.clone()], false, 3).is_ok());
        f.rtt = Some(Dur::from_millis(1));
        assert_eq!(check(&[f], false, 3).unwrap_err().0, "faults[0].rtt");
    }
}
