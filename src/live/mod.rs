//! Live views of a running scenario: the progress line on a terminal (or progress log lines
//! elsewhere) and the Prometheus metrics endpoint. Both read the run's live counters
//! ([`crate::run::Live`]) while it goes on; every other writer (`crate::report`) reads saved
//! results only.

pub mod metrics;
pub mod progress;
