//! The command line's live and descriptive extras: the metrics endpoint's lifetime, the
//! librdkafka properties dump, shell completions.

use std::sync::Arc;

use crate::cli::{CompletionsArgs, MetricsFlags, ScenarioArgs};
use crate::exit;
use crate::live::metrics::Metrics;
use crate::scenario::{self, InputError, Scenario};
use crate::signal::Interrupts;

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
        message,
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

/// Prints the completion script of `args.shell` for every subcommand and flag (clap_complete).
pub(crate) fn cmd_completions(args: CompletionsArgs) -> anyhow::Result<i32> {
    use clap::CommandFactory as _;
    let mut cmd = crate::cli::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "kbench", &mut std::io::stdout());
    Ok(exit::OK)
}
