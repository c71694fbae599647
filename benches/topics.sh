#!/usr/bin/env bash
# What many topics cost kbench: creation time on the embedded broker, throughput and peak RSS
# for 1, 100 and 1,000 topics of 1 partition (200k x 100 B at rate = max, 2 workers), release
# build. Prints a Markdown table.
#
#   bash benches/topics.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=target/topics
mkdir -p "$WORK"
# shellcheck source=benches/lib.sh
source benches/lib.sh
build_kbench
cat >"$WORK/s.toml" <<'TOML'
name = "topics"
[topic]
name = "t-{i}"
partitions = 1
[producer]
workers = 2
[load]
rate = "max"
messages = 200000
TOML
echo "| topics | creation | msgs/s | peak RSS |"
echo "|---|---|---|---|"
for n in 1 100 1000; do
  KBENCH_LOG=info timeout 300 /usr/bin/time -f "%M" -o "$WORK/rss" "$KBENCH" run "$WORK/s.toml" \
    --set "topic.count=$n" --json --no-charts --out "$WORK/reports" >"$WORK/r.json" 2>"$WORK/log"
  created=$(sed -nE 's/.*created [0-9]+ topics in ([0-9.]+)(m?s).*/\1 \2/p' "$WORK/log" | tail -1)
  msgs=$(fields "$WORK/r.json" throughput.msgs_per_sec | xargs printf %.0f)
  echo "| $n | ${created:--} | $msgs | $(( $(cat "$WORK/rss") / 1024 )) MiB |"
done
