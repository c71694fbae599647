#!/usr/bin/env bash
# End-to-end latency next to the peers that measure it, and what kbench's consumers cost.
#
#   bash benches/e2e.sh [PAIRS]      # default 3 alternating pairs per comparison
#   KBENCH_E2E_PARTS="peer cost" bash benches/e2e.sh   # only some parts (default: peer cost kafka)
#
# 1. On `kbench broker` (the embedded mock, 3 brokers, 6 partitions), 1000 msg/s x 100 B for 10 s,
#    acks=1, linger 5 ms: rdkafka_performance -P -l with a -C -l consumer beside it (latency from the
#    wall-clock stamp its producer writes: enqueue -> consumed) against kbench with [consume]
#    (e2e = due -> consumed, e2e service = enqueue -> consumed). Both consumers get
#    fetch.wait.max.ms=5: the mock holds an empty fetch for all of it instead of answering on data.
# 2. On the 3-node Kafka from scripts/kafka.sh (RF 3): Kafka's EndToEndLatency (one message at a
#    time, closed loop, acks=all, 1 KiB) against kbench sync, 1 worker, 1 consumer, same settings
#    (its e2e service is the same closed-loop figure).
# 3. The consumers' cost at rate = max: kbench with and without [consume] on `kbench broker`,
#    alternating: msgs/s and CPU seconds.
#
# Every process is bounded in count and time; the brokers stop when the script exits.
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS="${1:-3}"
WORK=target/e2e
mkdir -p "$WORK"
# shellcheck source=benches/lib.sh
source benches/lib.sh
build_rdkafka_performance
build_kbench
start_kbench_broker e2e:6
trap stop_kbench_broker EXIT
# kbench sets this itself for its embedded broker; `kbench broker` is external to a run.
MOCK_FETCH='consume.properties."fetch.wait.max.ms"=5'

# kbench's e2e figures from a result: "e2e_p50 e2e_p99 e2e_max service_p50 service_p99" (ms).
e2e_of() {
  python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
e, s = r["latency_us"]["e2e"], r["latency_us"]["e2e_service"]
ms = lambda v: f"{v / 1000:.2f}"
print(ms(e["p50"]), ms(e["p99"]), ms(e["max"]), ms(s["p50"]), ms(s["p99"]), r["counts"]["consumed"], r["counts"]["acked"])' "$1"
}

kbench_e2e() { # bootstrap extra-args... -> the e2e figures
  local boot=$1; shift
  timeout 120 "$KBENCH" run benches/e2e.toml --bootstrap "$boot" --set consume.consumers=1 "$@" --json --no-charts \
    --out "$WORK/reports" >"$WORK/kb.json"
  e2e_of "$WORK/kb.json"
}

perf_e2e() { # -> "p50 p99 max" (ms) of rdkafka_performance's consumer latencies
  local group="perf-$RANDOM"
  rm -f "$WORK/lat.txt"
  timeout 60 "$PERF" -C -G "$group" -t e2e -b "$BOOT" -l -A "$WORK/lat.txt" -c 10000 \
    -X fetch.wait.max.ms=5 -X auto.offset.reset=latest >"$WORK/perf-c.out" 2>&1 &
  local consumer=$!
  sleep 6   # the group forms (the mock's initial rebalance delay is 3 s)
  timeout 60 "$PERF" -P -t e2e -b "$BOOT" -s 100 -c 10000 -r 1000 -l -X acks=1 -X linger.ms=5 \
    >"$WORK/perf-p.out" 2>&1
  wait "$consumer" || true
  percentiles_ms "$WORK/lat.txt"
}

PARTS="${KBENCH_E2E_PARTS:-peer cost kafka}"
part() { [[ " $PARTS " == *" $1 "* ]]; }

if part peer; then
echo "### End-to-end latency on kbench broker: 1000 msg/s x 100 B, 10 s"
echo
echo "| tool | what | p50 | p99 | max |"
echo "|---|---|---|---|---|"
: >"$WORK/perf.txt"; : >"$WORK/kb.txt"
for i in $(seq "$PAIRS"); do
  if [ $((i % 2)) = 1 ]; then
    perf_e2e >>"$WORK/perf.txt"; kbench_e2e "$BOOT" --set topic.create=false --set "$MOCK_FETCH" >>"$WORK/kb.txt"
  else
    kbench_e2e "$BOOT" --set topic.create=false --set "$MOCK_FETCH" >>"$WORK/kb.txt"; perf_e2e >>"$WORK/perf.txt"
  fi
  echo "pair $i: rdkafka_performance $(tail -1 "$WORK/perf.txt"); kbench $(tail -1 "$WORK/kb.txt")" >&2
