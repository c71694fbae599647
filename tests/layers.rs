//! The house has one direction: every top-level module of `src/` imports only modules on its own
//! floor or below (STYLE.md's floors, ARCHITECTURE.md), and no two modules import each other
//! through any path. Rooms hold what ARCHITECTURE.md says: only the commands (and the binary)
//! print and read the environment, and every text, Markdown and JUnit writer is in `report/`.
//! Read from the source text (outside `#[cfg(test)]` code), so a new upward import, a cycle or a
//! `println!` deep in a stage fails here, before it grows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The floors, lowest first. `lib` is the crate root (`crate::item` of lib.rs itself).
const FLOORS: [&[&str]; 8] = [
    &[
        "scenario",
        "input",
        "units",
        "event",
        "rng",
        "kafka_error",
        "usage",
        "signal",
        "exit",
        "stamp",
        "stats",
    ],
    &["plan", "payload", "pacing", "engine"],
    &["producer", "consumer", "recorder", "broker", "fault"],
    &["run"],
    &["result", "history"],
    &["compare", "gate", "capacity", "sweep", "merge", "runner"],
    &["report", "live"],
    &["commands", "orchestrate", "cli", "lib"],
];

fn floor(module: &str) -> usize {
    FLOORS
        .iter()
        .position(|f| f.contains(&module))
        .unwrap_or_else(|| panic!("module {module:?} has no floor in tests/layers.rs"))
}

/// Source without comments and without its `#[cfg(test)]` items (test modules sit at the end of
/// a file).
fn non_test(text: &str) -> String {
    let code = text.find("#[cfg(test)]").map_or(text, |i| &text[..i]);
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first path segments after every `crate::` (and inside `crate::{a, b::c}` groups).
fn crate_refs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let body = &group[..group.find('}').unwrap_or(group.len())];
            for part in body.split(',') {
                let id = ident_at(part.trim());
                if !id.is_empty() {
                    out.push(id.to_string());
                }
            }
        } else {
            out.push(ident_at(rest).to_string());
        }
    }
    out
}

fn modules(src: &Path) -> BTreeMap<String, Vec<std::path::PathBuf>> {
    let mut files: BTreeMap<String, Vec<_>> = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().map_or(true, |e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let top = top.trim_end_matches(".rs").to_string();
            if top == "main" {
                continue;
            }
            files.entry(top).or_default().push(path);
        }
    }
    files
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = modules(&src);
    let names: BTreeSet<&String> = files.keys().collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, paths) in &files {
        let set = edges.entry(module.clone()).or_default();
        for p in paths {
            let text = std::fs::read_to_string(p).unwrap();
            for r in crate_refs(&non_test(&text)) {
                // `crate::item` that is not a module is an item of the crate root.
                let target = if names.contains(&r) {
                    r
                } else {
                    "lib".to_string()
                };
                if &target != module {
                    set.insert(target);
                }
            }
        }
    }
    edges
}

#[test]
fn no_module_imports_a_later_stage() {
    let mut upward = Vec::new();
    for (from, tos) in graph() {
        for to in tos {
            if floor(&to) > floor(&from) {
                upward.push(format!(
                    "{from} (floor {}) -> {to} (floor {})",
                    floor(&from),
                    floor(&to)
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports of later stages:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_cycle_between_top_level_modules() {
    let g = graph();
    // A cycle exists iff some module reaches itself.
    let mut cycles = Vec::new();
    for start in g.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        while let Some((m, path)) = stack.pop() {
            for next in g.get(&m).into_iter().flatten() {
                if next == start {
                    cycles.push(format!("{} -> {start}", path.join(" -> ")));
                } else if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_reader_sees_imports() {
    let refs = crate_refs(
        "use crate::units::Dur;\nuse crate::{plan, result::RunResult};\nx(crate::run_dir());",
    );
    assert_eq!(refs, ["units", "plan", "result", "run_dir"]);
    assert_eq!(
        non_test("a\n//! crate::b\n#[cfg(test)]\nmod tests { crate::x }"),
        "a\n"
    );
    // Every module of src/ has a floor, so a new module must be placed.
    for m in graph().keys() {
        floor(m);
    }
}

/// Every non-test source file of `src/`: (path relative to `src/`, code).
fn sources() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(&src).unwrap().display().to_string();
                out.push((rel, non_test(&std::fs::read_to_string(&path).unwrap())));
            }
        }
    }
    out.sort();
    out
}

/// Files (by path prefix) that use any of `needles` outside the allowed prefixes.
fn offenders(needles: &[&str], allowed: &[&str]) -> Vec<String> {
    sources()
        .into_iter()
        .filter(|(rel, _)| !allowed.iter().any(|a| rel.starts_with(a)))
        .filter_map(|(rel, code)| {
            let hit = needles.iter().find(|n| code.contains(*n))?;
            Some(format!("{rel}: {hit}"))
        })
        .collect()
}

#[test]
fn only_the_commands_print() {
    // Stages hand text back; the commands (and the runner they give a sweep or a capacity
    // search, in orchestrate.rs) decide what reaches the terminal. The live progress line draws
    // through indicatif.
    let bad = offenders(
        &["println!", "print!(", "eprintln!", "eprint!("],
        &["main.rs", "commands/", "orchestrate.rs"],
    );
    assert!(
        bad.is_empty(),
        "printing outside the commands:\n{}",
        bad.join("\n")
    );
}

#[test]
fn only_the_commands_read_the_environment() {
    // The named exceptions read what the scenario file itself names: a secret's `{ env = ... }`
    // (scenario/security.rs) and a fault program on PATH (plan/matrix.rs); lib.rs reads the
    // test hook of the accounting check; engine/build.rs the cache an engine is built in
    // ($KBENCH_CACHE or ~/.cache/kbench).
    let bad = offenders(
        &["env::var", "env::current_dir"],
        &[
            "commands/",
            "main.rs",
            "lib.rs",
            "scenario/security.rs",
            "plan/matrix.rs",
            "engine/build.rs",
        ],
    );
    assert!(
        bad.is_empty(),
        "environment read outside the commands:\n{}",
        bad.join("\n")
    );
}

#[test]
fn every_writer_is_in_report() {
    let bad = offenders(
        &["fn markdown", "fn junit", "fn terminal(", "fn ranked_rows"],
        &["report/"],
    );
    assert!(
        bad.is_empty(),
        "text writers outside report/:\n{}",
        bad.join("\n")
    );
}
