//! Units that users type: sizes ("512B", "1KiB", "4MB"), rates ("5k/s", "max") and durations
//! ("250ms", "30s", "1m").
//!
//! Every unit type parses from a string (`FromStr`), prints back in a canonical form that parses to
//! the same value (`Display`), and (de)serializes as that string, so a resolved scenario written into
//! `result.json` reads like the scenario file it came from. Deserialization also accepts bare numbers
//! where they are unambiguous: a size in bytes, a rate in messages per second. A bare duration is
//! ambiguous (ms? s?) and only `0` is accepted without a unit.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// A parse error for a unit value: what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, found {found:?}")]
pub struct UnitError {
    /// What a valid value looks like, e.g. `a size like "512B" or "1KiB"`.
    pub expected: &'static str,
    /// The text that was given.
    pub found: String,
}

impl UnitError {
    fn new(expected: &'static str, found: &str) -> Self {
        UnitError {
            expected,
            found: found.to_string(),
        }
    }
}

/// Splits "12.5ms" into (12.5, "ms"). The number must be finite and non-negative.
fn split_number(s: &str) -> Option<(f64, &str)> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    let number: String = s[..end].chars().filter(|c| *c != '_').collect();
    let value: f64 = number.parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    Some((value, s[end..].trim()))
}

// ---------------------------------------------------------------------------------------------
// Bytes

/// A size in bytes. Parses "512", "512B", "1KB" (1000), "1KiB" (1024), "4MiB", "1.5GB".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bytes(pub u64);

const BYTES_EXPECTED: &str = "a size like \"512B\", \"1KiB\" or \"4MB\"";

impl FromStr for Bytes {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || UnitError::new(BYTES_EXPECTED, s);
        let (value, unit) = split_number(s).ok_or_else(err)?;
        let factor: u64 = match unit.to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            _ => return Err(err()),
        };
        let bytes = value * factor as f64;
        if bytes.fract() != 0.0 || bytes > u64::MAX as f64 {
            return Err(err());
        }
        Ok(Bytes(bytes as u64))
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        for (factor, unit) in [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] {
            if b >= factor && b % factor == 0 {
                return write!(f, "{}{unit}", b / factor);
            }
        }
        write!(f, "{b}B")
    }
}

impl Bytes {
    /// Human-readable with one decimal, for summaries: "1.5 MiB".
    pub fn human(value: f64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"];
        let mut v = value;
        let mut i = 0;
        while v >= 1024.0 && i + 1 < units.len() {
            v /= 1024.0;
            i += 1;
        }
        if i == 0 {
            format!("{v:.0} {}", units[i])
        } else {
            format!("{v:.1} {}", units[i])
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rate

/// A message rate: `Max` (as fast as the client accepts messages) or a fixed number of messages per
/// second. Parses "max", "5000", "5000/s", "5k/s", "1.5M/s".
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub enum Rate {
    /// No pacing: send as fast as the client takes messages.
    #[default]
    Max,
    /// Open-loop pacing at this many messages per second (always > 0).
    PerSec(f64),
}

const RATE_EXPECTED: &str = "a rate like \"5k/s\", \"20000/s\" or \"max\"";

impl FromStr for Rate {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || UnitError::new(RATE_EXPECTED, s);
        let t = s.trim();
        if t.eq_ignore_ascii_case("max") {
            return Ok(Rate::Max);
        }
        let (value, rest) = split_number(t).ok_or_else(err)?;
        let rest = rest.strip_suffix("/s").unwrap_or(rest).trim();
        let factor = match rest {
            "" => 1.0,
            "k" | "K" => 1e3,
            "M" => 1e6,
            "G" => 1e9,
            _ => return Err(err()),
        };
        let rate = value * factor;
        if rate <= 0.0 || !rate.is_finite() {
            return Err(err());
        }
        Ok(Rate::PerSec(rate))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rate::Max => write!(f, "max"),
            Rate::PerSec(r) => {
                for (factor, unit) in [(1e9, "G"), (1e6, "M"), (1e3, "k")] {
                    let scaled = r / factor;
                    if scaled >= 1.0 && (scaled * 1000.0).fract() == 0.0 {
                        return write!(f, "{}{unit}/s", trim_float(scaled));
                    }
                }
                write!(f, "{}/s", trim_float(*r))
            }
        }
    }
}

impl Rate {
    /// Messages per second, or `None` for `max`.
    pub fn per_sec(self) -> Option<f64> {
        match self {
            Rate::Max => None,
            Rate::PerSec(r) => Some(r),
        }
    }

