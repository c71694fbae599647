//! The settings table of a comparison across clients: for each scenario key, what each client
//! was set to (as it resolved it), and whether the clients could be made to mean the same thing.
//! A row is marked "no" wherever a client's setting differs from librdkafka's meaning (a batch
//! bound it lacks, a timeout that means something else) or a raw setting applies to one client
//! only, so a reader sees what was and was not like for like.

use crate::compare::Comparison;

/// The engine a result was sent by.
fn engine_of(r: &crate::result::RunResult) -> String {
    r.engine
        .as_ref()
        .map_or("librdkafka".to_string(), |e| e.name.clone())
}

/// The table (header first), or None unless the comparison spans two clients or more and its
/// results carry their settings.
pub fn table(c: &Comparison) -> Option<Vec<Vec<String>>> {
    let mut engines: Vec<String> = Vec::new();
    for e in &c.entries {
        let name = engine_of(&e.result);
        if !engines.contains(&name) {
            engines.push(name);
        }
    }
    let described = c
        .entries
        .iter()
        .all(|e| !e.result.client_properties.settings.is_empty());
    if engines.len() < 2 || !described {
        return None;
    }
    let mut keys: Vec<String> = Vec::new();
    for e in &c.entries {
        for t in &e.result.client_properties.settings {
            if !keys.contains(&t.key) {
                keys.push(t.key.clone());
            }
        }
    }
    let mut rows = vec![std::iter::once("key".to_string())
        .chain(engines.iter().cloned())
        .chain(["like for like".to_string()])
        .collect::<Vec<_>>()];
    for key in keys {
        rows.push(row(c, &engines, &key));
    }
    Some(rows)
}

/// One key's row: each client's settings (`name=value`; values that differ over its runs joined
/// by " / "), then "yes", or "no: " and each client's reason.
fn row(c: &Comparison, engines: &[String], key: &str) -> Vec<String> {
    let mut out = vec![key.to_string()];
    let mut why: Vec<String> = Vec::new();
    for engine in engines {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let runs = c.entries.iter().filter(|e| &engine_of(&e.result) == engine);
        for t in runs.flat_map(|e| &e.result.client_properties.settings) {
            if t.key != key {
                continue;
            }
            if !pairs.contains(&(t.name.clone(), t.value.clone())) {
                pairs.push((t.name.clone(), t.value.clone()));
            }
            if let Some(d) = &t.differs {
                let reason = format!("{engine}: {d}");
                if !why.contains(&reason) {
                    why.push(reason);
                }
            }
        }
        if pairs.is_empty() {
            why.push(format!("{engine}: not set"));
        }
        out.push(cell(&pairs));
    }
    out.push(match why.is_empty() {
        true => "yes".into(),
        false => format!("no: {}", why.join("; ")),
    });
    out
}

/// A client's settings for one key: `name=v1 / v2` when one name took several values, each
/// `name=value` otherwise (`-` names a key the client handles on its own: its value alone).
fn cell(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return "-".into();
    }
    let values: Vec<&str> = pairs.iter().map(|(_, v)| v.as_str()).collect();
    match pairs[0].0.as_str() {
        name if pairs.iter().all(|(n, _)| n == name) && name != "-" => {
            format!("{name}={}", values.join(" / "))
        }
        _ if pairs.iter().all(|(n, _)| n == "-") => values.join(" / "),
        _ => pairs
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join(" / "),
    }
}
