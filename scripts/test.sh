#!/usr/bin/env bash
# kbench's whole test suite: unit tests, CLI tests and end-to-end runs on the embedded broker.
# This is the README's test command, and .ci/run runs exactly this.
# Needs only a Rust toolchain and a C compiler (librdkafka, OpenSSL, zstd build from vendored source).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --all-targets --locked
