#!/usr/bin/env bash
# What the live metrics endpoint costs at rate = max: kbench with and without --metrics-addr
# (scraped every second by a curl loop, as Prometheus would), alternating, median of N pairs, on
# `kbench broker` (3 brokers, 6 partitions), 2M x 100 B, acks=1. Prints a Markdown table.
#
#   bash benches/metrics.sh [PAIRS]      # default 3
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS="${1:-3}"
WORK=target/metrics-bench
mkdir -p "$WORK"
source benches/lib.sh
build_kbench
start_kbench_broker peers:6

one() { # extra args -> "msgs/s cpu_s"
  timeout 120 "$KBENCH" run benches/peers.toml --bootstrap "$BOOT" --set load.messages=2000000 \
    "$@" --json --no-charts --out "$WORK/reports" >"$WORK/r.json"
  python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(round(r["throughput"]["msgs_per_sec"]), r["process"]["cpu_s"])' "$WORK/r.json"
}
with_endpoint() {
  local port=19999
  ( for _ in $(seq 60); do curl -s "127.0.0.1:$port/metrics" >/dev/null || true; sleep 1; done ) &
  local scraper=$!
  one --metrics-addr "127.0.0.1:$port"
  kill "$scraper" 2>/dev/null || true
}
: >"$WORK/off.txt"; : >"$WORK/on.txt"
for i in $(seq "$PAIRS"); do
  if [ $((i % 2)) = 1 ]; then one >>"$WORK/off.txt"; with_endpoint >>"$WORK/on.txt"
  else with_endpoint >>"$WORK/on.txt"; one >>"$WORK/off.txt"; fi
  echo "pair $i: without $(tail -1 "$WORK/off.txt"); with $(tail -1 "$WORK/on.txt")" >&2
done
col() { cut -d' ' -f"$2" "$1" | median; }
echo "| metrics endpoint | msgs/s (median of $PAIRS) | CPU-s for 2M |"
echo "|---|---|---|"
echo "| off | $(col "$WORK/off.txt" 1) | $(col "$WORK/off.txt" 2) |"
echo "| on, scraped every 1 s | $(col "$WORK/on.txt" 1) | $(col "$WORK/on.txt" 2) |"