    /// "12.3k", "1.50M": a rate for humans.
    pub fn human(value: f64) -> String {
        if value >= 1e6 {
            format!("{:.2}M", value / 1e6)
        } else if value >= 1e4 {
            format!("{:.1}k", value / 1e3)
        } else {
            format!("{value:.0}")
        }
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

// ---------------------------------------------------------------------------------------------
// Duration

/// A duration with a unit: "250ms", "30s", "1.5m", "1h", "500us". Only `0` may omit the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dur(pub Duration);

const DURATION_EXPECTED: &str = "a duration with a unit, like \"250ms\", \"30s\" or \"1m\"";
const DURATION_TOO_LONG: &str = "a duration of at most 30 days (720h)";

/// The longest duration any key takes: 30 days. Every instant kbench computes (t0 plus a few of
/// these) stays far inside what a monotonic clock can add without overflowing.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

impl FromStr for Dur {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || UnitError::new(DURATION_EXPECTED, s);
        let (value, unit) = split_number(s).ok_or_else(err)?;
        let secs = match unit {
            "" if value == 0.0 => 0.0,
            "us" | "µs" => value / 1e6,
            "ms" => value / 1e3,
            "s" => value,
            "m" | "min" => value * 60.0,
            "h" => value * 3600.0,
            _ => return Err(err()),
        };
        let d = Duration::try_from_secs_f64(secs).map_err(|_| err())?;
        if d > MAX_DURATION {
            return Err(UnitError::new(DURATION_TOO_LONG, s));
        }
        Ok(Dur(d))
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0.as_micros();
        if us == 0 {
            return write!(f, "0s");
        }
        for (factor, unit) in [
            (3_600_000_000u128, "h"),
            (60_000_000, "m"),
            (1_000_000, "s"),
            (1_000, "ms"),
        ] {
            if us % factor == 0 {
                return write!(f, "{}{unit}", us / factor);
            }
        }
        write!(f, "{us}us")
    }
}

impl Dur {
    pub fn from_millis(ms: u64) -> Self {
        Dur(Duration::from_millis(ms))
    }
    pub fn from_secs(s: u64) -> Self {
        Dur(Duration::from_secs(s))
    }
}

/// "1.23 ms", "45 µs", "2.50 s": a latency in microseconds for humans.
pub fn human_us(us: f64) -> String {
    // Thresholds sit at the rounding boundary, so 999.7 µs reads "1.00 ms", not "1000 µs".
    if us >= 999_995.0 {
        format!("{:.2} s", us / 1e6)
    } else if us >= 999.5 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{us:.0} µs")
    }
}

// ---------------------------------------------------------------------------------------------
// serde: strings (and numbers where unambiguous) in, canonical strings out.

macro_rules! unit_serde {
    ($ty:ty, $expecting:expr, $from_u64:expr, $from_f64:expr) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl de::Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$ty, E> {
                        v.parse().map_err(|e: UnitError| E::custom(e))
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$ty, E> {
                        let f: fn(u64) -> Result<$ty, UnitError> = $from_u64;
                        f(v).map_err(E::custom)
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$ty, E> {
                        if v < 0 {
                            return Err(E::custom(UnitError::new($expecting, &v.to_string())));
                        }
                        self.visit_u64(v as u64)
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$ty, E> {
                        let f: fn(f64) -> Result<$ty, UnitError> = $from_f64;
                        f(v).map_err(E::custom)
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

unit_serde!(Bytes, BYTES_EXPECTED, |v| Ok(Bytes(v)), |v| v
    .to_string()
    .parse());
unit_serde!(Rate, RATE_EXPECTED, |v| v.to_string().parse(), |v| v
    .to_string()
    .parse());
unit_serde!(Dur, DURATION_EXPECTED, |v| v.to_string().parse(), |v| v
    .to_string()
    .parse());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_parse_and_display() {
        assert_eq!("512".parse::<Bytes>().unwrap(), Bytes(512));
        assert_eq!("512B".parse::<Bytes>().unwrap(), Bytes(512));
        assert_eq!("1KiB".parse::<Bytes>().unwrap(), Bytes(1024));
        assert_eq!("1KB".parse::<Bytes>().unwrap(), Bytes(1000));
        assert_eq!("4MiB".parse::<Bytes>().unwrap(), Bytes(4 << 20));
        assert_eq!("1.5KiB".parse::<Bytes>().unwrap(), Bytes(1536));
        assert_eq!("64 kib".parse::<Bytes>().unwrap(), Bytes(64 << 10));
        for bad in ["1KB!", "", "KiB", "-1B", "1.3B", "1 parsec", "1e3"] {
            assert!(bad.parse::<Bytes>().is_err(), "{bad} should not parse");
        }
        assert_eq!(Bytes(1024).to_string(), "1KiB");
        assert_eq!(Bytes(1000).to_string(), "1000B");
        assert_eq!(Bytes(64 << 20).to_string(), "64MiB");
        for v in [0u64, 1, 100, 1024, 1536, 65536, 1 << 30] {
            assert_eq!(Bytes(v).to_string().parse::<Bytes>().unwrap(), Bytes(v));
        }
    }

    #[test]
    fn rate_parse_and_display() {
        assert_eq!("max".parse::<Rate>().unwrap(), Rate::Max);
        assert_eq!("5k/s".parse::<Rate>().unwrap(), Rate::PerSec(5000.0));
        assert_eq!("5000".parse::<Rate>().unwrap(), Rate::PerSec(5000.0));
        assert_eq!("20000/s".parse::<Rate>().unwrap(), Rate::PerSec(20000.0));
        assert_eq!("1.5M/s".parse::<Rate>().unwrap(), Rate::PerSec(1.5e6));
        for bad in ["-5/s", "0/s", "0", "fast", "5x/s", "", "/s"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad} should not parse");
        }
        assert_eq!(Rate::PerSec(5000.0).to_string(), "5k/s");
        assert_eq!(Rate::PerSec(1500.0).to_string(), "1.5k/s");
        assert_eq!(Rate::PerSec(333.0).to_string(), "333/s");
        for r in [1.0, 333.0, 5000.0, 12345.0, 2e6, 0.5] {
            let rate = Rate::PerSec(r);
            assert_eq!(rate.to_string().parse::<Rate>().unwrap(), rate);
        }
    }

    #[test]
    fn duration_parse_and_display() {
        let ms = |v| Dur(Duration::from_millis(v));
        assert_eq!("250ms".parse::<Dur>().unwrap(), ms(250));
        assert_eq!("30s".parse::<Dur>().unwrap(), ms(30_000));
        assert_eq!("1m".parse::<Dur>().unwrap(), ms(60_000));
        assert_eq!("1.5s".parse::<Dur>().unwrap(), ms(1500));
        assert_eq!("0".parse::<Dur>().unwrap(), ms(0));
        assert_eq!(
            "500us".parse::<Dur>().unwrap(),
            Dur(Duration::from_micros(500))
        );
        for bad in [
            "10",
            "-1s",
            "1y",
            "",
            "s",
            "1e400s",
            "721h",
            "3000000000000000h",
        ] {
            assert!(bad.parse::<Dur>().is_err(), "{bad} should not parse");
        }
        assert_eq!("720h".parse::<Dur>().unwrap().0, MAX_DURATION);
        let e = "3000000000000000h".parse::<Dur>().unwrap_err();
        assert!(e.to_string().contains("at most 30 days"), "{e}");
        assert_eq!(ms(5).to_string(), "5ms");
        assert_eq!(ms(90_000).to_string(), "90s");
        assert_eq!(ms(120_000).to_string(), "2m");
        assert_eq!(ms(0).to_string(), "0s");
    }

    #[test]
    fn serde_accepts_numbers_where_unambiguous() {
        #[derive(Deserialize)]
        struct T {
            b: Bytes,
            r: Rate,
        }
        let t: T = serde_json::from_str(r#"{"b": 100, "r": 2500}"#).unwrap();
        assert_eq!(t.b, Bytes(100));
        assert_eq!(t.r, Rate::PerSec(2500.0));
        assert!(serde_json::from_str::<Dur>("10").is_err());
        assert!(serde_json::from_str::<Rate>("-5").is_err());
        assert_eq!(serde_json::to_string(&Bytes(1024)).unwrap(), "\"1KiB\"");
    }
}
