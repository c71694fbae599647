//! What makes two runs comparable: the same resolved scenario (its hash) on the same environment
//! (its fingerprint). A gate against the history only ever compares runs whose keys are equal.

use crate::result::RunResult;

/// A hash of the resolved scenario the run ran (`fnv1a64:` and 16 hex digits). The cluster's
/// address is left out: a CI job's fresh cluster listens on new ports every time, and the
/// fingerprint says what kind of cluster it was.
pub fn scenario_hash(r: &RunResult) -> String {
    let mut spec = r.spec.clone();
    spec.cluster.bootstrap = None;
    let text = serde_json::to_string(&spec).unwrap_or_default();
    format!("fnv1a64:{:016x}", fnv1a64(text.as_bytes()))
}

/// The environment a run measured, in words: cluster kind and size, the client and its version,
/// kbench's version, and the CPUs of the machine that ran it.
pub fn fingerprint(r: &RunResult, cpus: usize) -> String {
    format!(
        "{} cluster of {} · {} · kbench {} · {cpus} CPUs",
        r.broker.kind.as_str(),
        r.spec.cluster.brokers,
        client(r),
        r.kbench_version
    )
}

/// The client that ran: an engine's library and version, or librdkafka's.
pub fn client(r: &RunResult) -> String {
    match &r.engine {
        Some(e) => e.client.clone(),
        None => format!("librdkafka {}", r.broker.librdkafka),
    }
}

/// FNV-1a, 64 bits: stable across builds and platforms (std's hasher is neither).
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_its_reference_values() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
