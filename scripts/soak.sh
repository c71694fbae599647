#!/usr/bin/env bash
# Soak test: a long fixed-rate run on the embedded broker, sampling kbench's resident memory.
# Memory must stay flat after warm-up: nothing in kbench grows per message.
#
#   bash scripts/soak.sh                      # 10 minutes at 20k msg/s of 100 B
#   SOAK_MINUTES=2 SOAK_RATE=50k/s bash scripts/soak.sh
#
# The embedded broker lives in the same process; it keeps at most a few MiB per partition, so
# its memory plateaus within the first minute too. Prints RSS at 1, 5 and 10 minutes (or the
# end) and fails when the end is more than 10% above the 1-minute mark.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${SOAK_MINUTES:-10}
rate=${SOAK_RATE:-20k/s}
cargo build --release --locked --quiet
out=$(mktemp -d)
log="$out/rss.tsv"
./target/release/kbench run scenarios/quickstart.toml \
  --set load.rate="$rate" --set load.duration="${minutes}m" --set load.warmup=0s \
  --set message.size=100B --set producer.compression=none \
  --quiet --no-charts --out "$out" &
pid=$!
printf 'seconds\trss_kib\n' > "$log"
start=$(date +%s)
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  [ -n "$rss" ] && printf '%s\t%s\n' "$(( $(date +%s) - start ))" "$rss" >> "$log"
  sleep 10
done
wait "$pid"
result=$(ls "$out"/*/result.json)
python3 - "$log" "$result" "$minutes" <<'PY'
import json, sys
log, result, minutes = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [tuple(map(int, l.split())) for l in open(log).read().splitlines()[1:] if l.strip()]
def at(sec):
    return min(rows, key=lambda r: abs(r[0] - sec))
r = json.load(open(result))
c = r["counts"]
print(f"run: {c['sent']} sent = {c['acked']} acked + {c['failed']} failed + {c['unresolved']} unresolved; "
      f"{r['throughput']['msgs_per_sec']:.0f} msg/s (ratio {r['achieved_rate_ratio']})")
marks = [m for m in (1, 5, 10) if m <= minutes] or [minutes]
for m in marks:
    t, kib = at(m * 60)
    print(f"RSS at {m:>2} min (t={t}s): {kib / 1024:.1f} MiB")
one, end = at(60)[1], rows[-1][1]
growth = end / one - 1
print(f"RSS end vs 1 min: {growth * 100:+.1f}%")
sys.exit(0 if growth <= 0.10 and c['sent'] == c['acked'] + c['failed'] + c['unresolved'] else 1)
PY
