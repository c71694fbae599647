//! Cross-field checks, run before anything connects, and the defaults that depend on other keys or
//! on the machine (workers, acks). Single values were already checked while typing the file; these
//! are the rules that need two keys (or a key and the embedded broker) to judge.

use std::path::Path;

use super::{Acks, Arrivals, InputError, Keys, Mode, Scenario, SizeDist, Source, StopCondition};
use crate::input::FieldError;

/// `queue.buffering.max.messages` per instance at `rate = "max"` on the embedded broker unless
/// set.
pub const UNPACED_QUEUE_MESSAGES: u32 = 25_000;
/// A worker count above this is a typo, not a benchmark.
const MAX_WORKERS: u32 = 4096;

/// Checks a typed scenario and fills the defaults that depend on other keys; returns the
/// warnings (`file: message`) for the command to print once.
pub fn validate(s: &mut Scenario, src: &Source) -> Result<Vec<String>, InputError> {
    let at = |e: FieldError| src.key_error(&e.key, e.message);
    check_name(&s.name).map_err(at)?;
    let base = src.path.parent().unwrap_or(Path::new("")).to_path_buf();
    let warnings = check_cluster(&mut s.cluster, &base).map_err(at)?;
    check_topic(s).map_err(at)?;
    producer_defaults(s).map_err(at)?;
    check_producer(&s.producer, s.topic.partitions).map_err(at)?;
    check_message(s, src)
        .map_err(FieldError::from)
        .map_err(at)?;
    check_sections(s).map_err(at)?;
    super::engine::check(s).map_err(at)?;
    check_load(s).map_err(at)?;
    let file = src.path.display();
    Ok(warnings.iter().map(|w| format!("{file}: {w}")).collect())
}

type Checked = Result<(), FieldError>;

fn fail(key: &str, message: impl Into<String>) -> Checked {
    Err(FieldError::new(key, message))
}

fn check_name(name: &str) -> Checked {
    if name.trim().is_empty() {
        return fail("name", "must not be empty");
    }
    if name.contains(['/', '\\']) {
        return fail(
            "name",
            format!("must not contain a path separator, found {name:?}"),
        );
    }
    Ok(())
}

/// `[cluster]`, and its security (paths resolved against `base`): returns the warnings.
fn check_cluster(c: &mut super::Cluster, base: &Path) -> Result<Vec<String>, FieldError> {
    if let Some(b) = &c.bootstrap {
        if b.trim().is_empty() {
            return Err(FieldError::new(
                "cluster.bootstrap",
                "must not be empty (leave it out for the embedded broker)",
            ));
        }
    }
    if c.is_embedded() && !(1..=16).contains(&c.brokers) {
        let found = c.brokers;
        return Err(FieldError::new(
            "cluster.brokers",
            format!("expected 1 to 16 brokers, found {found}"),
        ));
    }
    if c.connect_timeout.0.is_zero() {
        return Err(FieldError::new(
            "cluster.connect_timeout",
            "must be greater than 0",
        ));
    }
    let embedded = c.is_embedded();
    let Some(sec) = &mut c.security else {
        return Ok(Vec::new());
    };
    let warnings = sec.check(base)?;
    if embedded && sec.protocol != super::security::Protocol::Plaintext {
        return Err(FieldError::new(
            "cluster.security.protocol",
            "the embedded broker has no TLS or SASL: set cluster.bootstrap",
        ));
    }
    Ok(warnings)
}

/// Property names of `[cluster]` and `[producer]`, and `[topic]`.
fn check_topic(s: &Scenario) -> Checked {
    for key in s
        .cluster
        .properties
        .keys()
        .chain(s.producer.properties.keys())
    {
        if key.trim().is_empty() || key.contains(char::is_whitespace) {
            return fail(
                "producer.properties",
                format!("invalid librdkafka property name {key:?}"),
            );
        }
    }
    let t = &s.topic;
    super::topics::check(&t.name, t.count, &t.distribution)?;
    let longest = t.name.replace("{i}", &(t.count - 1).to_string());
    if longest.is_empty()
        || longest.len() > 249
        || !longest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return fail(
            "topic.name",
            format!(
                "expected 1-249 characters of [a-zA-Z0-9._-], found {:?}",
                t.name
            ),
        );
    }
    if t.partitions == 0 {
        return fail("topic.partitions", "expected at least 1 partition, found 0");
    }
    if t.replication == 0 {
        return fail("topic.replication", "expected at least 1, found 0");
    }
    if s.cluster.is_embedded() && t.replication > s.cluster.brokers {
        return fail(
            "topic.replication",
            format!(
                "the embedded cluster has {} brokers, so replication {} is impossible",
                s.cluster.brokers, t.replication
            ),
        );
    }
    Ok(())
}

