//! External engines: other Kafka clients driven by the same scenario and measured the same way.
//!
//! kbench keeps one pacing, one payload and key generator, one recorder and one result model; an
//! engine only sends what kbench schedules and answers with what happened. An engine is a small
//! program (`sarama` and `franz-go` in Go, `engines/<name>/` on a shared kit, `engines/kit/`; `java`, a Maven module, `engines/java/`) that kbench builds on first use
//! ([`build`]) and starts once per producer instance. They talk kbench.engine/v1 ([`protocol`],
//! docs/engines.md): a configuration line, the payload pool once, then one line per message;
//! the engine answers one line per message with the instants its client took and answered it
//! (CLOCK_MONOTONIC, the clock kbench reads), so every latency is computed by kbench.
//! `crate::run` starts the processes and reads their answers into the instances' recorders.

pub mod build;
pub mod protocol;

use crate::scenario::engine::Engine;

/// Why an engine cannot run: each names the engine, and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No toolchain (Go; Maven and Java): the engine cannot be built (exit 2, before any load).
    #[error("{}", no_toolchain(*engine))]
    NoToolchain { engine: Engine },
    /// `go build` failed.
    #[error("building the {engine} engine failed: {detail}")]
    Build { engine: Engine, detail: String },
    /// The engine refused the configuration (exit 2).
    #[error("the {engine} engine refused the configuration: {detail}")]
    Config { engine: Engine, detail: String },
    /// The engine could not reach or was refused by the cluster (exit 3).
    #[error("the {engine} engine cannot use the cluster: {detail}")]
    Cluster { engine: Engine, detail: String },
    /// The engine broke the protocol, crashed or hung (exit 1).
    #[error("the {engine} engine failed: {detail}")]
    Failed { engine: Engine, detail: String },
}

/// What to install for an engine.
fn no_toolchain(engine: Engine) -> String {
    match engine {
        Engine::Java => format!("producer.engine = \"{engine}\" is built with Maven and runs on Java 17 or newer, and `mvn` or `java` is not on PATH: install them (Debian's maven and openjdk-17-jdk-headless) and run `kbench engines build {engine}`"),
        _ => format!("producer.engine = \"{engine}\" is built with Go 1.26 or newer, and `go` is not on PATH: install Go (https://go.dev/dl/, or Debian's golang-go) and run `kbench engines build {engine}`"),
    }
}

impl EngineError {
    pub fn build(engine: Engine, detail: String) -> EngineError {
        EngineError::Build { engine, detail }
    }

    /// The exit code: 2 for what the user must change (Go, the configuration), 3 for the
    /// cluster, 1 for the engine itself.
    pub fn exit_code(&self) -> i32 {
        match self {
            EngineError::NoToolchain { .. } | EngineError::Config { .. } => crate::exit::BAD_INPUT,
            EngineError::Cluster { .. } => crate::exit::BROKER,
            EngineError::Build { .. } | EngineError::Failed { .. } => crate::exit::FAILURE,
        }
    }
}

/// What `kbench engines` lists of one engine.
#[derive(Debug, Clone)]
pub struct Listing {
    pub engine: Engine,
    /// The client library and its version.
    pub client: &'static str,
    pub built: Option<std::path::PathBuf>,
}

/// Every engine kbench can drive (librdkafka is in process and always there).
pub fn list() -> Vec<Listing> {
    Engine::ALL
        .into_iter()
        .map(|engine| Listing {
            engine,
            client: match engine {
                Engine::Librdkafka => "librdkafka (vendored by rdkafka)",
                Engine::Sarama => "github.com/IBM/sarama v1.61.1",
                Engine::FranzGo => "github.com/twmb/franz-go v1.22.3",
                Engine::Java => "org.apache.kafka:kafka-clients 4.1.2",
            },
            built: match engine {
                Engine::Librdkafka => None,
                _ => build::built(engine),
            },
        })
        .collect()
}
