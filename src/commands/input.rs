//! From the command line to scenarios: the file (or stdin, or nothing), `--set`, `-X`, the
//! bootstrap flags and the shorthand flags, in that order of precedence (later wins).

use std::path::Path;

use crate::cli::ScenarioArgs;
use crate::plan;
use crate::result::ScenarioInfo;
use crate::scenario::{self, InputError};

/// Loads a scenario's cells (one without `[matrix]`) with the command line's overrides, through
/// the one loader ([`plan::load`]), and prints its warnings once.
pub(crate) fn load(args: &ScenarioArgs) -> Result<(plan::Loaded, ScenarioInfo), InputError> {
    let overrides = overrides_of(args);
    let fallback = args
        .default_bootstrap
        .as_deref()
        .or(args.kafka_bootstrap_servers.as_deref());
    let loaded = match &args.scenario {
        Some(p) if p.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|e| {
                InputError {
                    location: "<stdin>".into(),
                    key: None,
                    message: format!("cannot read the scenario from stdin: {e}"),
                }
            })?;
            let path = Path::new("<stdin>");
            let format = scenario::Format::Toml;
            let origin = plan::Origin::Text {
                path,
                text: &text,
                format,
            };
            plan::load(origin, &overrides, fallback)?
        }
        Some(p) => plan::load(plan::Origin::File(p), &overrides, fallback)?,
        None => {
            if overrides.is_empty() {
                return Err(InputError {
                    location: "kbench".into(),
                    key: None,
                    message: "give a scenario file (or - to read TOML from stdin), or the load as flags over an empty scenario, e.g. kbench run --rate 10k/s --size 1KiB --acks all --duration 30s (shorthands of --set; see kbench run --help)".into(),
                });
            }
            let origin = plan::Origin::Text {
                path: Path::new("<command line>"),
                text: "",
                format: scenario::Format::Toml,
            };
            plan::load(origin, &overrides, fallback)?
        }
    };
    for w in loaded.warnings() {
        eprintln!("warning: {w}");
    }
    let s = &loaded.cells[0].scenario;
    let info = ScenarioInfo {
        name: s.name.clone(),
        file: args.scenario.as_ref().map(|_| args.location()),
        description: s.description.clone(),
        overrides: overrides.iter().map(|o| redact_override(o)).collect(),
    };
    Ok((loaded, info))
}

fn overrides_of(args: &ScenarioArgs) -> Vec<String> {
    let mut overrides = args.set.clone();
    if let Some(b) = &args.bootstrap {
        overrides.push(format!("cluster.bootstrap={b}"));
    }
    // The shorthand flags last: they win over the file and over --set.
    let shorthands = args.shorthands.overrides();
    for x in &args.property {
        // Quoted, so the value stays a string (TOML would read `5` as a number, `true` as a bool).
        match x.split_once('=') {
            Some((k, v)) => overrides.push(format!(
                "cluster.properties.\"{}\"={}",
                k.trim(),
                serde_json::Value::String(v.to_string())
            )),
            None => overrides.push(format!("-X {x}")),
        }
    }
    overrides.extend(shorthands);
    overrides
}

/// `key=value` with the value hidden when the key names a secret.
fn redact_override(o: &str) -> String {
    match o.split_once('=') {
        Some((k, _)) if scenario::render::is_secret(k) => format!("{k}=***"),
        _ => o.to_string(),
    }
}
