//! kbench.engine/v1 on the wire (docs/engines.md): the lines kbench writes to an engine's standard
//! input, and the parser of the lines it answers with. The parser treats its input as untrusted:
//! any line it does not understand is an [`ProtocolError`], never a panic.

/// The protocol's name and version; the first line's `protocol` field.
pub const PROTOCOL: &str = "kbench.engine/v1";

/// The most bytes of a line kbench reads from an engine (a longer one is an error).
pub const MAX_LINE: usize = 64 * 1024;

/// A message's id: its worker's sync slot in the top bits, the worker's message number below.
pub fn message_id(slot: usize, n: u64) -> u64 {
    ((slot as u64) << 40) | (n & ((1 << 40) - 1))
}

/// The sync slot of a message id.
pub fn slot_of(id: u64) -> usize {
    (id >> 40) as usize
}

/// Where a message's bytes are: a slice of the pool sent once, or inline.
pub enum Payload<'a> {
    Pool { offset: usize, len: usize },
    Inline(&'a [u8]),
}

/// One message line: `M id due slot topic partition key offset len` (a slice of the pool) or
/// `B id due slot topic partition key base64` (inline). `key` is hex, `-` for none; `partition`
/// is -1 when the engine's partitioner chooses.
#[allow(clippy::too_many_arguments)]
pub fn message_line(
    out: &mut Vec<u8>,
    id: u64,
    due_us: u64,
    slot: usize,
    topic: usize,
    partition: Option<i32>,
    key: Option<&[u8]>,
    payload: Payload<'_>,
) {
    use std::io::Write as _;
    let tag = match payload {
        Payload::Pool { .. } => 'M',
        Payload::Inline(_) => 'B',
    };
    let _ = write!(
        out,
        "{tag} {id} {due_us} {slot} {topic} {} ",
        partition.unwrap_or(-1)
    );
    match key {
        Some(k) if !k.is_empty() => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            for b in k {
                out.extend_from_slice(&[HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
            }
        }
        _ => out.push(b'-'),
    }
    match payload {
        Payload::Pool { offset, len } => {
            let _ = writeln!(out, " {offset} {len}");
        }
        Payload::Inline(bytes) => {
            use base64::Engine as _;
            let mut text = String::with_capacity(bytes.len() * 4 / 3 + 4);
            base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut text);
            out.push(b' ');
            out.extend_from_slice(text.as_bytes());
            out.push(b'\n');
        }
    }
}

/// What an engine answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `R {json}`: the producer is up (or, with `check_only`, the configuration resolved).
    Ready(serde_json::Value),
    /// `A id due enq_ns done_ns topic bytes partition`: acknowledged.
    Acked(Outcome, i32),
    /// `N id due enq_ns done_ns topic bytes NAME`: failed; NAME is `k<Kafka code>` or a
    /// librdkafka local error name (`_TIMED_OUT`).
    Failed(Outcome, String),
    /// `U id due enq_ns 0 topic bytes queued|in_flight`: no answer when the finish's grace ended.
    Unresolved(Outcome, bool),
    /// `V client-error text`: something the engine's client said, kept as an event.
    Event(String),
    /// `E {json}`: the end, with the engine's CPU seconds and peak RSS.
    End(serde_json::Value),
    /// `X kind text`: the engine cannot go on (`config`, `cluster` or `protocol`).
    Fatal { kind: String, message: String },
}

/// The instants and place of one message's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub id: u64,
    pub due_us: u64,
    /// When the engine's client took it (ns, CLOCK_MONOTONIC); 0 if it never did.
    pub enqueue_ns: u64,
    /// When the answer came (ns, CLOCK_MONOTONIC); 0 for an unresolved message.
    pub done_ns: u64,
    pub topic: u32,
    /// Payload and key bytes.
    pub bytes: u64,
}

/// A line kbench cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable line from the engine: {0}")]
pub struct ProtocolError(pub String);

/// Parses one line (without its line end).
pub fn parse(line: &str) -> Result<Reply, ProtocolError> {
    let bad = |why: &str| ProtocolError(format!("{why}: {:?}", truncate(line)));
    let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
    match tag {
        "R" | "E" => {
            let v: serde_json::Value = serde_json::from_str(rest).map_err(|_| bad("not JSON"))?;
            if !v.is_object() {
                return Err(bad("not a JSON object"));
            }
            Ok(if tag == "R" {
                Reply::Ready(v)
            } else {
                Reply::End(v)
            })
        }
        "V" => Ok(Reply::Event(
            rest.strip_prefix("client-error ").unwrap_or(rest).into(),
        )),
        "X" => {
            let (kind, message) = rest.split_once(' ').unwrap_or((rest, ""));
            Ok(Reply::Fatal {
                kind: kind.into(),
                message: message.into(),
            })
        }
        "A" | "N" | "U" => outcome(tag, rest).ok_or_else(|| bad("malformed outcome")),
        _ => Err(bad("unknown line")),
    }
}