/// The producer's defaults that depend on other keys: workers, instances, the queue at an
/// unpaced rate, acks.
fn producer_defaults(s: &mut Scenario) -> Checked {
    // A capacity search paces every probe, whatever `load.rate` says.
    let unpaced =
        s.load.profile.is_empty() && s.load.rate.per_sec().is_none() && s.capacity.is_none();
    let bulky = mean_payload(&s.message).is_some_and(|b| b >= BULKY_PAYLOAD);
    let p = &mut s.producer;
    if p.instances == Some(0) {
        return fail("producer.instances", "expected at least 1, found 0");
    }
    let workers = match p.workers {
        Some(0) => return fail("producer.workers", "expected at least 1, found 0"),
        Some(w) if w > MAX_WORKERS => {
            return fail(
                "producer.workers",
                format!("expected at most {MAX_WORKERS}, found {w}"),
            )
        }
        Some(w) => w,
        None => match p.mode {
            Mode::Sync => 4,
            // Unpaced with big payloads, librdkafka's sending threads (copying the bytes) need
            // half the CPUs (measured: docs/performance.md).
            _ if unpaced && bulky => (available_cpus() / 2).max(1),
            _ => available_cpus().max(p.instances.unwrap_or(1)),
        },
    };
    let instances = match p.instances {
        Some(n) => n,
        None if unpaced && p.mode != Mode::Sync => workers,
        None => 1,
    };
    if workers < instances {
        return fail(
            "producer.workers",
            format!("{workers} workers cannot drive {instances} instances: give at least one worker per instance"),
        );
    }
    p.workers = Some(workers);
    p.instances = Some(instances);
    if unpaced && p.mode != Mode::Sync && p.queue_messages.is_none() && s.cluster.is_embedded() {
        // Unpaced, the local queue is always full: its size is the run's memory, and every
        // queued message waits its turn (service latency). On the embedded broker, which shares
        // the process, 25k gave the most throughput with the least memory (docs/performance.md).
        // On a real cluster the queue also bounds what is in flight (Little's
        // law: at 1 KiB and acks=all on the 3-node Kafka, 25k held kbench to ~110k msg/s where
        // librdkafka's own 100k made ~170k), so there librdkafka's default stays.
        p.queue_messages = Some(UNPACED_QUEUE_MESSAGES);
    }
    let acks = match (p.mode, p.acks) {
        (Mode::FireAndForget, None | Some(Acks::None)) => Acks::None,
        (Mode::FireAndForget, Some(a)) => {
            return fail(
                "producer.acks",
                format!("fire-and-forget mode means acks = 0, found {a} (use mode = \"async\" to wait for acks)"),
            )
        }
        (_, Some(a)) => a,
        (_, None) => Acks::All,
    };
    p.acks = Some(acks);
    Ok(())
}

/// The `[producer]` rules between keys (after [`producer_defaults`]).
fn check_producer(p: &super::Producer, partitions: u32) -> Checked {
    let acks = p.acks.unwrap_or(Acks::All);
    if p.idempotence && acks != Acks::All {
        return fail(
            "producer.acks",
            format!("idempotence requires acks = all, found {acks}"),
        );
    }
    if p.sync_batch == 0 || p.sync_batch > 100_000 {
        return fail(
            "producer.sync_batch",
            format!("expected 1 to 100000, found {}", p.sync_batch),
        );
    }
    if p.sync_batch > 1 && p.mode != Mode::Sync {
        return fail(
            "producer.sync_batch",
            format!(
                "a batch a worker waits for needs producer.mode = \"sync\", found {:?}",
                p.mode.to_string()
            ),
        );
    }
    if let Some(t) = &p.transaction {
        super::transaction::check(t, p.mode, acks, p.idempotence)?;
    }
    if p.idempotence && p.max_in_flight > 5 {
        return fail(
            "producer.max_in_flight",
            format!(
                "idempotence allows at most 5 in-flight requests, found {}",
                p.max_in_flight
            ),
        );
    }
    if p.message_timeout.0 < p.linger.0 {
        return fail(
            "producer.message_timeout",
            format!(
                "must be at least linger ({}), found {}",
                p.linger, p.message_timeout
            ),
        );
    }
    if p.linger.0.as_millis() > 900_000 {
        return fail(
            "producer.linger",
            format!("expected at most 900s, found {}", p.linger),
        );
    }
    if p.batch_size.0 == 0 {
        return fail("producer.batch_size", "expected at least 1 byte, found 0");
    }
    for (key, zero) in [
        ("producer.max_in_flight", p.max_in_flight == 0),
        ("producer.batch_messages", p.batch_messages == Some(0)),
        ("producer.queue_messages", p.queue_messages == Some(0)),
    ] {
        if zero {
            return fail(key, "expected at least 1, found 0");
        }
    }
    if let super::Partitioner::Manual(n) = p.partitioner {
        if n >= partitions {
            return fail(
                "producer.partitioner",
                format!(
                    "manual partition {n} does not exist: the topic has {partitions} partitions (0..{})",
                    partitions - 1
                ),
            );
        }
    }
    Ok(())
}

