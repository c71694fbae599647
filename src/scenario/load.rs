//! Reading a scenario: text -> value tree -> `--set` overrides -> typed [`Scenario`] -> [`validate`].
//!
//! Every error is a [`InputError`] that names where the bad value came from (the file and line,
//! or the `--set` argument), the dotted key, and what was expected, e.g.
//! `scenarios/x.toml:14: producer.acks: expected 0, 1 or all, found "2"`.
//!
//! Lines are found after the fact: typing reports the dotted path of the bad key
//! (`serde_path_to_error`), and the path is looked up in the source with `toml_edit`'s spans (or, for
//! JSON, by scanning for the quoted keys in order).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::locate::{self, covers};
use super::{validate, Scenario};
pub use crate::input::InputError;

/// The text format of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

/// The scenario text and where it came from, kept to locate errors.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
    pub format: Format,
    /// `--set` overrides applied on top, as given (`key=value`).
    pub overrides: Vec<String>,
    /// Keys varied by `[matrix]`: errors about them point at their line in `[matrix]`.
    pub matrix_keys: Vec<String>,
}

impl Source {
    fn error(&self, key: Option<&str>, message: impl Into<String>) -> InputError {
        let file = self.path.display().to_string();
        let location = match key {
            Some(k) => match self.overrides.iter().rev().find(|o| covers(o, k)) {
                Some(o) => format!("--set {o}"),
                None => match self
                    .matrix_keys
                    .iter()
                    .find(|m| covers(m, k))
                    .and_then(|m| self.line_of(&format!("matrix.{m}")))
                    .or_else(|| self.line_of(k))
                {
                    Some(line) => format!("{file}:{line}"),
                    None => file,
                },
            },
            None => file,
        };
        InputError {
            location,
            key: key.map(str::to_string),
            message: message.into(),
        }
    }

    /// The 1-based line of a dotted key (`producer.acks`, `faults[1].at`) in the source.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        locate::line_of(&self.text, self.format, key)
    }

    /// A bare [`InputError`] at a dotted key; used by validation.
    pub fn key_error(&self, key: &str, message: impl Into<String>) -> InputError {
        self.error(Some(key), message)
    }
}

/// One cell of a sweep: the values of its matrix keys, and the scenario they give.
#[derive(Debug, Clone)]
pub struct Cell {
    /// (dotted key, value) for every matrix key, in key order.
    pub vars: Vec<(String, String)>,
    pub scenario: Scenario,
    /// What validation warned about (printed once by the command, not once per cell).
    pub warnings: Vec<String>,
}

/// A scenario file parsed, with `--set` applied and its `[matrix]` taken apart: the first layer,
/// before any cell is typed. The plan stage expands the matrix into cells ([`ScenarioFile::cell`]).
#[derive(Debug, Clone)]
pub struct ScenarioFile {
    pub source: Source,
    tree: Value,
    /// Every matrix key (dotted) with its values, in key order; empty without `[matrix]`.
    pub matrix: Vec<(String, Vec<Value>)>,
}

/// Reads a scenario file. `fallback_bootstrap` is used when neither the file nor an override
/// sets `cluster.bootstrap` (the command line takes it from the environment; the loader itself
/// never reads the environment).
pub fn read(
    path: &Path,
    overrides: &[String],
    fallback_bootstrap: Option<&str>,
) -> Result<ScenarioFile, InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| InputError {
        location: path.display().to_string(),
        key: None,
        message: format!("cannot read scenario file: {e}"),
    })?;
    let format = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Format::Json,
        _ => Format::Toml,
    };
    parse(path, &text, format, overrides, fallback_bootstrap)
}

/// [`read`] from text already in memory.
pub fn parse(
    path: &Path,
    text: &str,
    format: Format,
    overrides: &[String],
    fallback_bootstrap: Option<&str>,
) -> Result<ScenarioFile, InputError> {
    let mut source = Source {
        path: path.to_path_buf(),
        text: text.to_string(),
        format,
        overrides: overrides.to_vec(),
        matrix_keys: Vec::new(),
    };
    let mut tree = parse_tree(&source)?;
    for over in overrides {
        set_override(&mut tree, over).map_err(|message| InputError {
            location: format!("--set {over}"),
            key: None,
            message: message.0,
        })?;
    }
    if let Some(b) = fallback_bootstrap.filter(|b| !b.trim().is_empty()) {
        if tree.pointer("/cluster/bootstrap").is_none() {
            let _ = set_path(&mut tree, "cluster.bootstrap", Value::String(b.to_string()));
        }
    }
    let matrix = take_matrix(&source, &mut tree)?;
    source.matrix_keys = matrix.iter().map(|(k, _)| k.clone()).collect();
    Ok(ScenarioFile {
        source,
        tree,
        matrix,
    })
}

