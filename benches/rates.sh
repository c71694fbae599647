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
WORK=target/rates
rm -rf "$WORK" && mkdir -p "$WORK"
# shellcheck source=benches/lib.sh
source benches/lib.sh
build_kbench

run() { # name, then --set overrides -> prints the result.json path
  local name=$1; shift
  local args=()
  for s in "$@"; do args+=(--set "$s"); done
  "$KBENCH" run benches/peers.toml -q --no-charts --out "$WORK/$name" --set topic.create=true "${args[@]}" >/dev/null
  ls "$WORK/$name"/*/result.json
}

echo "| target | achieved (acks inside the window) | ratio | send lag p99 | corrected p99 | CPU-s | drain |"
echo "|---|---|---|---|---|---|---|"
for rate in 10000 100000 500000; do
  f=$(run "rate-$rate" "load.messages=null" "load.rate=$rate" "load.duration=${SECS}s" "load.warmup=2s")
  read -r tp ratio lag p99 cpu dm ds <<<"$(fields "$f" throughput.msgs_per_sec achieved_rate_ratio \
    latency_us.send_lag.p99 latency_us.corrected.p99 process.cpu_s drain.messages drain.s)"
  printf '| %d/s | %.0f/s | %.4f | %d µs | %d µs | %.1f | %d msgs in %.3f s |\n' "$rate" "$tp" "$ratio" "$lag" "$p99" "$cpu" "$dm" "$ds"
done
echo
start_kbench_broker peers:6
trap stop_kbench_broker EXIT
# Alternating 1M and 10M runs; the medians are compared (a 1M run is over in about 0.3 s, and a
# single one may end before the in-flight messages reach their plateau).
PAIRS="${MEM_PAIRS:-5}"
: >"$WORK/mem.txt"
for i in $(seq "$PAIRS"); do
  for n in 1000000 10000000; do
    "$KBENCH" run benches/peers.toml -q --no-charts --out "$WORK/mem-$n-$i" --bootstrap "$BOOT" --set "load.messages=$n" >/dev/null
    f=$(ls "$WORK/mem-$n-$i"/*/result.json)
    read -r tp rss <<<"$(fields "$f" throughput.msgs_per_sec process.peak_rss_bytes)"
    echo "$n $tp $(awk -v b="$rss" 'BEGIN {printf "%.1f", b / 1048576}')" >>"$WORK/mem.txt"
  done
done
python3 - "$WORK/mem.txt" <<'PY'
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
  read -r tp per_cpu <<<"$(fields "$f" throughput.msgs_per_sec process.msgs_per_cpu_s)"
  printf '| %d | %.0f | %.0f |\n' "$i" "$tp" "$per_cpu"
done
