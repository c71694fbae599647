//! A tansu broker (a real, Kafka-compatible broker process) for tests: started on a free loopback
//! port with in-memory storage, stopped when dropped. The tansu tests are optional (its first build
//! takes 12-25 minutes): they run with KBENCH_REQUIRE_TANSU=1 after `scripts/tansu.sh install`,
//! and skip with a message otherwise. Everything they check is also checked on Kafka.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

pub struct Tansu {
    child: Child,
    pub port: u16,
}

/// The tansu binary: $KBENCH_TANSU, on PATH, or in ~/.cargo/bin.
fn binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("KBENCH_TANSU") {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var("HOME").map(PathBuf::from).ok();
    std::env::var("PATH")
        .ok()
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain(home.map(|h| h.join(".cargo/bin")))
        .map(|d| d.join("tansu"))
        .find(|p| p.is_file())
}

/// A free loopback port (bound, read and released).
pub fn free_port() -> u16 {
    let [port] = super::free_ports();
    port
}

/// Waits until something accepts connections on the port.
pub fn wait_for_port(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "nothing listens on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Tansu {
    /// Starts a broker advertising `advertised` (default: its own port), or `None` (skip) when
    /// tansu is missing and not required.
    pub fn start(advertised: Option<u16>, extra: &[&str]) -> Option<Tansu> {
        let test = std::thread::current()
            .name()
            .unwrap_or("a tansu test")
            .to_string();
        if std::env::var("KBENCH_REQUIRE_TANSU").map_or(true, |v| v != "1") {
            super::skipped(
                &test,
                "the tansu tests run with KBENCH_REQUIRE_TANSU=1 (after scripts/tansu.sh install); the Kafka tests cover the same behaviour",
            );
            return None;
        }
        let Some(bin) = binary() else {
            panic!("tansu is required but not installed: run scripts/tansu.sh install");
        };
        // Never the advertised port (a TLS proxy binds that one later).
        let port = loop {
            let p = free_port();
            if advertised != Some(p) {
                break p;
            }
        };
        let adv = advertised.unwrap_or(port);
        let child = Command::new("timeout")
            .arg("600")
            .arg(bin)
            .arg("broker")
            .arg("--listener-url")
            .arg(format!("tcp://127.0.0.1:{port}"))
            .arg("--advertised-listener-url")
            .arg(format!("tcp://127.0.0.1:{adv}"))
            .args(["--storage-engine", "memory://tansu/"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tansu starts");
        wait_for_port(port);
        Some(Tansu { child, port })
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// Stops a child started under `timeout`: SIGTERM, which `timeout` passes on to the command (a
/// SIGKILL would end `timeout` alone and leave the command running).
pub fn terminate(child: &mut Child) {
    // SAFETY: sends a signal to a process this test started and has not reaped yet.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let _ = child.wait();
}

/// A child under `timeout` that is terminated when dropped, also when a test panics.
pub struct Terminated(pub Child);

impl Drop for Terminated {
    fn drop(&mut self) {
        terminate(&mut self.0);
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

/// How long a read-back may take in all: far more than any machine needs for a few thousand
/// messages, so only a reader that is really stuck reaches it.
const READ_BACK_BOUND: Duration = Duration::from_secs(120);
/// A consumer that has seen nothing new for this long is replaced by a fresh one, assigned at the
/// first offset still missing in each partition.
const STALL: Duration = Duration::from_secs(3);

/// Reads the topic back and counts distinct (partition, offset) pairs: what actually landed
/// (tansu's end offsets are wrong, so watermarks cannot tell). Reads every partition until
/// `expect` are seen, or [`READ_BACK_BOUND`] passes. A stalled consumer is replaced (a fetcher
/// can sit in a back-off or have been reset past messages), and each new one starts at the first
/// gap of every partition, so what was missed is read again; duplicates are counted once.
pub fn count_landed(bootstrap: &str, topic: &str, partitions: u32, expect: usize) -> usize {
    let deadline = Instant::now() + READ_BACK_BOUND;
    let mut seen: Vec<std::collections::BTreeSet<i64>> =
        vec![Default::default(); partitions as usize];
    let total =
        |seen: &[std::collections::BTreeSet<i64>]| seen.iter().map(|s| s.len()).sum::<usize>();
    let mut readers = 0;
    while total(&seen) < expect && Instant::now() < deadline {
        readers += 1;
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", format!("kbench-test-reader-{readers}"))
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("isolation.level", "read_uncommitted")
            .set("fetch.wait.max.ms", "100")
            .create()
            .expect("consumer");
        let mut tpl = TopicPartitionList::new();
        for (p, offsets) in seen.iter().enumerate() {
            // The first offset not seen yet (offsets of a fresh topic start at 0).
            let gap = (0..).find(|o| !offsets.contains(o)).unwrap_or(0);
            tpl.add_partition_offset(topic, p as i32, Offset::Offset(gap))
                .unwrap();
        }
        consumer.assign(&tpl).unwrap();
        let mut last_new = Instant::now();
        while total(&seen) < expect && last_new.elapsed() < STALL && Instant::now() < deadline {
            match consumer.poll(Duration::from_millis(200)) {
                Some(Ok(m)) if seen[m.partition() as usize].insert(m.offset()) => {
                    last_new = Instant::now();
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => eprintln!("read-back of {topic}: {e}"),
                None => {}
            }
        }
    }
    let n = total(&seen);
    if n < expect {
        let per: Vec<usize> = seen.iter().map(|s| s.len()).collect();
        eprintln!("read-back of {topic}: {n} of {expect} after {readers} reader(s); per partition {per:?}");
    }
    n
}
