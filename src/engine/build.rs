//! Building an engine: its Go sources (its module and the kit every engine shares) are part of
//! kbench (compiled into the binary), written into `~/.cache/kbench/engines/<name>-<hash>/` and
//! built there with `go build`, once per source version: the directory name carries a hash of the sources, so a changed engine is rebuilt and
//! an unchanged one is reused. Modules come from the Go module proxy, pinned by `go.sum`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::EngineError;
use crate::scenario::engine::Engine;

/// One engine's sources: (path under `engines/`, contents), in parts. An engine's module is
/// `engines/<name>/`; the kit every Go engine shares is `engines/kit/` (a `replace` in the
/// engine's go.mod points there).
pub struct Sources {
    pub parts: &'static [&'static [(&'static str, &'static str)]],
}

macro_rules! engine_files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../engines/", $path)))),*]
    };
}

/// The kit every Go engine is built with (engines/kit in the repository).
const KIT: &[(&str, &str)] = engine_files!(
    "kit/go.mod",
    "kit/go.sum",
    "kit/kit.go",
    "kit/engine.go",
    "kit/ledger.go",
    "kit/out.go",
    "kit/proc.go",
    "kit/security.go",
    "kit/wire.go",
);

/// The sarama engine's sources (engines/sarama and engines/kit in the repository).
pub const SARAMA: Sources = Sources {
    parts: &[
        KIT,
        engine_files!(
            "sarama/go.mod",
            "sarama/go.sum",
            "sarama/main.go",
            "sarama/config.go",
            "sarama/engine.go",
            "sarama/scram.go",
        ),
    ],
};

/// The franz-go engine's sources (engines/franz-go and engines/kit in the repository).
pub const FRANZ_GO: Sources = Sources {
    parts: &[
        KIT,
        engine_files!(
            "franz-go/go.mod",
            "franz-go/go.sum",
            "franz-go/main.go",
            "franz-go/config.go",
            "franz-go/engine.go",
            "franz-go/sample.go",
        ),
    ],
};

/// The Java engine's sources (engines/java in the repository): a Maven module.
pub const JAVA: Sources = Sources {
    parts: &[engine_files!(
        "java/pom.xml",
        "java/src/main/java/kbench/engine/Main.java",
        "java/src/main/java/kbench/engine/Config.java",
        "java/src/main/java/kbench/engine/Settings.java",
        "java/src/main/java/kbench/engine/Partitioners.java",
        "java/src/main/java/kbench/engine/Engine.java",
        "java/src/main/java/kbench/engine/Msg.java",
        "java/src/main/java/kbench/engine/Lines.java",
        "java/src/main/java/kbench/engine/Out.java",
        "java/src/main/java/kbench/engine/Json.java",
    )],
};

/// The Java engine's JVM options, fixed and written in every result (`jvm.options` in its
/// resolved configuration): kafka-producer-perf-test's as Kafka's scripts run it
/// (`KAFKA_HEAP_OPTS` from kafka-producer-perf-test.sh, `KAFKA_JVM_PERFORMANCE_OPTS` from
/// kafka-run-class.sh), so the engine and the tool run on the same JVM settings. They are part of
/// the build's identity: the launcher carries them.
pub const JVM_OPTIONS: &str = "-Xmx512M -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
-XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 \
-Djava.awt.headless=true";

impl Sources {
    /// Every file, part after part.
    pub fn files(&self) -> impl Iterator<Item = &'static (&'static str, &'static str)> {
        self.parts.iter().flat_map(|p| p.iter())
    }

    /// FNV-1a over the file names and contents: the build's identity.
    pub fn hash(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (name, text) in self.files() {
            for b in name.bytes().chain([0]).chain(text.bytes()).chain([0]) {
                h ^= b as u64;
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        h
    }
}

fn sources(engine: Engine) -> &'static Sources {
    match engine {
        Engine::Librdkafka | Engine::Sarama => &SARAMA,
        Engine::FranzGo => &FRANZ_GO,
        Engine::Java => &JAVA,
    }
}

/// Where an engine's build lives: `$KBENCH_CACHE` or `~/.cache/kbench`, then
/// `engines/<name>-<hash>/`.
pub fn dir(engine: Engine) -> PathBuf {
    let base = std::env::var_os("KBENCH_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/kbench")))
        .unwrap_or_else(|| PathBuf::from(".kbench-cache"));
    let mut h = sources(engine).hash();
    if engine == Engine::Java {
        h ^= Sources {
            parts: &[&[("jvm", JVM_OPTIONS)]],
        }
        .hash();
    }
    base.join("engines")
        .join(format!("{engine}-{:012x}", h & 0xffff_ffff_ffff))
}

