//! Reading a scenario: text -> value tree -> `--set` overrides -> typed [`Scenario`] -> [`validate`].
//!
//! Every error is a [`ScenarioError`] that names where the bad value came from (the file and line,
//! or the `--set` argument), the dotted key, and what was expected, e.g.
//! `scenarios/x.toml:14: producer.acks: expected 0, 1 or all, found "2"`.
//!
//! Lines are found after the fact: typing reports the dotted path of the bad key
//! (`serde_path_to_error`), and the path is looked up in the source with `toml_edit`'s spans (or, for
//! JSON, by scanning for the quoted keys in order).

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{validate, Scenario};

/// A scenario that could not be read: exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// `path/to/file.toml:LINE`, `path/to/file.toml`, or `--set key=value`.
    pub location: String,
    /// The dotted key, when the error is about one key.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.location)?;
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScenarioError {}

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
}

impl Source {
    fn error(&self, key: Option<&str>, message: impl Into<String>) -> ScenarioError {
        let file = self.path.display().to_string();
        let location = match key {
            Some(k) => match self.overrides.iter().rev().find(|o| covers(o, k)) {
                Some(o) => format!("--set {o}"),
                None => match self.line_of(k) {
                    Some(line) => format!("{file}:{line}"),
                    None => file,
                },
            },
            None => file,
        };
        ScenarioError {
            location,
            key: key.map(str::to_string),
            message: message.into(),
        }
    }

    /// The 1-based line of a dotted key (`producer.acks`, `faults[1].at`) in the source.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        let segments = split_key(key);
        let offset = match self.format {
            Format::Toml => toml_offset(&self.text, &segments),
            Format::Json => json_offset(&self.text, &segments),
        }?;
        Some(self.text[..offset].matches('\n').count() + 1)
    }

    /// A bare [`ScenarioError`] at a dotted key; used by validation.
    pub fn key_error(&self, key: &str, message: impl Into<String>) -> ScenarioError {
        self.error(Some(key), message)
    }
}

/// Does the override `producer.acks=1` (or `producer={...}`) set the key `producer.acks`?
fn covers(over: &str, key: &str) -> bool {
    let set_key = over.split('=').next().unwrap_or("").trim();
    key == set_key
        || key.starts_with(&format!("{set_key}."))
        || set_key.starts_with(&format!("{key}."))
}

fn split_key(key: &str) -> Vec<String> {
    key.split(['.', '['])
        .map(|s| s.trim_end_matches(']').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn toml_offset(text: &str, segments: &[String]) -> Option<usize> {
    use toml_edit::{ArrayOfTables, Item, TableLike, Value as TV};
    /// A position in the document while descending along the key.
    enum Node<'a> {
        Table(&'a dyn TableLike),
        Tables(&'a ArrayOfTables),
        Value(&'a TV),
    }
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut node = Node::Table(doc.as_table());
    let mut offset = None;
    for seg in segments {
        let index = seg.parse::<usize>().ok();
        let (span, next) = match (index, node) {
            (None, Node::Table(t)) => {
                let (k, v) = t.get_key_value(seg)?;
                let next = match v {
                    Item::Value(v) => Node::Value(v),
                    Item::Table(t) => Node::Table(t),
                    Item::ArrayOfTables(a) => Node::Tables(a),
                    Item::None => return offset,
                };
                (k.span(), next)
            }
            (None, Node::Value(TV::InlineTable(t))) => {
                let (k, v) = t.get_key_value(seg)?;
                match v.as_value() {
                    Some(v) => (k.span(), Node::Value(v)),
                    None => (k.span(), Node::Table(t)),
                }
            }
            (Some(i), Node::Value(TV::Array(a))) => {
                let v = a.get(i)?;
                (v.span(), Node::Value(v))
            }
            (Some(i), Node::Tables(a)) => {
                let t = a.get(i)?;
                (t.span(), Node::Table(t))
            }
            _ => break,
        };
        offset = span.map(|s| s.start).or(offset);
        node = next;
    }
    offset
}

fn json_offset(text: &str, segments: &[String]) -> Option<usize> {
    let mut pos = 0;
    let mut found = None;
    for seg in segments {
        if seg.parse::<usize>().is_ok() {
            continue;
        }
        let needle = format!("\"{seg}\"");
        let at = text[pos..].find(&needle)? + pos;
        found = Some(at);
        pos = at + needle.len();
    }
    found
}

/// Reads, overrides, types and validates a scenario file.
pub fn load(path: &Path, overrides: &[String]) -> Result<(Scenario, Source), ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        location: path.display().to_string(),
        key: None,
        message: format!("cannot read scenario file: {e}"),
    })?;
    let format = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Format::Json,
        _ => Format::Toml,
    };
    load_str(path, &text, format, overrides)
}

/// [`load`] from text already in memory (tests, embedded scenarios).
pub fn load_str(
    path: &Path,
    text: &str,
    format: Format,
    overrides: &[String],
) -> Result<(Scenario, Source), ScenarioError> {
    let source = Source {
        path: path.to_path_buf(),
        text: text.to_string(),
        format,
        overrides: overrides.to_vec(),
    };
    let mut tree = parse_tree(&source)?;
    for over in overrides {
        set_override(&mut tree, over).map_err(|message| ScenarioError {
            location: format!("--set {over}"),
            key: None,
            message,
        })?;
    }
    let mut scenario = typed(&source, tree)?;
    validate(&mut scenario, &source)?;
    Ok((scenario, source))
}

/// Parses the text into a JSON value tree (syntax errors carry the line).
fn parse_tree(source: &Source) -> Result<Value, ScenarioError> {
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
                ScenarioError {
                    location: match line {
                        Some(l) => format!("{file}:{l}"),
                        None => file.clone(),
                    },
                    key: None,
                    message: format!("invalid TOML: {}", e.message().trim()),
                }
            })?;
            serde_json::to_value(table).map_err(|e| ScenarioError {
                location: file,
                key: None,
                message: format!("unsupported TOML value: {e}"),
            })
        }
        Format::Json => serde_json::from_str(&source.text).map_err(|e| ScenarioError {
            location: format!("{file}:{}", e.line()),
            key: None,
            message: format!("invalid JSON: {e}"),
        }),
    }
}

/// Applies one `key.path=value` override to the tree. The value is read as a TOML value when it is
/// one (`3`, `true`, `"x"`, `["a","b"]`), otherwise as a plain string (`20k/s`, `all`).
pub fn set_override(tree: &mut Value, over: &str) -> Result<(), String> {
    let (key, raw) = over
        .split_once('=')
        .ok_or_else(|| "expected key=value, e.g. producer.acks=1".to_string())?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(format!("invalid key {key:?}"));
    }
    let value = parse_set_value(raw.trim());
    let segments: Vec<&str> = key.split('.').collect();
    let mut node = tree;
    for (i, seg) in segments.iter().enumerate() {
        let map = match node {
            Value::Object(map) => map,
            _ => {
                return Err(format!(
                    "cannot set {key}: {} is not a table",
                    segments[..i].join(".")
                ))
            }
        };
        if i + 1 == segments.len() {
            map.insert(seg.to_string(), value);
            return Ok(());
        }
        node = map
            .entry(seg.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(())
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

fn typed(source: &Source, tree: Value) -> Result<Scenario, ScenarioError> {
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
