#!/usr/bin/env bash
# Rate accuracy, memory and scaling of kbench itself, on the embedded broker (release build).
#
#   bash benches/rates.sh [SECONDS]     # default 20 s per fixed rate
#
# 1. Fixed rates 10k, 100k and 500k msg/s of 100 B for SECONDS each: the achieved rate must be
#    within 1% of the target (`achieved_rate_ratio`); send lag shows how late the generator was.
# 2. Memory: rate=max runs of 1M and 10M messages against `kbench broker` in its own process (so
#    the mock's storage is not in kbench's RSS); peak RSS must not grow with the count (target:
#    10M within 1.15x of 1M).
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

echo "| target | achieved | ratio | send lag p99 | corrected p99 | CPU-s |"
echo "|---|---|---|---|---|---|"
for rate in 10000 100000 500000; do
  f=$(run "rate-$rate" "load.rate=$rate" "load.duration=${SECS}s" "load.warmup=2s")
  field "$f" "'| %d/s | %.0f/s | %.4f | %d µs | %d µs | %.1f |' % ($rate, r['throughput']['msgs_per_sec'], r['achieved_rate_ratio'], r['latency_us']['send_lag']['p99'], r['latency_us']['corrected']['p99'], r['process']['cpu_s'])"
done
echo
"$KB" broker --brokers 3 --topic peers:6 --seconds 600 >"$OUT/broker.out" 2>/dev/null &
BROKER=$!
trap 'kill $BROKER 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$OUT/broker.out" ] && break; sleep 0.1; done
BOOT=$(head -1 "$OUT/broker.out")
echo "| messages (rate=max, 100 B, external broker) | msgs/s | peak RSS |"
echo "|---|---|---|"
for n in 1000000 10000000 1000000 10000000; do
  "$KB" run benches/peers.toml -q --no-charts --out "$OUT/mem-$n" --bootstrap "$BOOT" --set "load.messages=$n" >/dev/null
  f=$(ls -t "$OUT/mem-$n"/*/result.json | head -1)
  field "$f" "'| %d | %.0f | %.1f MiB |' % ($n, r['throughput']['msgs_per_sec'], r['process']['peak_rss_bytes'] / 2**20)"
done
echo
echo "| instances (rate=max, 2M x 100 B) | msgs/s | msgs per CPU-s |"
echo "|---|---|---|"
for i in 1 2; do
  f=$(run "inst-$i" "load.messages=2000000" "producer.instances=$i")
  field "$f" "'| %d | %.0f | %.0f |' % ($i, r['throughput']['msgs_per_sec'], r['process']['msgs_per_cpu_s'])"
done
