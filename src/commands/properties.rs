//! The librdkafka properties a scenario sets, as `validate --properties` and `run --dry-run`
//! print them.

use crate::scenario::{self, Scenario};

/// What `validate --properties` and `run --dry-run` show as the embedded broker's address.
const EMBEDDED_PLACEHOLDER: &str = "<embedded: chosen when the run starts>";

/// The properties of a scenario as `-X dump` would print them.
pub(super) fn properties_of(s: &Scenario) -> String {
    let bootstrap = s
        .cluster
        .bootstrap
        .as_deref()
        .unwrap_or(EMBEDDED_PLACEHOLDER);
    scenario::properties_text(s, bootstrap)
}
