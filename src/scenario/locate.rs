//! Finding where a dotted key (`producer.acks`, `faults[1].at`, `matrix."producer.linger"`)
//! stands in a scenario's text, so errors can name the line: TOML through `toml_edit`'s spans,
//! JSON by scanning for the quoted keys in order.

use super::load::Format;

/// The 1-based line of a dotted key in the source, or of its nearest ancestor that is there.
pub fn line_of(text: &str, format: Format, key: &str) -> Option<usize> {
    let segments = split_key(key);
    let offset = match format {
        Format::Toml => toml_offset(text, &segments),
        Format::Json => json_offset(text, &segments),
    }?;
    Some(text[..offset].matches('\n').count() + 1)
}

/// Does the override `producer.acks=1` (or `producer={...}`) set the key `producer.acks`?
pub fn covers(over: &str, key: &str) -> bool {
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
    let mut i = 0;
    // Walks down the key; a segment that is not found may be the start of a dotted name
    // (`properties."a.b"`), so longer joins are tried. Unresolvable: the nearest ancestor's line.
    while i < segments.len() {
        let index = segments[i].parse::<usize>().ok();
        let (span, next, used) = match (index, node) {
            (None, Node::Table(t)) => {
                let Some((used, (k, v))) = (i + 1..=segments.len()).find_map(|end| {
                    t.get_key_value(&segments[i..end].join("."))
                        .map(|kv| (end - i, kv))
                }) else {
                    break;
                };
                let next = match v {
                    Item::Value(TV::InlineTable(t)) => Node::Table(t),
                    Item::Value(v) => Node::Value(v),
                    Item::Table(t) => Node::Table(t),
                    Item::ArrayOfTables(a) => Node::Tables(a),
                    Item::None => break,
                };
                (k.span(), next, used)
            }
            (Some(n), Node::Value(TV::Array(a))) => match a.get(n) {
                Some(v) => (v.span(), Node::Value(v), 1),
                None => break,
            },
            (Some(n), Node::Tables(a)) => match a.get(n) {
                Some(t) => (t.span(), Node::Table(t), 1),
                None => break,
            },
            _ => break,
        };
        offset = span.map(|s| s.start).or(offset);
        node = next;
        i += used;
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
