//! Writers of results: one result model, many views. The terminal summary lives here; every
//! writer is a pure function of saved `result.json` data, so old runs re-render identically.

pub mod progress;
pub mod terminal;
