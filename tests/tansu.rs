//! Against a real broker process (tansu, Kafka-compatible): counts checked against what landed,
//! topic management, TLS through stunnel, SASL, and secrets kept out of every output.
//! Optional: these run with KBENCH_REQUIRE_TANSU=1 (after `scripts/tansu.sh install`) and skip with
//! a message otherwise; tests/kafka.rs checks the same behaviour on Apache Kafka. tansu is a single
//! node: acks=all cannot differ from acks=1 on it.

mod common;

use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::tansu::{count_landed, free_port, wait_for_port, Tansu, Terminated};
use common::{assert_accounted, run, scenario};

fn kbench() -> Command {
    Command::cargo_bin("kbench").expect("binary built")
}

fn base(bootstrap: &str, topic: &str) -> String {
    format!(
        r#"
name = "tansu"
[cluster]
bootstrap = "{bootstrap}"
connect_timeout = "10s"
[topic]
name = "{topic}"
partitions = 3
replication = 1
[producer]
workers = 2
linger = "2ms"
"#
    )
}

#[test]
fn acked_equals_what_landed_for_every_codec_and_acks() {
    let Some(t) = Tansu::start(None, &[]) else {
        return;
    };
    let codecs = ["none", "gzip", "snappy", "lz4", "zstd"];
    let cases = ["1", "all"]
        .into_iter()
        .flat_map(|a| codecs.into_iter().map(move |c| (a, c)));
    for (acks, codec) in cases {
        let topic = format!("landed-{acks}-{codec}");
        let s = scenario(
            &base(&t.bootstrap(), &topic),
            &[
                "load.messages=1500",
                &format!("producer.acks={acks}"),
                &format!("producer.compression={codec}"),
                "message.compressibility=0.5",
                "message.keys=random",
            ],
        );
        let r = run(&s);
        assert_accounted(&r);
        assert_eq!(r.broker.kind, kbench::result::BrokerKind::External);
        assert_eq!(r.counts.acked, 1500, "acks={acks} {codec}: {:?}", r.errors);
        let landed = count_landed(&t.bootstrap(), &topic, 3, 1500);
        assert_eq!(landed, 1500, "acks={acks} compression={codec}");
        if acks == "all" {
            assert!(
                r.notes.iter().any(|n| n.contains("replication factor 1")),
                "{:?}",
                r.notes
            );
        }
    }
}

#[test]
fn topics_are_created_checked_and_refused() {
    let Some(t) = Tansu::start(None, &[]) else {
        return;
    };
    let text = base(&t.bootstrap(), "made-by-kbench");
    // Created through the admin API, with its partitions and configs.
    let r = run(&scenario(
        &text,
        &[
            "load.messages=100",
            "topic.partitions=4",
            "topic.configs={ \"retention.ms\" = \"600000\" }",
        ],
    ));
    assert_eq!(r.broker.partitions, 4);
    assert_eq!(r.counts.acked, 100);
    // It exists now: another partition count is a warning naming both counts.
    let r = run(&scenario(
        &text,
        &["load.messages=100", "topic.partitions=2"],
    ));
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("has 4 partitions, the scenario asks for 2")),
        "{:?}",
        r.notes
    );
    // create = false and missing: exit 3 before any load, naming the topic.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.toml");
    std::fs::write(
        &path,
        format!("{}\n", base(&t.bootstrap(), "not-there"))
            .replace("replication = 1\n", "replication = 1\ncreate = false\n"),
    )
    .unwrap();
    let out = kbench()
        .arg("run")
        .arg(&path)
        .args(["--out"])
        .arg(dir.path().join("out"))
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("topic \"not-there\" does not exist and [topic] create = false"),
        "{stderr}"
    );
    assert!(!dir.path().join("out").exists(), "no load, no result");
}

/// A throwaway CA and a server certificate for 127.0.0.1, made with the openssl CLI.
fn certificates(dir: &Path, ca_name: &str) {
    let sh = |args: &str| {
        let ok = StdCommand::new("sh")
            .arg("-c")
            .arg(args)
            .current_dir(dir)
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "{args}");
    };
    sh(&format!(
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout {ca_name}.key -out {ca_name}.pem -days 1 -subj /CN={ca_name}"
    ));
    if ca_name == "ca" {
        sh("openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1");
        sh("printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1 -extfile ext.cnf");
    }
}

