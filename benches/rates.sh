#!/usr/bin/env bash
# Rate accuracy, memory and scaling of kbench itself, on the embedded broker (release build).
#
#   bash benches/rates.sh [SECONDS]     # default 20 s per fixed rate
#
# 1. Fixed rates 10k, 100k and 500k msg/s of 100 B for SECONDS each: the achieved rate must be
#    within 1% of the target (`achieved_rate_ratio`); send lag shows how late the generator was.
# 2. Memory: rate=max runs of 1M and 10M messages against `kbench broker` in its own process (so
#    the mock's storage is not in kbench's RSS), MEM_PAIRS alternating pairs (default 5); peak RSS
#    must not grow with the count (target: median of 10M within 1.15x of median of 1M).
# 3. Scaling: rate=max, 2M messages, instances=1 vs instances=2.
# Prints Markdown tables; every number is from the runs' result.json.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-20}"
OUT=target/rates
rm -rf "$OUT" && mkdir -p "$OUT"
cargo build --release --quiet
KB=target/release/kbench

run() { # name, then --set overrides -> prints the result.json path
  local name=$1; shift
  local args=()
  for s in "$@"; do args+=(--set "$s"); done
  "$KB" run benches/peers.toml -q --no-charts --out "$OUT/$name" --set topic.create=true "${args[@]}" >/dev/null
  ls "$OUT/$name"/*/result.json
}

field() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

echo "| target | achieved (acks inside the window) | ratio | send lag p99 | corrected p99 | CPU-s | drain |"
echo "|---|---|---|---|---|---|---|"
for rate in 10000 100000 500000; do
  f=$(run "rate-$rate" "load.messages=null" "load.rate=$rate" "load.duration=${SECS}s" "load.warmup=2s")
  field "$f" "'| %d/s | %.0f/s | %.4f | %d µs | %d µs | %.1f | %d msgs in %.3f s |' % ($rate, r['throughput']['msgs_per_sec'], r['achieved_rate_ratio'], r['latency_us']['send_lag']['p99'], r['latency_us']['corrected']['p99'], r['process']['cpu_s'], r['drain']['messages'], r['drain']['s'])"
done
echo
"$KB" broker --brokers 3 --topic peers:6 --seconds 600 >"$OUT/broker.out" 2>/dev/null &
BROKER=$!
trap 'kill $BROKER 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$OUT/broker.out" ] && break; sleep 0.1; done
BOOT=$(head -1 "$OUT/broker.out")
# Alternating 1M and 10M runs; the medians are compared (a 1M run is over in about 0.3 s, and a
# single one may end before the in-flight messages reach their plateau).
PAIRS="${MEM_PAIRS:-5}"
: >"$OUT/mem.txt"
for i in $(seq "$PAIRS"); do
  for n in 1000000 10000000; do
    "$KB" run benches/peers.toml -q --no-charts --out "$OUT/mem-$n-$i" --bootstrap "$BOOT" --set "load.messages=$n" >/dev/null
    f=$(ls "$OUT/mem-$n-$i"/*/result.json)
    field "$f" "'%d %.0f %.1f' % ($n, r['throughput']['msgs_per_sec'], r['process']['peak_rss_bytes'] / 2**20)" >>"$OUT/mem.txt"
  done
done
python3 - "$OUT/mem.txt" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    n, rate, rss = line.split()
    runs.setdefault(int(n), []).append((float(rate), float(rss)))
print("| messages (rate=max, 100 B, external broker) | msgs/s (median) | peak RSS, each run | median |")
print("|---|---|---|---|")
med = {}
for n, rs in sorted(runs.items()):
    med[n] = statistics.median(r for _, r in rs)
    print(f"| {n:,} | {statistics.median(t for t, _ in rs):,.0f} | {', '.join(f'{r:.1f}' for _, r in rs)} MiB | {med[n]:.1f} MiB |")
print(f"\n10M / 1M peak RSS (medians): {med[10000000] / med[1000000]:.2f}x (target <= 1.15x)")
PY
echo
echo "| instances (rate=max, 2M x 100 B) | msgs/s | msgs per CPU-s |"
echo "|---|---|---|"
for i in 1 2; do
  f=$(run "inst-$i" "load.messages=2000000" "producer.instances=$i")
  field "$f" "'| %d | %.0f | %.0f |' % ($i, r['throughput']['msgs_per_sec'], r['process']['msgs_per_cpu_s'])"
done
