//! `[matrix]` expansion: a scenario file's cells, the cartesian product of its matrix values
//! (the last key varying fastest), each typed, validated and checked against the files it reads
//! (payload corpus, size histogram) before anything runs.

use std::path::Path;

use serde_json::Value;

use crate::input::FieldError;
use crate::scenario::{self, Cell, Format, InputError, Scenario, ScenarioFile, Source};

/// Where a scenario's text comes from.
#[derive(Debug, Clone, Copy)]
pub enum Origin<'a> {
    /// A file (TOML, or JSON by its `.json` extension).
    File(&'a Path),
    /// Text already in memory (stdin, the command line's empty scenario, tests), named `path`
    /// in errors.
    Text {
        path: &'a Path,
        text: &'a str,
        format: Format,
    },
}

/// A loaded scenario file: every cell of its `[matrix]` (one without), and its source.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub cells: Vec<Cell>,
    pub source: Source,
}

impl Loaded {
    /// The scenario of a file without `[matrix]` (of a sweep: its first cell).
    pub fn scenario(mut self) -> Scenario {
        self.cells.swap_remove(0).scenario
    }

    /// Every cell's warnings, each once, in order.
    pub fn warnings(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for w in self.cells.iter().flat_map(|c| &c.warnings) {
            if !out.contains(&w.as_str()) {
                out.push(w);
            }
        }
        out
    }
}

/// The one scenario loader, shared by the commands and the tests: reads the text, applies the
/// `--set` overrides, expands `[matrix]`, types and validates every cell, and reads the files
/// each names (payload corpus, size histogram, fault programs). `fallback_bootstrap`: see
/// [`scenario::read`].
pub fn load(
    origin: Origin,
    overrides: &[String],
    fallback_bootstrap: Option<&str>,
) -> Result<Loaded, InputError> {
    let file = match origin {
        Origin::File(path) => scenario::read(path, overrides, fallback_bootstrap)?,
        Origin::Text { path, text, format } => {
            scenario::parse(path, text, format, overrides, fallback_bootstrap)?
        }
    };
    cells(file)
}

/// Every cell of the file, each validated and with its input files read once.
fn cells(file: ScenarioFile) -> Result<Loaded, InputError> {
    let mut out = Vec::new();
    for combo in cartesian(&file.matrix) {
        let cell = file.cell(&combo)?;
        check_inputs(&cell.scenario).map_err(|e| file.source.key_error(&e.key, e.message))?;
        out.push(cell);
    }
    Ok(Loaded {
        cells: out,
        source: file.source,
    })
}

/// Reads what the scenario names on disk (the payload corpus, a size histogram, the programs of
/// `exec` faults), so a missing file or an oversized line is an error now, not mid-run.
pub fn check_inputs(s: &Scenario) -> Result<(), FieldError> {
    for (i, f) in s.faults.iter().enumerate() {
        for (name, argv) in [("command", &f.command), ("undo", &f.undo)] {
            if let Some(program) = argv.as_ref().and_then(|a| a.first()) {
                find_program(program)
                    .map_err(|e| FieldError::new(format!("faults[{i}].{name}"), e))?;
            }
        }
    }
    let m = &s.message;
    let (key, read) = if m.payload.is_some() {
        let payloads = crate::payload::Payloads::between(m, s.min_payload(), s.max_payload());
        ("message.payload", payloads.map(drop))
    } else {
        let sizes = crate::payload::sizes::Sampler::new(&m.size);
        ("message.size", sizes.map(drop))
    };
    read.map_err(|e| FieldError::new(key, e.to_string()))
}

/// A program as a shell would find it: a path (relative to the working directory) when it has a
/// `/`, else a file on `PATH`.
fn find_program(program: &str) -> Result<(), String> {
    if program.contains('/') {
        return if Path::new(program).is_file() {
            Ok(())
        } else {
            let cwd = std::env::current_dir().map_or("?".into(), |d| d.display().to_string());
            Err(format!("program {program:?} does not exist (relative paths are from the working directory, {cwd})"))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    if std::env::split_paths(&path).any(|d| d.join(program).is_file()) {
        Ok(())
    } else {
        Err(format!("program {program:?} is not on PATH"))
    }
}

/// Every combination of the matrix values, the last key varying fastest.
fn cartesian(matrix: &[(String, Vec<Value>)]) -> Vec<Vec<(&String, &Value)>> {
    let mut combos: Vec<Vec<(&String, &Value)>> = vec![Vec::new()];
    for (k, values) in matrix {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((k, v));
                    c
                })
            })
            .collect();
    }
    combos
}
