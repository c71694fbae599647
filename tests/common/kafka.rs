//! A real Apache Kafka cluster for tests: `scripts/kafka.sh start 3` in a state directory of its
//! own. `shared()` gives every test of a binary the same cluster, one test at a time; the script's
//! watcher stops it and deletes its state when the test binary exits. The README's test command installs the jars and sets
//! KBENCH_REQUIRE_KAFKA=1, so a missing Kafka fails there; a plain `cargo test` without it skips
//! these tests and says so.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

pub struct Kafka {
    /// Deleted by the script's watcher, not by a drop.
    state: std::path::PathBuf,
    /// The PLAINTEXT listeners.
    pub bootstrap: String,
}

pub fn installed() -> bool {
    Command::new("bash")
        .args(["scripts/kafka.sh", "install"])
        .output()
        .is_ok_and(|o| o.status.success())
        && Command::new("java").arg("-version").output().is_ok()
}

/// The binary's one 3-node cluster, started by the first test that asks, or `None` (skip). Tests
/// hold it one at a time: some kill and restart nodes.
pub fn shared() -> Option<MutexGuard<'static, Kafka>> {
    static CLUSTER: OnceLock<Option<Mutex<Kafka>>> = OnceLock::new();
    let cluster = CLUSTER
        .get_or_init(|| Kafka::start(3).map(Mutex::new))
        .as_ref()?;
    // A test that failed while holding it leaves it usable for the next.
    Some(
        cluster
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    )
}

impl Kafka {
    /// Starts a cluster of `nodes`, or `None` (skip) when Kafka cannot run here and is not
    /// required. It stops when this process exits.
    pub fn start(nodes: u32) -> Option<Kafka> {
        let required = std::env::var("KBENCH_REQUIRE_KAFKA").is_ok_and(|v| v == "1");
        if !installed() {
            assert!(
                !required,
                "Kafka is required but scripts/kafka.sh install failed"
            );
            super::skipped("kafka", "Java, Maven or the Kafka jars are missing (scripts/kafka.sh install; KBENCH_REQUIRE_KAFKA=1 makes this a failure)");
            return None;
        }
        let state = tempfile::tempdir().expect("tempdir").keep();
        let out = Command::new("bash")
            .args(["scripts/kafka.sh", "start", &nodes.to_string()])
            .env("KBENCH_KAFKA_STATE", &state)
            // SASL_PLAINTEXT (SCRAM-SHA-512) and SSL listeners beside PLAINTEXT.
            .env("KBENCH_KAFKA_SECURE", "1")
            // Bounded even if this process dies without dropping the cluster.
            .env("KBENCH_KAFKA_SECONDS", "1800")
            // Stopped and deleted once this test binary exits (statics are never dropped).
            .env("KBENCH_KAFKA_OWNER", std::process::id().to_string())
            .output()
            .expect("scripts/kafka.sh runs");
        let k = Kafka {
            bootstrap: String::from_utf8_lossy(&out.stdout).trim().to_string(),
            state,
        };
        assert!(
            out.status.success(),
            "scripts/kafka.sh start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(k)
    }

    pub fn state(&self) -> &Path {
        &self.state
    }

    /// A file of the state directory, e.g. `sasl-bootstrap`, `ssl-bootstrap`, `scram-password`.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.state().join(name)).expect("the cluster wrote it")
    }

