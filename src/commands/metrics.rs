//! The metrics endpoint's lifetime around a command: bound before any load (a bad address is
//! bad input), held for `--metrics-hold` after it.

use std::sync::Arc;

use crate::cli::{MetricsFlags, ScenarioArgs};
use crate::live::metrics::Metrics;
use crate::scenario::{InputError, Scenario};
use crate::signal::Interrupts;

/// Binds the metrics endpoint of `--metrics-addr` (else `[output] metrics_addr`) before any
/// load: an address that cannot be bound is bad input (exit 2), named.
pub(super) fn bind_metrics(
    flags: &MetricsFlags,
    s: &Scenario,
    args: &ScenarioArgs,
) -> Result<Option<Arc<Metrics>>, InputError> {
    let (addr, key) = match (
        &flags.metrics_addr,
        s.output.as_ref().and_then(|o| o.metrics_addr.as_ref()),
    ) {
        (Some(a), _) => (a, "--metrics-addr"),
        (None, Some(a)) => (a, "output.metrics_addr"),
        (None, None) => return Ok(None),
    };
    let m = Metrics::bind(addr).map_err(|message| InputError {
        location: args.location(),
        key: Some(key.into()),
        message: message.to_string(),
    })?;
    tracing::info!(target: "kbench", "metrics at http://{}/metrics", m.addr);
    Ok(Some(Arc::new(m)))
}

/// Keeps the endpoint up for `--metrics-hold` after the command (a Ctrl-C ends the wait).
pub(super) async fn hold_metrics(metrics: Option<Arc<Metrics>>, flags: &MetricsFlags) {
    if metrics.is_some() && !flags.metrics_hold.0.is_zero() {
        let interrupts = Interrupts::listen();
        tokio::select! {
            _ = tokio::time::sleep(flags.metrics_hold.0) => {}
            _ = interrupts.at_least(1) => {}
        }
    }
    drop(metrics);
}
