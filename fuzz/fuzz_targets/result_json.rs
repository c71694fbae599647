//! Any text given to `report`, `compare` or `gate` as a result file: an error, or a result whose
//! histograms decode or fail cleanly, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

use kbench::result::RunResult;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(r) = RunResult::parse(text, "fuzz.json") {
        let _ = kbench::recorder::hist::decode(&r.histograms.corrected);
        let _ = kbench::compare::Comparison::new(vec![("a".into(), r.clone()), ("b".into(), r)]);
    }
    let _ = kbench::recorder::hist::decode(text);
});
