//! Any text as a scenario file (TOML and JSON): an error or a scenario, never a panic; and every
//! error message names the file.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

use kbench::plan::load_cells_str;
use kbench::scenario::Format;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for format in [Format::Toml, Format::Json] {
        if let Err(e) = load_cells_str(Path::new("fuzz.toml"), text, format, &[], None) {
            assert!(e.to_string().starts_with("fuzz.toml"), "{e}");
        }
    }
});
