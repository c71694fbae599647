#!/usr/bin/env bash
# What the live metrics endpoint costs at rate = max: kbench with and without --metrics-addr
# (scraped every second by a curl loop, as Prometheus would), alternating (the order flips every
# pair), median of N pairs, on `kbench broker` (3 brokers, 6 partitions), 100 B, acks=1, runs of
# 30 s each (30 scrapes, well past the first one). Prints a Markdown table: msgs/s and CPU seconds
# per million messages with and without the endpoint.
#
#   bash benches/metrics.sh [PAIRS]      # default 3
#   KBENCH_METRICS_SECONDS=60 bash benches/metrics.sh   # longer runs (at least 30)
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS="${1:-3}"
SECS="${KBENCH_METRICS_SECONDS:-30}"
[ "$SECS" -ge 30 ] || { echo "error: KBENCH_METRICS_SECONDS must be at least 30" >&2; exit 2; }
WORK=target/metrics-bench
mkdir -p "$WORK"
# shellcheck source=benches/lib.sh
source benches/lib.sh
build_kbench
start_kbench_broker peers:6
trap stop_kbench_broker EXIT
cat >"$WORK/metrics.toml" <<EOF
name = "metrics-cost"
[topic]
name = "peers"
partitions = 6
create = false
[producer]
acks = "1"
compression = "none"
linger = "5ms"
[message]
size = "100B"
[load]
rate = "max"
duration = "${SECS}s"
EOF

one() { # extra args -> "msgs/s cpu_s_per_M_msgs"
  timeout $((SECS + 60)) "$KBENCH" run "$WORK/metrics.toml" --bootstrap "$BOOT" "$@" --json --no-charts \
    --out "$WORK/reports" >"$WORK/r.json"
  python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
acked = r["counts"]["acked"] + r["warmup_counts"]["acked"]
print(round(r["throughput"]["msgs_per_sec"]), round(r["process"]["cpu_s"] / acked * 1e6, 3))' "$WORK/r.json"
}
with_endpoint() {
  local port=19999 scraper
  ( for _ in $(seq $((SECS + 30))); do curl -s "127.0.0.1:$port/metrics" >/dev/null || true; sleep 1; done ) &
  scraper=$!
  one --metrics-addr "127.0.0.1:$port"
  kill "$scraper" 2>/dev/null || true
}
: >"$WORK/off.txt"
: >"$WORK/on.txt"
for i in $(seq "$PAIRS"); do
  if [ $((i % 2)) = 1 ]; then
    one >>"$WORK/off.txt"
    with_endpoint >>"$WORK/on.txt"
  else
    with_endpoint >>"$WORK/on.txt"
    one >>"$WORK/off.txt"
  fi
  echo "pair $i: without $(tail -1 "$WORK/off.txt"); with $(tail -1 "$WORK/on.txt")" >&2
done
col() { cut -d' ' -f"$2" "$1" | median; }
echo "| metrics endpoint | msgs/s (median of $PAIRS runs of ${SECS} s) | CPU-s per M msgs |"
echo "|---|---|---|"
echo "| off | $(col "$WORK/off.txt" 1) | $(col "$WORK/off.txt" 2) |"
echo "| on, scraped every 1 s | $(col "$WORK/on.txt" 1) | $(col "$WORK/on.txt" 2) |"