/// The engine's binary, if it is built. `$KBENCH_TEST_ENGINE` replaces every engine's binary
/// (the tests' stand-in engines that break the protocol on purpose).
pub fn built(engine: Engine) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KBENCH_TEST_ENGINE") {
        return Some(PathBuf::from(p));
    }
    let bin = dir(engine).join(format!("kbench-engine-{engine}"));
    bin.is_file().then_some(bin)
}

/// The toolchain that builds the engine, by its version (`go version`; `mvn -v` and `java
/// -version` for the Java engine), or what to install.
pub fn toolchain_version(engine: Engine) -> Result<String, EngineError> {
    let first_line = |cmd: &str, args: &[&str]| -> Option<String> {
        let out = Command::new(cmd).args(args).output().ok()?;
        let text = match out.stdout.is_empty() {
            true => out.stderr,
            false => out.stdout,
        };
        let text = String::from_utf8_lossy(&text).into_owned();
        out.status
            .success()
            .then(|| text.lines().next().unwrap_or("").trim().to_string())
    };
    let none = || EngineError::NoToolchain { engine };
    match engine {
        Engine::Java => {
            let mvn = first_line("mvn", &["-B", "-v"]).ok_or_else(none)?;
            let java = first_line("java", &["-version"]).ok_or_else(none)?;
            Ok(format!("{java}; {mvn}"))
        }
        _ => first_line("go", &["version"]).ok_or_else(none),
    }
}

/// Builds the engine unless it is built; returns its binary. Concurrent builds each build in a
/// directory of their own and the first rename wins, so no one runs a half-written binary.
pub fn ensure(engine: Engine) -> Result<PathBuf, EngineError> {
    if let Some(bin) = built(engine) {
        return Ok(bin);
    }
    toolchain_version(engine)?;
    let dir = dir(engine);
    let parent = dir.parent().expect("a cache directory");
    std::fs::create_dir_all(parent).map_err(|e| EngineError::build(engine, e.to_string()))?;
    let work = tempfile::Builder::new()
        .prefix(&format!(".{engine}-build-"))
        .tempdir_in(parent)
        .map_err(|e| EngineError::build(engine, e.to_string()))?;
    for (name, text) in sources(engine).files() {
        let path = work.path().join(name);
        std::fs::create_dir_all(path.parent().expect("a file in a module"))
            .and_then(|()| std::fs::write(&path, text))
            .map_err(|e| EngineError::build(engine, e.to_string()))?;
    }
    match engine {
        Engine::Java => mvn_build(work.path())?,
        _ => go_build(engine, work.path())?,
    }
    match std::fs::rename(work.path(), &dir) {
        Ok(()) => {
            // The directory is the build now: keep it.
            let _ = work.keep();
        }
        Err(_) if built(engine).is_some() => {}
        Err(e) => return Err(EngineError::build(engine, e.to_string())),
    }
    built(engine).ok_or_else(|| EngineError::build(engine, "no binary after the build".into()))
}

/// Compiles the Java engine and gathers its jars (`mvn compile dependency:copy-dependencies`,
/// artifacts from Maven Central, versions pinned in pom.xml), then writes its launcher: a script
/// that runs it with [`JVM_OPTIONS`] from wherever the build directory is.
fn mvn_build(dir: &Path) -> Result<(), EngineError> {
    let engine = Engine::Java;
    let out = Command::new("mvn")
        .args([
            "-q",
            "-B",
            "-f",
            "java/pom.xml",
            "compile",
            "dependency:copy-dependencies",
        ])
        .args(["-DoutputDirectory=target/lib", "-DincludeScope=runtime"])
        .current_dir(dir)
        .output()
        .map_err(|e| EngineError::build(engine, e.to_string()))?;
    if !out.status.success() {
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text += &String::from_utf8_lossy(&out.stderr);
        return Err(EngineError::build(engine, text.trim().to_string()));
    }
    let launcher = dir.join("kbench-engine-java");
    let script = format!(
        "#!/bin/sh\n# kbench's Java engine: the Kafka Java producer, with fixed JVM options.\n\
         here=$(dirname \"$0\")\n\
         exec java {JVM_OPTIONS} \\\n  \
         -cp \"$here/java/target/classes:$here/java/target/lib/*\" kbench.engine.Main\n"
    );
    std::fs::write(&launcher, script)
        .and_then(|()| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&launcher, std::fs::Permissions::from_mode(0o755))
        })
        .map_err(|e| EngineError::build(engine, e.to_string()))
}

fn go_build(engine: Engine, dir: &Path) -> Result<(), EngineError> {
    let out = Command::new("go")
        .args(["build", "-trimpath", "-o"])
        .arg(format!("../kbench-engine-{engine}"))
        .arg(".")
        .current_dir(dir.join(engine.as_str()))
        // Modules from the proxy, verified against go.sum; nothing written back to the sources.
        .env("GOFLAGS", "-mod=readonly")
        .output()
        .map_err(|e| EngineError::build(engine, e.to_string()))?;
    if !out.status.success() {
        return Err(EngineError::build(
            engine,
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(())
}
