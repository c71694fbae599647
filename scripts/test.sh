#!/usr/bin/env bash
# kbench's whole test suite: unit tests, CLI tests, end-to-end runs on the embedded broker, runs
# against a real 3-node Apache Kafka cluster (Maven Central jars, scripts/kafka.sh; tansu's tests
# only with KBENCH_REQUIRE_TANSU=1),
# charts, the report rendered in a real browser (Debian's chromium, installed here when missing),
# the metrics endpoint scraped by a real Prometheus (Debian's prometheus, likewise),
# and the Kubernetes manifests validated offline (kubernetes-validate from PyPI, in a private venv);
# every shell script through shellcheck (Debian's).
# This is the README's test command, and .ci/run runs exactly this.
# Needs a Rust toolchain and a C compiler (librdkafka, OpenSSL, zstd build from vendored source).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} (Debian packages: the browser test, Kafka, Prometheus, shellcheck)..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "error: the tests need ${missing[*]} (as root, this script installs the Debian packages)" >&2
    exit 1
  fi
fi

# Every shell script passes shellcheck (sourced helpers followed).
echo "shellcheck: scripts/*.sh benches/*.sh .ci/run"
shellcheck -x scripts/*.sh benches/*.sh .ci/run

# The real-broker tests (tests/kafka.rs) must run here, not skip. tests/tansu.rs is optional (tansu's
# first build takes 12-25 minutes): KBENCH_REQUIRE_TANSU=1 after scripts/tansu.sh install runs it.
bash scripts/kafka.sh install
export KBENCH_REQUIRE_KAFKA=1
# tests/prometheus.rs scrapes a run with Debian's Prometheus (installed above) and must not skip.
export KBENCH_REQUIRE_PROMETHEUS=1
# tests/engines.rs builds the sarama engine with Go (1.26 or newer; modules from the Go proxy).
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then export PATH="$PATH:/usr/local/go/bin"; fi
command -v go >/dev/null 2>&1 || { echo "error: the engine tests need Go 1.26 or newer on PATH (https://go.dev/dl/)" >&2; exit 1; }
export KBENCH_REQUIRE_ENGINES=1

# --include-ignored: the browser test is ignored by a plain `cargo test` (it needs chromium).
cargo test --all-targets --locked --no-fail-fast -- --include-ignored

# The Kubernetes manifests, validated offline against the API schemas.
bash scripts/validate-k8s.sh