fn outcome(tag: &str, rest: &str) -> Option<Reply> {
    let mut f = [""; 7];
    let mut parts = rest.split(' ');
    for slot in f.iter_mut() {
        *slot = parts.next()?;
    }
    if parts.next().is_some() {
        return None;
    }
    let num = |i: usize| f[i].parse::<u64>().ok();
    let o = Outcome {
        id: num(0)?,
        due_us: num(1)?,
        enqueue_ns: num(2)?,
        done_ns: num(3)?,
        topic: u32::try_from(num(4)?).ok()?,
        bytes: num(5)?,
    };
    match tag {
        "A" => Some(Reply::Acked(o, f[6].parse().ok()?)),
        "N" => {
            let name = f[6];
            let ok = !name.is_empty()
                && name.len() <= 64
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            ok.then(|| Reply::Failed(o, name.into()))
        }
        _ => match f[6] {
            "queued" => Some(Reply::Unresolved(o, true)),
            "in_flight" => Some(Reply::Unresolved(o, false)),
            _ => None,
        },
    }
}

/// The error name kbench counts an engine's failure under: `k<code>` is Kafka's error of that
/// code, a librdkafka local name (`_TIMED_OUT`) is itself; anything else is `_FAIL`.
pub fn error_name(name: &str) -> &'static str {
    use crate::kafka_error;
    if let Some(code) = name.strip_prefix('k').and_then(|c| c.parse::<i32>().ok()) {
        return match rdkafka::types::RDKafkaRespErr::try_from(code) {
            Ok(code) if code as i32 > 0 => kafka_error::error_name(code.into()),
            _ => "UNKNOWN",
        };
    }
    match kafka_error::error_code(name) {
        Some(code) if name.starts_with('_') => kafka_error::error_name(code.into()),
        _ => "_FAIL",
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(120) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines made of the protocol's own pieces, shuffled: the parser never panics (the fuzz
    /// target `engine_reply` does the same with arbitrary bytes).
    #[test]
    fn random_lines_never_panic() {
        let pieces = [
            "A",
            "N",
            "U",
            "R",
            "E",
            "V",
            "X",
            "1",
            "0",
            "-1",
            "18446744073709551616",
            "k19",
            "queued",
            "in_flight",
            "{",
            "}",
            "{}",
            " ",
            "",
            "é",
            "\u{0}",
            "_TIMED_OUT",
        ];
        let mut rng = crate::rng::Rng::new(7);
        for _ in 0..20_000 {
            let n = (rng.next_u64() % 10) as usize;
            let line: Vec<&str> = (0..n)
                .map(|_| pieces[(rng.next_u64() % pieces.len() as u64) as usize])
                .collect();
            let line = line.join(" ");
            let _ = parse(&line);
            let _ = error_name(&line);
        }
    }

    #[test]
    fn lines_round_trip_and_garbage_is_an_error() {
        let mut out = Vec::new();
        let id = message_id(3, 41);
        message_line(
            &mut out,
            id,
            1_500,
            3,
            0,
            None,
            Some(b"k\x01"),
            Payload::Pool { offset: 7, len: 9 },
        );
        message_line(&mut out, 2, 9, 0, 1, Some(2), None, Payload::Inline(b"hi"));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("M {id} 1500 3 0 -1 6b01 7 9\nB 2 9 0 1 2 - aGk=\n")
        );
        assert_eq!(slot_of(id), 3);
        let acked = parse(&format!("A {id} 1500 10 20 0 100 4")).unwrap();
        let o = Outcome {
            id,
            due_us: 1_500,
            enqueue_ns: 10,
            done_ns: 20,
            topic: 0,
            bytes: 100,
        };
        assert_eq!(acked, Reply::Acked(o, 4));
        let failed = parse("N 1 2 3 4 0 9 k19").unwrap();
        assert!(matches!(failed, Reply::Failed(o, name) if o.bytes == 9 && name == "k19"));
        assert!(matches!(
            parse("U 1 2 0 0 0 9 queued"),
            Ok(Reply::Unresolved(_, true))
        ));
        assert_eq!(error_name("k19"), "NOT_ENOUGH_REPLICAS");
        assert_eq!(error_name("_TIMED_OUT"), "_TIMED_OUT");
        assert_eq!(error_name("k-5"), "UNKNOWN");
        assert_eq!(error_name("whatever"), "_FAIL");
        for garbage in [
            "",
            "A",
            "A 1 2 3",
            "A x 2 3 4 0 1 1",
            "A 1 2 3 4 0 1 1 1",
            "N 1 2 3 4 0 1 bad name",
            "N 1 2 3 4 0 1 a;b",
            "U 1 2 0 0 0 1 lost",
            "R not json",
            "R [1]",
            "Z 1",
            "A 1 2 3 4 99999999999 1 1",
        ] {
            assert!(parse(garbage).is_err(), "{garbage:?}");
        }
    }
}
