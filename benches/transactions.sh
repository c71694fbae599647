#!/usr/bin/env bash
# The transactions check of tests/kafka.rs, over and over on the 3-node Kafka: 1000 msg/s, 2
# workers, 100 messages a transaction, every 10th aborted, 2,000 messages, with a read_committed
# consumer. Every run must end (committed, aborted, failed) = (18, 2, 0) with 1,800 messages read
# back, none missing, none twice. It is a loop for a person (it takes about 10 s a run), not a CI
# step.
#
#   bash benches/transactions.sh [RUNS]        # default 20; stops at the first wrong run
#   KBENCH_TX_BOOTSTRAP=host:port,... bash benches/transactions.sh   # a cluster already running
#
# Without KBENCH_TX_BOOTSTRAP it starts its own cluster (scripts/kafka.sh, stopped by PID on exit).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-20}"
WORK=target/transactions
mkdir -p "$WORK"
cargo build --release --quiet
KBENCH=target/release/kbench

BOOT="${KBENCH_TX_BOOTSTRAP:-}"
if [ -z "$BOOT" ]; then
  export KBENCH_KAFKA_STATE="$WORK/kafka" KBENCH_KAFKA_SECONDS=3600
  trap 'bash scripts/kafka.sh stop >/dev/null 2>&1 || true' EXIT
  BOOT=$(bash scripts/kafka.sh start 3)
  [ -n "$BOOT" ] || { echo "error: the Kafka cluster did not start" >&2; exit 1; }
fi
echo "cluster at $BOOT" >&2

for i in $(seq "$RUNS"); do
  topic="tx-loop-$$-$i"
  cat >"$WORK/tx.toml" <<EOF
name = "tx-loop"
[cluster]
bootstrap = "$BOOT"
connect_timeout = "20s"
[topic]
name = "$topic"
partitions = 3
replication = 3
[producer]
workers = 2
linger = "0ms"
acks = "all"
idempotence = true
transaction = { messages = 100, abort_every = 10 }
[message]
size = "200B"
keys = "sequential"
key_cardinality = 1000000
[load]
messages = 2000
rate = "1000/s"
[consume]
consumers = 1
isolation = "read_committed"
EOF
  rm -rf "$WORK/out"
  rc=0
  timeout 120 "$KBENCH" run "$WORK/tx.toml" --out "$WORK/out" --no-charts -q || rc=$?
  line=$(python3 - "$WORK"/out/*/result.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t, c = r["transactions"], r["counts"]
print(t["committed"], t["aborted"], t["failed"], c["consumed"], c["missing"], c["duplicates"])
PY
)
  echo "run $i: exit $rc; committed aborted failed consumed missing duplicates: $line"
  if [ "$rc" != 0 ] || [ "$line" != "18 2 0 1800 0 0" ]; then
    echo "FAILED at run $i (result in $WORK/out)" >&2
    exit 1
  fi
done
echo "$RUNS of $RUNS runs ended right"
