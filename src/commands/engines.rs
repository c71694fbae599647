//! `kbench engines [build [NAME]]`: the clients kbench drives, whether each external engine is
//! built, and building one ahead of its first run. And the check every command that runs or
//! validates a scenario makes first: an external engine is built and accepts the configuration
//! before any load (exit 2 otherwise).

use crate::cli::EnginesArgs;
use crate::engine::{self, build, EngineError};
use crate::exit;
use crate::scenario::engine::Engine;
use crate::scenario::{Cell, Scenario};

pub(crate) fn cmd_engines(args: EnginesArgs) -> anyhow::Result<i32> {
    if args.action.as_deref() == Some("build") {
        let engines: Vec<Engine> = match args.name {
            Some(e) => vec![e],
            None => Engine::ALL
                .into_iter()
                .filter(|e| e.is_external())
                .collect(),
        };
        for e in engines.into_iter().filter(|e| e.is_external()) {
            let bin = build::ensure(e)?;
            println!("{e}: built {}", bin.display());
        }
        return Ok(exit::OK);
    }
    let go = build::toolchain_version(Engine::Sarama).unwrap_or_else(|e| format!("none ({e})"));
    let java = build::toolchain_version(Engine::Java).unwrap_or_else(|e| format!("none ({e})"));
    for l in engine::list() {
        let state = match (l.engine.is_external(), &l.built) {
            (false, _) => "in process".to_string(),
            (true, Some(bin)) => format!("built: {}", bin.display()),
            (true, None) => "not built (kbench engines build, or its first run)".to_string(),
        };
        println!("{:<11} {:<36} {state}", l.engine.as_str(), l.client);
    }
    println!("go          {go}");
    println!("java        {java}");
    Ok(exit::OK)
}

/// Builds every external engine the cells use and has it resolve each cell's configuration;
/// returns the first cell's resolved client configuration, if it uses one.
pub(crate) fn check_engines(cells: &[Cell]) -> Result<Option<serde_json::Value>, EngineError> {
    let mut first = None;
    for (i, c) in cells.iter().enumerate() {
        if c.scenario.producer.engine.is_external() {
            let resolved = crate::run::engines::resolve(&c.scenario)?;
            if i == 0 {
                first = Some(resolved);
            }
        }
    }
    Ok(first)
}

/// An external engine's resolved configuration as `key=value` lines.
pub(crate) fn engine_properties(s: &Scenario, resolved: &serde_json::Value) -> String {
    let mut out = format!(
        "# {} engine, {} {}\n",
        s.producer.engine,
        resolved["client"].as_str().unwrap_or("?"),
        resolved["client_version"].as_str().unwrap_or("?")
    );
    if let Some(m) = resolved["config"].as_object() {
        for (k, v) in m {
            out.push_str(&format!("{k}={}\n", v.as_str().unwrap_or_default()));
        }
    }
    out
}
