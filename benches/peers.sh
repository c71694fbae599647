#!/usr/bin/env bash
# kbench next to librdkafka's own rdkafka_performance, with the same client library, on the same
# embedded broker (`kbench broker`, 3 brokers, a 6-partition topic), alternating runs, median of N
# pairs. Prints a Markdown table of msgs/s, MB/s, peak RSS and the ratio kbench / rdkafka_performance.
#
#   bash benches/peers.sh [PAIRS]          # default 3 pairs per message size
#
# rdkafka_performance is built from the librdkafka source the rdkafka-sys crate vendors (already in
# the cargo registry after any build of kbench): nothing is downloaded. Settings of both tools:
# acks=1, linger.ms=5 (rdkafka_performance silently defaults to 1000), no compression, async,
# rate unlimited, 1M x 100 B and 1M x 1 KiB (the broker keeps only a few MiB per partition, so the
# message counts fit its limits).
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS="${1:-3}"
WORK=target/peers
mkdir -p "$WORK"

source benches/lib.sh
build_rdkafka_performance
build_kbench
start_kbench_broker peers:6

# Peak RSS (KiB) of a command, and its stdout, via GNU time.
measure() { /usr/bin/time -f "%M" -o "$WORK/rss" "$@" >"$WORK/out" 2>"$WORK/err"; cat "$WORK/rss"; }

run_perf() { # size count -> "msgs/s MB/s rss_kib"
  local rss; rss=$(measure "$PERF" -P -t peers -b "$BOOT" -s "$1" -c "$2" -X acks=1 -X linger.ms=5 \
    -X compression.codec=none)
  # "% 1000000 messages produced (100000000 bytes), 1000000 delivered (...) in 479 ms: 2087682 msgs/s and 208.77 MB/s, ..."
  local line; line=$(grep -h "messages produced" "$WORK/out" "$WORK/err" | tail -1)
  local msgs mb
  msgs=$(sed -E 's/.* ([0-9]+) msgs\/s.*/\1/' <<<"$line")
  mb=$(sed -E 's/.* ([0-9.]+) MB\/s.*/\1/' <<<"$line")
  echo "$msgs $mb $rss"
}

run_kbench() { # size count -> "msgs/s MB/s rss_kib"
  local rss; rss=$(measure "$KBENCH" run benches/peers.toml --bootstrap "$BOOT" --set "message.size=$1" \
    --set "load.messages=$2" --json --no-charts --out "$WORK/reports")
  python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(round(r["throughput"]["msgs_per_sec"]), round(r["throughput"]["bytes_per_sec"] / 1e6, 2))' "$WORK/out" | tr '\n' ' '
  echo "$rss"
}

echo "| message | tool | msgs/s (median of $PAIRS) | MB/s | peak RSS | ratio |"
echo "|---|---|---|---|---|---|"
for spec in "100:1000000" "1024:1000000"; do
  size=${spec%%:*}; count=${spec##*:}
  : >"$WORK/perf.txt"; : >"$WORK/kb.txt"
  for i in $(seq "$PAIRS"); do
    # Alternate which tool goes first, so drift on a shared machine hits both.
    if [ $((i % 2)) = 1 ]; then
      run_perf "$size" "$count" >>"$WORK/perf.txt"; run_kbench "$size" "$count" >>"$WORK/kb.txt"
    else
      run_kbench "$size" "$count" >>"$WORK/kb.txt"; run_perf "$size" "$count" >>"$WORK/perf.txt"
    fi
    echo "pair $i, ${size} B: rdkafka_performance $(tail -1 "$WORK/perf.txt"), kbench $(tail -1 "$WORK/kb.txt")" >&2
  done
  p=$(cut -d' ' -f1 "$WORK/perf.txt" | median); k=$(cut -d' ' -f1 "$WORK/kb.txt" | median)
  pmb=$(cut -d' ' -f2 "$WORK/perf.txt" | median); kmb=$(cut -d' ' -f2 "$WORK/kb.txt" | median)
  prss=$(cut -d' ' -f3 "$WORK/perf.txt" | sort -g | tail -1); krss=$(cut -d' ' -f3 "$WORK/kb.txt" | sort -g | tail -1)
  label="$count x $size B"
  echo "| $label | rdkafka_performance | $p | $pmb | $((prss / 1024)) MiB | 1.00 |"
  echo "| $label | kbench | $k | $kmb | $((krss / 1024)) MiB | $(python3 -c "print(f'{$k/$p:.2f}')") |"
done