    /// `scripts/kafka.sh ARGS` on this cluster.
    pub fn sh(&self, args: &[&str]) {
        let out = Command::new("bash")
            .arg("scripts/kafka.sh")
            .args(args)
            .env("KBENCH_KAFKA_STATE", self.state())
            .env("KBENCH_KAFKA_SECONDS", "1800")
            .output()
            .expect("scripts/kafka.sh runs");
        assert!(
            out.status.success(),
            "scripts/kafka.sh {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The argv of an exec fault running `scripts/kafka.sh ARGS` on this cluster.
    pub fn fault_argv(&self, args: &[&str]) -> String {
        let mut argv = vec![
            "env".to_string(),
            format!("KBENCH_KAFKA_STATE={}", self.state().display()),
            "KBENCH_KAFKA_SECONDS=1800".to_string(),
            "scripts/kafka.sh".to_string(),
        ];
        argv.extend(args.iter().map(|a| a.to_string()));
        format!("{argv:?}")
    }

    /// Creates a topic of `partitions` x replication factor 3 through the admin API.
    pub fn create_topic(&self, topic: &str, partitions: i32) {
        use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
        let admin: AdminClient<rdkafka::client::DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .create()
            .expect("admin client");
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(3));
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let results = rt
            .block_on(admin.create_topics([&new], &opts))
            .expect("create_topics");
        for r in results {
            r.unwrap_or_else(|(t, e)| panic!("creating {t}: {e}"));
        }
        self.wait_for(topic, "the new topic's leader", |_, isr| isr == 3);
    }

    /// A topic config's value as the cluster describes it.
    pub fn topic_config(&self, topic: &str, key: &str) -> Option<String> {
        use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
        let admin: AdminClient<rdkafka::client::DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .create()
            .expect("admin client");
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let opts = AdminOptions::new().request_timeout(Some(Duration::from_secs(30)));
        let described = rt
            .block_on(admin.describe_configs([&ResourceSpecifier::Topic(topic)], &opts))
            .expect("describe_configs");
        let resource = described.into_iter().next()?.ok()?;
        resource.get(key)?.value.clone()
    }

    fn consumer(&self) -> BaseConsumer {
        self.consumer_with("read_uncommitted")
    }

    fn consumer_with(&self, isolation: &str) -> BaseConsumer {
        ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("group.id", "kbench-test-kafka")
            .set("enable.auto.commit", "false")
            .set("isolation.level", isolation)
            .create()
            .expect("consumer")
    }

    /// What a read_committed consumer reads of the topic (no open transactions left): the
    /// records of committed transactions, read until every partition's position reaches its end.
    pub fn committed_records(&self, topic: &str, partitions: u32) -> usize {
        let c = self.consumer_with("read_committed");
        let ends = from_the_start(&c, topic, partitions);
        let start = Instant::now();
        let mut read = 0;
        loop {
            if let Some(Ok(_)) = c.poll(Duration::from_millis(200)) {
                read += 1;
                continue;
            }
            let pos = c.position().expect("positions");
            let done = (0..partitions as i32).all(|p| {
                matches!(pos.find_partition(topic, p).map(|e| e.offset()),
                    Some(Offset::Offset(o)) if o >= ends[p as usize])
                    || ends[p as usize] == 0
            });
            if done || start.elapsed() > Duration::from_secs(60) {
                return read;
            }
        }
    }

    /// The leader of a partition and its in-sync replica count.
    pub fn leader_and_isr(&self, topic: &str, partition: i32) -> Option<(i32, usize)> {
        let md = self
            .consumer()
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .ok()?;
        let t = md.topics().iter().find(|t| t.name() == topic)?;
        let p = t.partitions().iter().find(|p| p.id() == partition)?;
        Some((p.leader(), p.isr().len()))
    }

    /// The names of the cluster's topics that start with `prefix`.
    pub fn topics_named(&self, prefix: &str) -> Vec<String> {
        self.consumer()
            .fetch_metadata(None, Duration::from_secs(10))
            .map(|md| {
                md.topics()
                    .iter()
                    .filter(|t| t.name().starts_with(prefix) && t.error().is_none())
                    .map(|t| t.name().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits (bounded) until `f` holds of partition 0's (leader, ISR size) of `topic`.
    pub fn wait_for(&self, topic: &str, what: &str, f: impl Fn(i32, usize) -> bool) {
        let start = Instant::now();
        loop {
            if let Some((leader, isr)) = self.leader_and_isr(topic, 0) {
                if leader >= 0 && f(leader, isr) {
                    return;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "{topic}: {what} did not happen within 90 s"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Reads the whole topic back: how many times each key is in it (keys are unique per message
    /// with `message.keys = "sequential"` over a cardinality above the count). Reads until the
    /// partitions' end offsets (correct on Kafka), bounded at 120 s.
    pub fn keys_in(&self, topic: &str, partitions: u32) -> HashMap<Vec<u8>, u32> {
        let c = self.consumer();
        let ends = from_the_start(&c, topic, partitions);
        let total: i64 = ends.iter().sum();
        let mut read = 0i64;
        let mut keys = HashMap::new();
        let start = Instant::now();
        while read < total && start.elapsed() < Duration::from_secs(120) {
            if let Some(Ok(m)) = c.poll(Duration::from_millis(200)) {
                read += 1;
                *keys
                    .entry(m.key().unwrap_or_default().to_vec())
                    .or_insert(0) += 1;
            }
        }
        assert_eq!(read, total, "{topic}: read {read} of {total} records back");
        keys
    }
}

impl Kafka {
    /// Waits (at most `limit`) until `topic`'s partitions hold `n` records in all, polling their
    /// high watermarks; returns the last total seen.
    pub fn wait_for_records(&self, topic: &str, partitions: u32, n: i64, limit: Duration) -> i64 {
        let c = self.consumer();
        let start = Instant::now();
        loop {
            let total: i64 = (0..partitions as i32)
                .map(|p| {
                    c.fetch_watermarks(topic, p, Duration::from_secs(10))
                        .map_or(0, |(_, high)| high)
                })
                .sum();
            if total >= n || start.elapsed() > limit {
                return total;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The headers (name, value) of the first record of `topic`'s partition 0.
    pub fn first_headers(&self, topic: &str) -> Vec<(String, Vec<u8>)> {
        use rdkafka::message::Headers as _;
        let c = self.consumer();
        from_the_start(&c, topic, 1);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Some(Ok(m)) = c.poll(Duration::from_millis(200)) {
                return m.headers().map_or(Vec::new(), |hs| {
                    hs.iter()
                        .map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec()))
                        .collect()
                });
            }
        }
        panic!("{topic}: no record read from partition 0 in 30 s");
    }
}

/// Assigns every partition of `topic` from its beginning; returns the partitions' end offsets.
fn from_the_start(c: &BaseConsumer, topic: &str, partitions: u32) -> Vec<i64> {
    let mut tpl = TopicPartitionList::new();
    let mut ends = Vec::new();
    for p in 0..partitions as i32 {
        let (_, high) = c
            .fetch_watermarks(topic, p, Duration::from_secs(10))
            .expect("watermarks");
        ends.push(high);
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    c.assign(&tpl).unwrap();
    ends
}