/// stunnel terminating TLS on `tls_port` in front of the broker's plaintext port.
fn stunnel(dir: &Path, tls_port: u16, broker_port: u16) -> Terminated {
    let conf = dir.join("stunnel.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\npid =\n[kafka]\naccept = 127.0.0.1:{tls_port}\nconnect = 127.0.0.1:{broker_port}\ncert = {}\nkey = {}\n",
            dir.join("server.pem").display(),
            dir.join("server.key").display()
        ),
    )
    .unwrap();
    let bin = ["stunnel4", "stunnel"]
        .into_iter()
        .find(|b| {
            StdCommand::new("sh")
                .arg("-c")
                .arg(format!("command -v {b}"))
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .expect("stunnel is installed (scripts/test.sh installs Debian's stunnel4)");
    let child = StdCommand::new("timeout")
        .args(["600", bin])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = Terminated(child);
    wait_for_port(tls_port);
    child
}

#[test]
fn tls_through_stunnel_and_a_wrong_ca_fails_fast() {
    let tls_port = free_port();
    // The broker advertises the TLS port, so every connection goes through stunnel.
    let Some(t) = Tansu::start(Some(tls_port), &[]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path(), "ca");
    certificates(dir.path(), "other-ca");
    let tunnel = stunnel(dir.path(), tls_port, t.port);
    let scenario_with = |ca: &str| {
        let path = dir.path().join(format!("tls-{ca}.toml"));
        let text = base(&format!("127.0.0.1:{tls_port}"), "over-tls")
            .replace("connect_timeout = \"10s\"", "connect_timeout = \"5s\"")
            + &format!("[cluster.security]\nprotocol = \"SSL\"\nca = \"{ca}.pem\"\n");
        std::fs::write(&path, text).unwrap();
        path
    };
    let path = scenario_with("ca");
    let origin = kbench::plan::Origin::File(&path);
    let s = kbench::plan::load(origin, &["load.messages=500".into()], None)
        .unwrap()
        .scenario();
    let r = run(&s);
    assert_eq!(r.counts.acked, 500, "{:?}", r.events);
    // The certificate path in the spec is resolved next to the scenario file.
    let sec = r.spec.cluster.security.as_ref().unwrap();
    assert!(sec.ca.as_ref().unwrap().ends_with("ca.pem"));

    let start = Instant::now();
    let out = kbench()
        .arg("run")
        .arg(scenario_with("other-ca"))
        .args(["--set", "load.messages=10", "--out"])
        .arg(dir.path().join("out"))
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    drop(tunnel);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert!(stderr.contains("certificate verify failed"), "{stderr}");
}

#[test]
fn sasl_credentials_reach_the_broker_and_stay_secret() {
    let Some(t) = Tansu::start(None, &["--authentication"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sasl.toml");
    std::fs::write(
        &path,
        base(&t.bootstrap(), "sasl").replace("connect_timeout = \"10s\"", "connect_timeout = \"5s\"")
            + "[cluster.security]\nprotocol = \"SASL_PLAINTEXT\"\nmechanism = \"SCRAM-SHA-512\"\nusername = \"bench\"\npassword = { env = \"KBENCH_TEST_SASL_PASSWORD\" }\n",
    )
    .unwrap();
    let secret = "s3cret-do-not-print-7f1c";
    let out = kbench()
        .arg("run")
        .arg(&path)
        .args(["--set", "load.messages=10", "--out"])
        .arg(dir.path().join("out"))
        .env("KBENCH_TEST_SASL_PASSWORD", secret)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // tansu knows no user "bench" (with --authentication, creating one needs an authenticated
    // client, and memory storage does not outlive a restart): the SCRAM exchange is refused.
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.to_lowercase().contains("authenticat") || stderr.contains("SASL"),
        "{stderr}"
    );
    assert!(!stderr.contains(secret) && !stdout.contains(secret));
}

#[test]
fn transactions_on_tansu_stop_with_a_clear_error() {
    let Some(t) = Tansu::start(None, &[]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tx.toml");
    std::fs::write(
        &path,
        base(&t.bootstrap(), "tx")
            + "acks = \"all\"\nidempotence = true\ntransaction = { messages = 100 }\n[load]\nmessages = 500\n",
    )
    .unwrap();
    let start = Instant::now();
    let out = kbench()
        .arg("run")
        .arg(&path)
        .args(["--no-charts", "--out"])
        .arg(dir.path().join("out"))
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // tansu 0.6 answers InitProducerId but not EndTxn: kbench stops sending and says why.
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("transactions stopped"), "{stderr}");
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "no hang: {:?}",
        start.elapsed()
    );
}