/// `[consume]`, `[gate]`, `[[faults]]`, `[capacity]` and `[experiment]`, each by its own rules.
fn check_sections(s: &Scenario) -> Checked {
    if let Some(c) = &s.consume {
        let smallest = match (&s.message.payload, &s.message.size) {
            (Some(_), _) => None,
            (None, SizeDist::Fixed(b)) => Some(b.0),
            (None, SizeDist::Uniform { min, .. }) => Some(min.0),
            _ => None,
        };
        super::consume::check(c, smallest)?;
    }
    super::gate::check_spec(&s.gate)?;
    super::fault::check(&s.faults, s.cluster.is_embedded(), s.cluster.brokers)?;
    if let Some(c) = &s.capacity {
        c.check()?;
    }
    if s.experiment.as_ref().is_some_and(|e| e.repeat == 0) {
        return fail("experiment.repeat", "expected at least 1, found 0");
    }
    Ok(())
}

/// `[load]`: how long, how many, how fast, and its profile.
fn check_load(s: &Scenario) -> Checked {
    let l = &s.load;
    if l.duration.is_some() && l.messages.is_some() {
        return fail(
            "load.messages",
            "give either load.duration or load.messages, not both",
        );
    }
    if l.duration.is_some_and(|d| d.0.is_zero()) {
        return fail("load.duration", "must be greater than 0");
    }
    if l.timeout.0.is_zero() {
        return fail("load.timeout", "must be greater than 0");
    }
    if l.messages == Some(0) {
        return fail("load.messages", "expected at least 1 message, found 0");
    }
    if !(1..=100).contains(&l.repeats) {
        return fail(
            "load.repeats",
            format!("expected 1 to 100 repeats, found {}", l.repeats),
        );
    }
    if l.repeats > 1 && (!s.matrix.is_empty() || s.capacity.is_some()) {
        return fail(
            "load.repeats",
            "repeats one run; a sweep repeats its cells with experiment.repeat, and a capacity \
             search confirms its answer itself",
        );
    }
    if l.interval.0.as_millis() < 100 {
        return fail(
            "load.interval",
            format!("expected at least 100ms, found {}", l.interval),
        );
    }
    check_profile(s)?;
    check_run_length(l)?;
    if l.rate.per_sec().is_some_and(|r| r > 100e6) {
        return fail(
            "load.rate",
            format!("expected at most 100M/s, found {}", l.rate),
        );
    }
    Ok(())
}

/// The `[message]` rules; resolves `keys.cardinality` and file paths (relative to the scenario).
fn check_message(s: &mut Scenario, src: &Source) -> Result<(), (String, String)> {
    let fail = |key: &str, m: String| Err((key.to_string(), m));
    let m = &mut s.message;
    if let Some(c) = m.keys.cardinality.take() {
        m.key_cardinality = c;
    }
    if m.key_cardinality == 0 {
        return fail(
            "message.key_cardinality",
            "expected at least 1, found 0".into(),
        );
    }
    if m.key_cardinality > 100_000_000 {
        return fail(
            "message.key_cardinality",
            format!("expected at most 100000000, found {}", m.key_cardinality),
        );
    }
    match m.keys.exponent {
        Some(e) if m.keys.distribution != Keys::Zipf => {
            return fail(
                "message.keys",
                format!("exponent ({e}) only applies to distribution = \"zipf\""),
            )
        }
        Some(e) if !(e > 0.0 && e <= 10.0) => {
            return fail(
                "message.keys",
                format!("expected a zipf exponent above 0 and at most 10, found {e}"),
            )
        }
        _ => {}
    }
    if !(0.0..=1.0).contains(&m.compressibility) {
        return fail(
            "message.compressibility",
            format!(
                "expected a number from 0.0 to 1.0, found {}",
                m.compressibility
            ),
        );
    }
    if m.headers.count > 64 {
        return fail(
            "message.headers",
            format!("expected at most 64 headers, found {}", m.headers.count),
        );
    }
    let base = src.path.parent().unwrap_or(Path::new(""));
    let resolve = |file: &mut String| {
        if Path::new(file.as_str()).is_relative() {
            *file = base.join(file.as_str()).display().to_string();
        }
    };
    if let Some(p) = &mut m.payload {
        if m.size != super::Message::default().size {
            return fail(
                "message.payload",
                "a payload file sets the sizes: leave message.size out".into(),
            );
        }
        resolve(&mut p.file);
    }
    if let SizeDist::Histogram { file } = &mut m.size {
        resolve(file);
    }
    let max_bytes = s.max_message_bytes();
    let max_payload = s.max_payload();
    let m = &s.message;
    if let Some(size) = m.size.fixed() {
        if size > max_payload {
            return fail(
                "message.size",
                format!(
                    "{} is larger than max_message_bytes ({max_bytes} bytes) minus key, headers \
                     and framing",
                    m.size
                ),
            );
        }
    }
    // Files named here (corpus, histogram) are read by the plan step (`plan::check_inputs`).
    m.size
        .check()
        .map_err(|e| ("message.size".to_string(), e.0))
}

