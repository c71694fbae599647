//! Rendering a scenario into librdkafka client properties, and redacting secrets out of anything
//! kbench prints or writes.
//!
//! The typed keys map one to one onto librdkafka properties (see the table in docs/scenario-format.md); then
//! `[cluster.properties]` and `[producer.properties]` are applied verbatim on top, so any librdkafka
//! property can be set and a raw property always wins over a typed key.

use std::collections::BTreeMap;

use rdkafka::ClientConfig;

use super::engine::librdkafka::millis;
use super::Scenario;

/// Every librdkafka property for one producer instance, in order of precedence (later wins).
pub fn client_config(s: &Scenario, bootstrap: &str) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    for (k, v) in properties(s, bootstrap) {
        cfg.set(k, v);
    }
    cfg
}

/// Every librdkafka property of a `[consume]` consumer: bootstrap, security and
/// `[cluster.properties]` as for the producer, then the consumer's own, then
/// `[consume.properties]` (later wins). kbench places the consumers itself (explicit start
/// offsets), so nothing is auto-committed.
pub fn consumer_properties(s: &Scenario, bootstrap: &str, group: &str) -> BTreeMap<String, String> {
    let mut props = BTreeMap::new();
    props.insert("bootstrap.servers".into(), bootstrap.to_string());
    props.insert("client.id".into(), format!("kbench-{}-consumer", s.name));
    if let Some(sec) = &s.cluster.security {
        for (k, v) in sec.properties().unwrap_or_default() {
            props.insert(k.to_string(), v);
        }
    }
    for (k, v) in &s.cluster.properties {
        props.insert(k.clone(), v.clone());
    }
    let c = s.consume.clone().unwrap_or_default();
    props.insert("group.id".into(), group.to_string());
    props.insert("isolation.level".into(), c.isolation.as_rdkafka().into());
    props.insert("enable.auto.commit".into(), "false".into());
    props.insert("auto.offset.reset".into(), "earliest".into());
    if s.cluster.is_embedded() {
        // The mock cluster holds a fetch that finds no data for the whole fetch.wait.max.ms
        // (500 ms by default) instead of answering when data arrives, as a broker does.
        props.insert(
            "fetch.wait.max.ms".into(),
            EMBEDDED_FETCH_WAIT_MS.to_string(),
        );
    }
    props.extend(c.properties);
    props
}

/// `fetch.wait.max.ms` of consumers on the embedded broker (see [`consumer_properties`]).
pub const EMBEDDED_FETCH_WAIT_MS: u32 = 5;

fn properties(s: &Scenario, bootstrap: &str) -> BTreeMap<String, String> {
    let p = &s.producer;
    let mut props = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        props.insert(k.to_string(), v);
    };
    set("bootstrap.servers", bootstrap.to_string());
    set("client.id", format!("kbench-{}", s.name));
    for t in super::engine::librdkafka::settings(s) {
        set(&t.name, t.value);
    }
    // Statistics explain the numbers (bytes on the wire, batches, queue depth, and where the
    // latency went): one report per interval of the time series.
    set(
        "statistics.interval.ms",
        millis(s.load.interval.0.max(std::time::Duration::from_millis(100))),
    );
    if let Some(sec) = &s.cluster.security {
        // Validation read the password already; a secret gone since then fails to authenticate.
        for (k, v) in sec.properties().unwrap_or_default() {
            set(k, v);
        }
    }
    for (k, v) in s.cluster.properties.iter().chain(&p.properties) {
        props.insert(k.clone(), v.clone());
    }
    props
}

/// True for property names whose values are secrets.
pub fn is_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "ssl.key.pem",
        "sasl.oauthbearer.config",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// The properties as they may be shown: secret values replaced by `***`.
pub fn redacted_properties(s: &Scenario, bootstrap: &str) -> BTreeMap<String, String> {
    redacted(properties(s, bootstrap))
}

/// `props` with every secret value shown as `***`.
fn redacted(mut props: BTreeMap<String, String>) -> BTreeMap<String, String> {
    for (k, v) in props.iter_mut() {
        if is_secret(k) {
            *v = "***".into();
        }
    }
    props
}

/// The redacted properties of a run as `key=value` lines, sorted: the producer's, then (with
/// `[consume]`) the consumers' under a `# consumer` line. The embedded broker's address is only
/// known once it runs, so `bootstrap` may be a placeholder.
pub fn properties_text(s: &Scenario, bootstrap: &str) -> String {
    let mut out = String::new();
    for (k, v) in redacted_properties(s, bootstrap) {
        out.push_str(&format!("{k}={v}\n"));
    }
    if s.consume.is_some() {
        out.push_str("# consumer ([consume]; group.id gets the run's id)\n");
        for (k, v) in redacted_consumer_properties(s, bootstrap, "kbench-{run}") {
            out.push_str(&format!("{k}={v}\n"));
        }
    }
    out
}

/// [`consumer_properties`] with every secret shown as `***`.
pub fn redacted_consumer_properties(
    s: &Scenario,
    bootstrap: &str,
    group: &str,
) -> BTreeMap<String, String> {
    redacted(consumer_properties(s, bootstrap, group))
}

/// `text` with every secret property value of the scenario replaced by `***`: librdkafka quotes
/// property values in its configuration errors.
pub fn scrub(s: &Scenario, text: &str) -> String {
    let mut out = text.to_string();
    let consumer = match s.consume {
        Some(_) => consumer_properties(s, "", ""),
        None => BTreeMap::new(),
    };
    for (k, v) in properties(s, "").into_iter().chain(consumer) {
        if is_secret(&k) && !v.is_empty() {
            out = out.replace(&v, "***");
        }
    }
    out
}

/// A copy of the scenario that is safe to print or store.
pub fn redact(s: &Scenario) -> Scenario {
    let mut out = s.clone();
    let consume = out.consume.as_mut().map(|c| &mut c.properties);
    let maps = [&mut out.cluster.properties, &mut out.producer.properties]
        .into_iter()
        .chain(consume);
    for map in maps {
        for (k, v) in map.iter_mut() {
            if is_secret(k) {
                *v = "***".into();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_keys_render_and_raw_properties_win() {
        let mut s = Scenario::default();
        s.producer.acks = Some(super::super::Acks::Leader);
        s.producer.linger = crate::units::Dur(std::time::Duration::from_micros(500));
        s.producer.properties.insert("linger.ms".into(), "7".into());
        s.cluster
            .properties
            .insert("sasl.password".into(), "hunter2".into());
        let props = properties(&s, "127.0.0.1:1");
        assert_eq!(props["acks"], "1");
        assert_eq!(props["linger.ms"], "7");
        assert_eq!(props["bootstrap.servers"], "127.0.0.1:1");
        let shown = redacted_properties(&s, "127.0.0.1:1");
        assert_eq!(shown["sasl.password"], "***");
        let r = redact(&s);
        assert!(!serde_json::to_string(&r).unwrap().contains("hunter2"));
        assert_eq!(millis(std::time::Duration::from_micros(500)), "1");
    }
}