impl ScenarioFile {
    /// The cell with these matrix values (one per matrix key), typed and validated.
    pub fn cell(&self, values: &[(&String, &Value)]) -> Result<Cell, InputError> {
        let mut tree = self.tree.clone();
        let mut vars = Vec::new();
        for (k, v) in values {
            set_path(&mut tree, k, (*v).clone())
                .map_err(|m| self.source.key_error(&format!("matrix.{k}"), m))?;
            vars.push(((*k).clone(), value_text(v)));
        }
        let mut scenario = typed(&self.source, tree)?;
        let warnings = validate(&mut scenario, &self.source)?;
        Ok(Cell {
            vars,
            scenario,
            warnings,
        })
    }

    /// The first cell: every matrix key at its first value (the scenario itself without a matrix).
    pub fn first(&self) -> Result<Scenario, InputError> {
        let values: Vec<(&String, &Value)> = self.matrix.iter().map(|(k, v)| (k, &v[0])).collect();
        Ok(self.cell(&values)?.scenario)
    }
}

/// A value as shown in labels: strings bare, the rest as JSON.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Removes `matrix` from the tree and checks it: every key a non-empty list. Keys fixed by
/// `--set` leave the matrix (their override is already in the tree).
fn take_matrix(source: &Source, tree: &mut Value) -> Result<Vec<(String, Vec<Value>)>, InputError> {
    let Some(Value::Object(map)) = tree.as_object_mut().and_then(|t| t.remove("matrix")) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (k, v) in map {
        let key = format!("matrix.{k}");
        let values = match v {
            Value::Array(a) if !a.is_empty() => a,
            _ => {
                return Err(source.key_error(
                    &key,
                    "expected a non-empty list of values, e.g. [\"1\", \"all\"]",
                ))
            }
        };
        if k.starts_with("matrix") || k.starts_with("experiment") || k.is_empty() {
            return Err(source.key_error(
                &key,
                "a matrix key names a scenario key, like \"producer.acks\"",
            ));
        }
        if source
            .overrides
            .iter()
            .any(|o| o.split('=').next().map(str::trim) == Some(k.as_str()))
        {
            continue;
        }
        out.push((k, values));
    }
    Ok(out)
}

/// Parses the text into a JSON value tree (syntax errors carry the line).
fn parse_tree(source: &Source) -> Result<Value, InputError> {
    let file = source.path.display().to_string();
    match source.format {
        Format::Toml => {
            let table: toml::Table = toml::from_str(&source.text).map_err(|e| {
                let line = e.span().map(|s| {
                    source.text[..s.start.min(source.text.len())]
                        .matches('\n')
                        .count()
                        + 1
                });
                InputError {
                    location: match line {
                        Some(l) => format!("{file}:{l}"),
                        None => file.clone(),
                    },
                    key: None,
                    message: format!("invalid TOML: {}", e.message().trim().replace('\n', "; ")),
                }
            })?;
            serde_json::to_value(table).map_err(|e| InputError {
                location: file,
                key: None,
                message: format!("unsupported TOML value: {e}"),
            })
        }
        Format::Json => serde_json::from_str(&source.text).map_err(|e| InputError {
            location: format!("{file}:{}", e.line()),
            key: None,
            message: format!("invalid JSON: {e}"),
        }),
    }
}

/// Keys of which a scenario may set only one; `--set` of one removes the other.
const EXCLUSIVE: [(&str, &str); 1] = [("load.messages", "load.duration")];

/// Applies one `key.path=value` override to the tree. The value is read as a TOML value when it is
/// one (`3`, `true`, `"x"`, `["a","b"]`), otherwise as a plain string (`20k/s`, `all`).
pub fn set_override(tree: &mut Value, over: &str) -> Result<(), crate::input::ValueError> {
    let (key, raw) = over
        .split_once('=')
        .ok_or_else(|| "expected key=value, e.g. producer.acks=1".to_string())?;
    set_path(tree, key.trim(), parse_set_value(raw.trim()))
}

/// Sets the dotted `key` (segments may be quoted) to `value`, creating tables on the way.
pub fn set_path(tree: &mut Value, key: &str, value: Value) -> Result<(), crate::input::ValueError> {
    let segments = split_set_key(key).ok_or_else(|| format!("invalid key {key:?}"))?;
    let mut node = tree;
    for (i, seg) in segments.iter().enumerate() {
        let map = match node {
            Value::Object(map) => map,
            _ => {
                return Err(format!(
                    "cannot set {key}: {} is not a table",
                    segments[..i].join(".")
                )
                .into())
            }
        };
        if i + 1 == segments.len() {
            // An override of one stop condition replaces the other one from the file.
            if let Some(other) = EXCLUSIVE
                .iter()
                .find_map(|(a, b)| (key == *a).then_some(b).or((key == *b).then_some(a)))
            {
                map.remove(other.rsplit('.').next().unwrap_or(other));
            }
            map.insert(seg.clone(), value);
            return Ok(());
        }
        node = map
            .entry(seg.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(())
}

/// Splits `a.b."c.d"` into `["a", "b", "c.d"]`: quoted segments may contain dots (librdkafka
/// property names do).
fn split_set_key(key: &str) -> Option<Vec<String>> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    for c in key.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            '.' if !quoted => {
                if current.is_empty() && !was_quoted {
                    return None;
                }
                segments.push(std::mem::take(&mut current));
                was_quoted = false;
            }
            c => current.push(c),
        }
    }
    if quoted || (current.is_empty() && !was_quoted) {
        return None;
    }
    segments.push(current);
    Some(segments)
}

