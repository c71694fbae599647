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

/// One key's row: each client's distinct settings (`name=value`, joined by " / " over the runs
/// that differ), then "yes", or "no: " and each client's reason.
fn row(c: &Comparison, engines: &[String], key: &str) -> Vec<String> {
    let mut out = vec![key.to_string()];
    let mut why: Vec<String> = Vec::new();
    for engine in engines {
        let mut shown: Vec<String> = Vec::new();
        let mut has = false;
        for e in c.entries.iter().filter(|e| &engine_of(&e.result) == engine) {
            for t in e
                .result
                .client_properties
                .settings
                .iter()
                .filter(|t| t.key == key)
            {
                has = true;
                let cell = match t.name.as_str() {
                    "-" => t.value.clone(),
                    name => format!("{name}={}", t.value),
                };
                if !shown.contains(&cell) {
                    shown.push(cell);
                }
                if let Some(d) = &t.differs {
                    let reason = format!("{engine}: {d}");
                    if !why.contains(&reason) {
                        why.push(reason);
                    }
                }
            }
        }
        if !has {
            why.push(format!("{engine}: not set"));
        }
        out.push(match shown.is_empty() {
            true => "-".into(),
            false => shown.join(" / "),
        });
    }
    out.push(match why.is_empty() {
        true => "yes".into(),
        false => format!("no: {}", why.join("; ")),
    });
    out
}
