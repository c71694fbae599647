#!/usr/bin/env bash
# Fidelity of kbench's engines on a 3-node Kafka, 100 B and 1 KiB, acks 1 and all, PAIRS
# alternating rounds in a seeded order (default 5), every tool at the same settings (printed by
# benches/peers.sh):
#   - kbench driving the Java producer (producer.engine = "java") beside kafka-producer-perf-test,
#     on the same JVM options: the harness must not hold the client back (at least 0.9x);
#   - kbench driving franz-go beside kbench's librdkafka and kbench's sarama engine (one producer,
#     one worker each; sarama's engine against sarama's own tool: KBENCH_PEERS_TOOLS below).
# CPU per message and peak RSS count kbench's process and the engine's.
#
#   bash benches/engines.sh [PAIRS]
#   KBENCH_PEERS_TOOLS="kbench-sarama sarama" bash benches/engines.sh   # one pair of tools
#
# It is benches/peers.sh's Kafka part with those tools (the same clusters, topics, disk watchdog
# and table; ratios are to the first tool); docs/engines.md carries what it measured.
set -euo pipefail
cd "$(dirname "$0")/.."
export KBENCH_PEERS_TOOLS="${KBENCH_PEERS_TOOLS:-kafka-producer-perf-test kbench-java kbench-franz-go kbench-1x1 kbench-sarama}"
export KBENCH_PEERS_PARTS=kafka
# Runs of about 5 s: five tools, four cells, five rounds.
export KBENCH_PEERS_SECONDS="${KBENCH_PEERS_SECONDS:-5}"
exec bash benches/peers.sh "${1:-5}"