done
col() { cut -d' ' -f"$2" "$1" | median; }
echo "| rdkafka_performance -C -l | enqueue -> consumed | $(col "$WORK/perf.txt" 1) ms | $(col "$WORK/perf.txt" 2) ms | $(col "$WORK/perf.txt" 3) ms |"
echo "| kbench [consume] | e2e service: enqueue -> consumed | $(col "$WORK/kb.txt" 4) ms | $(col "$WORK/kb.txt" 5) ms | - |"
echo "| kbench [consume] | e2e: due -> consumed | $(col "$WORK/kb.txt" 1) ms | $(col "$WORK/kb.txt" 2) ms | $(col "$WORK/kb.txt" 3) ms |"
echo
echo "(medians of $PAIRS alternating runs each)"
echo
fi

# --- the consumers' cost at rate = max ---------------------------------------------------------
if part cost; then
echo "### What consumers cost at rate = max (kbench broker, 2M x 100 B, acks=1)"
echo
: >"$WORK/off.txt"; : >"$WORK/on.txt"
max_run() { # extra-args -> "msgs/s cpu_s"
  timeout 120 "$KBENCH" run benches/e2e.toml --bootstrap "$BOOT" --set topic.create=false --set "$MOCK_FETCH" \
    --set load.rate=max --set load.messages=2000000 --set load.warmup=0s \
    "$@" --json --no-charts --out "$WORK/reports" >"$WORK/max.json"
  python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(round(r["throughput"]["msgs_per_sec"]), r["process"]["cpu_s"])' "$WORK/max.json"
}
for i in $(seq "$PAIRS"); do
  max_run >>"$WORK/off.txt"; max_run --set consume.consumers=1 >>"$WORK/on.txt"
  echo "pair $i: without $(tail -1 "$WORK/off.txt"); with $(tail -1 "$WORK/on.txt")" >&2
done
echo "| consumers | msgs/s | CPU-s for 2M |"
echo "|---|---|---|"
echo "| none | $(col "$WORK/off.txt" 1) | $(col "$WORK/off.txt" 2) |"
echo "| 1 | $(col "$WORK/on.txt" 1) | $(col "$WORK/on.txt" 2) |"
echo
fi

# --- Kafka: EndToEndLatency --------------------------------------------------------------------
part kafka || exit 0
bash scripts/kafka.sh install >&2
export KBENCH_KAFKA_STATE="$PWD/$WORK/kafka" KBENCH_KAFKA_SECONDS=1800
KBOOT=$(bash scripts/kafka.sh start 3)
trap 'stop_kbench_broker; bash scripts/kafka.sh stop >/dev/null 2>&1 || true' EXIT
echo "### Closed loop on the 3-node Kafka: one message at a time, acks=all, 1 KiB, 2000 messages"
echo
: >"$WORK/e2el.txt"; : >"$WORK/kbs.txt"
e2el() {
  timeout 300 bash scripts/kafka.sh java org.apache.kafka.tools.EndToEndLatency "$KBOOT" e2el 2000 all 1024 \
    >"$WORK/e2el.out" 2>&1
  # "Avg latency: 2.1345 ms" then "Percentiles: 50th = 2, 99th = 5, 99.9th = 11"
  python3 - "$WORK/e2el.out" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
avg = re.search(r"Avg latency: ([0-9.]+)", t)
p = re.search(r"50th = ([0-9.]+), 99th = ([0-9.]+)", t)
print(p.group(1) if p else "-", p.group(2) if p else "-", avg.group(1) if avg else "-")
PY
}
kbs() {
  kbench_e2e "$KBOOT" --set topic.name=e2e-sync --set topic.partitions=1 --set topic.replication=3 \
    --set producer.mode=sync --set producer.workers=1 --set producer.acks=all --set producer.linger=0ms \
    --set message.size=1KiB --set load.rate=max --set load.messages=2000 \
    --set load.warmup=0s
}
for i in $(seq "$PAIRS"); do
  e2el >>"$WORK/e2el.txt"; kbs >>"$WORK/kbs.txt"
  echo "pair $i: EndToEndLatency $(tail -1 "$WORK/e2el.txt"); kbench $(tail -1 "$WORK/kbs.txt")" >&2
done
echo "| tool | what | p50 | p99 |"
echo "|---|---|---|---|"
echo "| EndToEndLatency | send -> consumed (whole ms) | $(col "$WORK/e2el.txt" 1) ms | $(col "$WORK/e2el.txt" 2) ms |"
echo "| kbench sync + [consume] | e2e service: enqueue -> consumed | $(col "$WORK/kbs.txt" 4) ms | $(col "$WORK/kbs.txt" 5) ms |"
echo
echo "(medians of $PAIRS alternating runs each)"
