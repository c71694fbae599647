//! Sizes, rates, durations and gate conditions: parse or refuse, never panic; what parses prints
//! back to something that parses to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;

use kbench::units::{Bytes, Dur, Rate};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(b) = s.parse::<Bytes>() {
        assert_eq!(b.to_string().parse::<Bytes>().ok(), Some(b));
    }
    if let Ok(d) = s.parse::<Dur>() {
        // Every duration that parses is bounded, so instants built from it cannot overflow.
        assert!(d.0 <= kbench::units::MAX_DURATION);
        let _ = d.to_string();
    }
    if let Ok(r) = s.parse::<Rate>() {
        let _ = r.to_string();
    }
    let _ = kbench::gate::Threshold::parse("p99", s);
    let _ = kbench::gate::Threshold::parse("throughput", s);
    let _ = kbench::gate::Allowance::parse("p99", s);
    let _ = kbench::gate::Metric::parse(s);
    let _ = kbench::gate::Threshold::parse("loss_rate", s);
});
