#!/usr/bin/env bash
# kbench's whole test suite: unit tests, CLI tests, end-to-end runs on the embedded broker, charts,
# the report rendered in a real browser (Debian's chromium, installed here when missing), and the
# Kubernetes manifests validated offline (kubernetes-validate from PyPI, in a private venv).
# This is the README's test command, and .ci/run runs exactly this.
# Needs a Rust toolchain and a C compiler (librdkafka, OpenSSL, zstd build from vendored source).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium for the browser test (Debian package)..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "error: the browser test needs chromium (as root, this script installs Debian's chromium)" >&2
    exit 1
  fi
fi

# --include-ignored: the browser test is ignored by a plain `cargo test` (it needs chromium).
cargo test --all-targets --locked --no-fail-fast -- --include-ignored

# The Kubernetes manifests, validated offline against the API schemas.
bash scripts/validate-k8s.sh