/// The `load.profile` rules.
fn check_profile(s: &Scenario) -> Result<(), (String, String)> {
    let l = &s.load;
    let fail = |key: &str, m: String| Err((key.to_string(), m));
    if l.arrivals == Arrivals::Poisson && l.profile.is_empty() && l.rate.per_sec().is_none() {
        return fail(
            "load.arrivals",
            "poisson arrivals need a fixed rate or a profile, not rate = \"max\"".into(),
        );
    }
    if l.profile.is_empty() {
        return Ok(());
    }
    if l.rate != crate::units::Rate::Max {
        return fail(
            "load.profile",
            "a profile sets the rates: leave load.rate out".into(),
        );
    }
    if l.duration.is_some() || l.messages.is_some() {
        return fail(
            "load.profile",
            "a profile sets the duration: leave load.duration and load.messages out".into(),
        );
    }
    if s.capacity.is_some() {
        return fail(
            "load.profile",
            "a capacity search sets the rate itself: remove the profile".into(),
        );
    }
    for (i, phase) in l.profile.iter().enumerate() {
        let key = format!("load.profile[{i}]");
        if let Err(e) = phase.rates() {
            return fail(&key, e.0);
        }
        if phase.duration.0.is_zero() {
            return fail(&key, "duration must be greater than 0".into());
        }
    }
    Ok(())
}

/// Mean payload size from which `rate = "max"` leaves half the CPUs to librdkafka.
const BULKY_PAYLOAD: u64 = 512;

/// The mean payload size of a size distribution, when it is known without reading files.
pub(crate) fn mean_payload(m: &super::Message) -> Option<u64> {
    if m.payload.is_some() {
        return None;
    }
    match &m.size {
        SizeDist::Fixed(b) => Some(b.0),
        SizeDist::Uniform { min, max } => Some((min.0 + max.0) / 2),
        SizeDist::Normal { mean, .. } => Some(mean.0),
        SizeDist::Lognormal { median, p99 } => {
            let sigma = (p99.0.max(1) as f64 / median.0.max(1) as f64).ln() / 2.326;
            Some((median.0 as f64 * (sigma * sigma / 2.0).exp()) as u64)
        }
        SizeDist::Histogram { .. } => None,
    }
}

/// CPUs this process may use.
pub fn available_cpus() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

/// The whole run (warm-up, the sending window or `load.timeout`, grace) within [`super::MAX_RUN`],
/// or the key that makes it longer and why.
fn check_run_length(l: &super::Load) -> Result<(), (&'static str, String)> {
    if l.whole_run() <= super::MAX_RUN {
        return Ok(());
    }
    let (key, sending) = match (l.profile.is_empty(), l.stop()) {
        (_, StopCondition::Count(_)) => ("load.timeout", format!("timeout {}", l.timeout)),
        (true, StopCondition::Duration(d)) => (
            "load.duration",
            format!("duration {}", crate::units::Dur(d)),
        ),
        (false, StopCondition::Duration(d)) => {
            ("load.profile", format!("profile {}", crate::units::Dur(d)))
        }
    };
    Err((
        key,
        format!(
            "the whole run (warm-up {} + {sending} + grace {}) is longer than kbench's limit of 12 days",
            l.warmup, l.grace
        ),
    ))
}
