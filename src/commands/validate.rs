//! `kbench validate`: every cell checked, the first one printed resolved (secrets hidden), or
//! its librdkafka properties.

use anyhow::Context as _;

use super::load;
use super::properties::properties_of;
use crate::cli::ValidateArgs;
use crate::{exit, scenario};

pub(crate) fn cmd_validate(args: ValidateArgs) -> anyhow::Result<i32> {
    let cells = load(&args.scenario)?.0.cells;
    // An external engine is built and must accept every cell's configuration.
    let resolved = super::check_engines(&cells)?;
    if args.properties {
        match &resolved {
            Some(r) => print!(
                "{}",
                super::engines::engine_properties(&cells[0].scenario, r)
            ),
            None => print!("{}", properties_of(&cells[0].scenario)),
        }
        return Ok(exit::OK);
    }
    let args = args.scenario;
    let shown = scenario::redact(&cells[0].scenario);
    if cells.len() > 1 {
        println!(
            "{}: ok, a sweep of {} cells (every cell checked); the first cell resolves to:",
            args.location(),
            cells.len()
        );
    } else {
        println!("{}: ok", args.location());
    }
    println!(
        "{}",
        toml::to_string_pretty(&shown).context("rendering the scenario")?
    );
    Ok(exit::OK)
}