fn parse_set_value(raw: &str) -> Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .and_then(|v| serde_json::to_value(v).ok())
            .unwrap_or_else(|| Value::String(raw.to_string())),
        Err(_) => Value::String(raw.to_string()),
    }
}

fn typed(source: &Source, tree: Value) -> Result<Scenario, InputError> {
    serde_path_to_error::deserialize(tree).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let (key, message) = unknown_field_key(&path, &inner);
        source.error(key.as_deref(), message)
    })
}

/// serde reports an unknown field at the path of its table: put the field itself in the key.
fn unknown_field_key(path: &str, message: &str) -> (Option<String>, String) {
    let base = if path == "." || path.is_empty() {
        None
    } else {
        Some(path.to_string())
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((field, tail)) = rest.split_once('`') {
            let key = match &base {
                Some(b) if !b.ends_with(field) => format!("{b}.{field}"),
                Some(b) => b.clone(),
                None => field.to_string(),
            };
            return (Some(key), format!("unknown key{tail}"));
        }
    }
    (base, message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Source {
        Source {
            path: "s.toml".into(),
            text: text.into(),
            format: Format::Toml,
            overrides: vec![],
            matrix_keys: vec![],
        }
    }

    #[test]
    fn set_override_builds_tables_and_reads_toml_values() {
        let mut tree = serde_json::json!({"producer": {"acks": "all"}});
        set_override(&mut tree, "producer.acks=1").unwrap();
        set_override(&mut tree, "load.rate=20k/s").unwrap();
        set_override(&mut tree, "producer.idempotence=true").unwrap();
        set_override(&mut tree, "producer.properties.\"ssl.key.password\"=x").unwrap();
        assert_eq!(tree["producer"]["acks"], 1);
        assert_eq!(tree["load"]["rate"], "20k/s");
        assert_eq!(tree["producer"]["idempotence"], true);
        assert_eq!(tree["producer"]["properties"]["ssl.key.password"], "x");
        assert!(set_override(&mut tree, "novalue").is_err());
        assert!(set_override(&mut tree, "a..b=1").is_err());
        assert!(set_override(&mut tree, "load.rate.x=1").is_err());
        assert!(set_override(&mut tree, "\"open=1").is_err());
        let mut tree = serde_json::json!({"load": {"duration": "10s"}});
        set_override(&mut tree, "load.messages=5").unwrap();
        assert_eq!(tree["load"], serde_json::json!({"messages": 5}));
    }

    #[test]
    fn lines_are_found_for_every_toml_shape() {
        let s = src("name = \"x\"\n\n[producer]\nacks = 1\nproperties = { \"a.b\" = 1 }\n\n[[faults]]\nat = \"1s\"\n[[faults]]\nat = \"2s\"\n\n[load]\nprofile = [\n  { rate = 1 },\n  { rate = 2 },\n]\n");
        assert_eq!(s.line_of("name"), Some(1));
        assert_eq!(s.line_of("producer"), Some(3));
        assert_eq!(s.line_of("producer.acks"), Some(4));
        assert_eq!(s.line_of("producer.properties.a.b"), Some(5));
        assert_eq!(s.line_of("faults[1].at"), Some(10));
        assert_eq!(s.line_of("load.profile[1].rate"), Some(15));
        assert_eq!(s.line_of("producer.nothing"), Some(3), "nearest ancestor");
        assert_eq!(s.line_of("nothing"), None);
        let dotted = src("producer.acks = 1\n");
        assert_eq!(dotted.line_of("producer.acks"), Some(1));
    }

    #[test]
    fn overrides_take_the_blame_for_their_keys() {
        let mut s = src("[producer]\nacks = 1\n");
        s.overrides = vec!["producer.acks=7".into()];
        let e = s.key_error("producer.acks", "bad");
        assert_eq!(e.to_string(), "--set producer.acks=7: producer.acks: bad");
        let e = s.key_error("load.rate", "bad");
        assert_eq!(e.to_string(), "s.toml: load.rate: bad");
    }

    #[test]
    fn empty_file_is_the_default_scenario() {
        let file = parse(Path::new("e.toml"), "", Format::Toml, &[], None).unwrap();
        let s = file.first().unwrap();
        assert_eq!(s.topic.partitions, 6);
        assert!(s.producer.workers.is_some() && s.producer.acks.is_some());
    }
}
