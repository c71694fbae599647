#!/usr/bin/env bash
# Fidelity of kbench's sarama engine: kbench driving sarama (producer.engine = "sarama") beside
# sarama's own kafka-producer-performance, at the same settings (printed), on a 3-node Kafka,
# 100 B and 1 KiB, acks 1 and all, PAIRS alternating pairs in a seeded order (default 5). The
# harness must not hold the client back: kbench-sarama should reach at least 0.9x the tool's
# throughput. CPU per message and peak RSS count kbench's process and the engine's.
#
#   bash benches/engines.sh [PAIRS]
#
# It is benches/peers.sh's Kafka part with those two tools (the same clusters, topics, disk
# watchdog and table); docs/engines.md carries what it measured.
set -euo pipefail
cd "$(dirname "$0")/.."
export KBENCH_PEERS_TOOLS="kbench-sarama sarama" KBENCH_PEERS_PARTS=kafka
exec bash benches/peers.sh "${1:-5}"
