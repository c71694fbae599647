//! `--set KEY=VALUE` on top of a small scenario: an error or a scenario, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

use kbench::plan::load_cells_str;
use kbench::scenario::Format;

const BASE: &str = "name = \"f\"\n[producer]\nacks = 1\n[load]\nduration = \"1s\"\n[matrix]\n\"producer.linger\" = [\"0ms\", \"5ms\"]\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let overrides: Vec<String> = text.lines().take(4).map(str::to_string).collect();
    let _ = load_cells_str(Path::new("f.toml"), BASE, Format::Toml, &overrides, None);
    let mut tree = serde_json::json!({"producer": {"acks": 1}});
    for o in &overrides {
        let _ = kbench::scenario::set_override(&mut tree, o);
    }
});
