//! An external engine's output lines are untrusted: the parser answers any bytes with a reply or
//! an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = kbench::engine::protocol::parse(line);
        let _ = kbench::engine::protocol::error_name(line);
    }
});
