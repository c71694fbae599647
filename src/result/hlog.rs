//! `latency.hlog`: a run's per-interval histograms in the standard HdrHistogram interval log
//! format, one tag per stream (`corrected`, `service`, `send_lag`, and with `[consume]` `e2e` and
//! `e2e_service`), values in microseconds.
//! HdrHistogram's own tools (HistogramLogProcessor, HdrHistogram Log Analyzer, ...) read it and
//! merge it with other logs.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::V2DeflateSerializer;

use super::RunResult;
use crate::recorder::hist::{self, Hist};

/// The streams and their tags.
pub const TAGS: [&str; 5] = ["corrected", "service", "send_lag", "e2e", "e2e_service"];

/// Writes the run's interval histograms as an interval log.
pub fn write(r: &RunResult, path: &Path) -> std::io::Result<()> {
    let t0 = UNIX_EPOCH + Duration::from_millis(r.t0_unix_ms);
    let step = r.spec.load.interval.0;
    let mut text = Vec::new();
    {
        let mut serializer = V2DeflateSerializer::new();
        let mut log = IntervalLogWriterBuilder::new()
            .add_comment(&format!(
                "kbench {} run {} (latencies in microseconds)",
                r.kbench_version, r.scenario.name
            ))
            .with_start_time(t0)
            .with_base_time(t0)
            .begin_log_with(&mut text, &mut serializer)?;
        for i in &r.intervals {
            let streams = [
                &i.hist,
                &i.service_hist,
                &i.send_lag_hist,
                &i.e2e_hist,
                &i.e2e_service_hist,
            ];
            for (tag, encoded) in TAGS.iter().zip(streams) {
                let Some(h) = encoded.as_deref().and_then(|e| hist::decode(e).ok()) else {
                    continue;
                };
                log.write_histogram(&h, Duration::from_secs_f64(i.t_s), step, Tag::new(tag))
                    .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
            }
        }
    }
    super::write_atomic(path, &with_java_header(&text))
}

/// The lines HdrHistogram's Java `HistogramLogWriter` writes and the Rust crate does not: the
/// format version (after the first comment) and the CSV column header (after the base time).
/// Readers skip both (the Rust reader, `#` and `"` lines alike).
const VERSION_LINE: &str = "#[Histogram log format version 1.3]";
const COLUMNS_LINE: &str =
    "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"";

fn with_java_header(text: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(text);
    let mut out = String::with_capacity(text.len() + 128);
    let mut versioned = false;
    let mut header = false;
    for line in text.lines() {
        let is_meta = line.starts_with('#');
        if !versioned && !is_meta {
            out.push_str(VERSION_LINE);
            out.push('\n');
            versioned = true;
        }
        if !header && !is_meta {
            out.push_str(COLUMNS_LINE);
            out.push('\n');
            header = true;
        }
        out.push_str(line);
        out.push('\n');
        if !versioned && line.starts_with("#kbench") {
            out.push_str(VERSION_LINE);
            out.push('\n');
            versioned = true;
        }
    }
    if !header {
        if !versioned {
            out.push_str(VERSION_LINE);
            out.push('\n');
        }
        out.push_str(COLUMNS_LINE);
        out.push('\n');
    }
    out.into_bytes()
}

/// One histogram read back from an interval log.
pub struct Entry {
    pub tag: Option<String>,
    /// Start of the interval, relative to the log's base time.
    pub start: Duration,
    pub hist: Hist,
}

/// An interval log that does not read.
#[derive(Debug, thiserror::Error)]
pub enum HlogError {
    #[error("invalid interval log: {0}")]
    Log(String),
    #[error(transparent)]
    Hist(#[from] hist::HistError),
}

/// Reads an interval log (the base and start times, and every interval histogram).
pub fn read(bytes: &[u8]) -> Result<(Option<SystemTime>, Vec<Entry>), HlogError> {
    let mut base = None;
    let mut out = Vec::new();
    for item in IntervalLogIterator::new(bytes) {
        match item.map_err(|e| HlogError::Log(format!("{e:?}")))? {
            LogEntry::BaseTime(t) | LogEntry::StartTime(t) => base = base.or(Some(UNIX_EPOCH + t)),
            LogEntry::Interval(h) => out.push(Entry {
                tag: h.tag().map(|t| t.as_str().to_string()),
                start: h.start_timestamp(),
                hist: hist::decode(h.encoded_histogram())?,
            }),
        }
    }
    Ok((base, out))
}
