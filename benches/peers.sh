#!/usr/bin/env bash
# kbench next to the producer benchmarks its users would otherwise pick, on the same cluster with
# the same client settings (printed above the tables), in a seeded random order per pair (printed
# with the results), medians of N pairs with the spread (min..max) and whether each tool's range
# overlaps kbench's:
#   - kbench with its defaults at rate = max (one producer instance per worker, as many workers as
#     CPUs), and kbench as one instance with one worker (kbench-1x1: the peers' shape);
#   - rdkafka_performance (librdkafka's, built from the librdkafka source rdkafka-sys vendors);
#   - kafka-producer-perf-test (org.apache.kafka.tools.ProducerPerformance from the kafka-tools jar
#     scripts/kafka.sh install fetches from Maven Central);
#   - sarama's kafka-producer-performance (go install ...@v1.61.1 into target/, from the Go proxy).
# Clusters: `kbench broker` (the embedded mock: 3 brokers, 6 partitions; only the librdkafka tools
# speak its protocol, see docs/performance.md) and the 3-node Kafka from scripts/kafka.sh (RF 3, 6 partitions).
# Matrix: 100 B and 1 KiB, acks=1 and acks=all, unlimited rate, message counts calibrated so each
# tool's run takes about 10 s. A run that did not deliver its whole count is void: counted as such
# in its row, and left out of the medians. Columns: msgs/s and MB/s (each tool's own figure), peak
# RSS, CPU seconds per million messages (user + system, the fair figure when the brokers share the
# CPUs), the brokers' CPU seconds per million messages over the same window (what a tool's batching
# costs the cluster), the ratio of msgs/s to kbench's defaults, and whether the ranges overlap.
# Then, on Kafka, two latency comparisons at 20k msg/s, acks=all, 1 KiB: steady, and with one node
# paused for 2 s in the middle (coordinated omission on the real thing), in a seeded order too.
#
#   bash benches/peers.sh [PAIRS]                      # default 5 pairs
#   KBENCH_PEERS_PARTS="mock" bash benches/peers.sh    # only some of: mock kafka latency
#   KBENCH_PEERS_SIZES=1024 bash benches/peers.sh      # only some message sizes (default "100 1024")
#   KBENCH_PEERS_ACKS=all bash benches/peers.sh        # only some acks (default "1 all")
#   KBENCH_PEERS_TOOLS="kbench sarama" bash benches/peers.sh   # only some tools on Kafka
#   KBENCH_PEERS_SEED=7 bash benches/peers.sh          # another run order (default seed 42)
#   KBENCH_PEERS_SECONDS=5 bash benches/peers.sh       # runs of about 5 s (default 10)
#
# Nothing is committed: every peer is installed from the registries. Every broker and peer runs
# on 127.0.0.1, bounded in count and time, and is stopped when the script exits.
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS="${1:-5}"
PARTS="${KBENCH_PEERS_PARTS:-mock kafka latency}"
SIZES="${KBENCH_PEERS_SIZES:-100 1024}"
ACKS="${KBENCH_PEERS_ACKS:-1 all}"
SEED="${KBENCH_PEERS_SEED:-42}"
# The tools on Kafka (kbench first: the ratios are to it); the latency part runs those of them that
# measure latency.
KAFKA_TOOLS="${KBENCH_PEERS_TOOLS:-kbench kbench-1x1 rdkafka_performance kafka-producer-perf-test sarama}"

# --- the settings every tool runs with -----------------------------------------------------------
LINGER_MS=5
BATCH_BYTES=1000000 # librdkafka's default batch.size; sarama's requests carry at most 1000000 B
IN_FLIGHT=5         # requests in flight per connection
RETRIES=2147483647  # the Java producer's and librdkafka's default
BACKOFF_MS=100
QUEUE_MSGS=100000 # librdkafka's local queue, in messages
BUFFER_MIB=100    # the client's buffer in bytes: queue.buffering.max.kbytes, buffer.memory
KB_SET=(--set "producer.linger=${LINGER_MS}ms" --set "producer.batch_size=${BATCH_BYTES}B"
  --set "producer.max_in_flight=$IN_FLIGHT" --set "producer.retries=$RETRIES"
  --set "producer.retry_backoff=${BACKOFF_MS}ms" --set "producer.queue_messages=$QUEUE_MSGS"
  --set "producer.properties.\"queue.buffering.max.kbytes\"=$((BUFFER_MIB * 1024))"
  --set producer.idempotence=false --set producer.compression=none)
RDK_SET=(-X "linger.ms=$LINGER_MS" -X "batch.size=$BATCH_BYTES" -X "max.in.flight=$IN_FLIGHT"
  -X "retries=$RETRIES" -X "retry.backoff.ms=$BACKOFF_MS" -X "queue.buffering.max.messages=$QUEUE_MSGS"
  -X "queue.buffering.max.kbytes=$((BUFFER_MIB * 1024))" -X enable.idempotence=false -X compression.codec=none)
JAVA_SET=("linger.ms=$LINGER_MS" "batch.size=$BATCH_BYTES" "max.in.flight.requests.per.connection=$IN_FLIGHT"
  "retries=$RETRIES" "retry.backoff.ms=$BACKOFF_MS" "buffer.memory=$((BUFFER_MIB * 1048576))"
  enable.idempotence=false compression.type=none)
SARAMA_SET=(-flush-frequency "${LINGER_MS}ms" -flush-bytes "$BATCH_BYTES" -max-open-requests "$IN_FLIGHT"
  -compression none -version 3.9.0)
# kbench driving sarama (producer.engine = "sarama") with what sarama's tool runs with, its
# defaults included (Retry.Max 3, ChannelBufferSize 256, round-robin partitions), one producer
# fed by one worker.
KS_SET=(--set producer.engine=sarama --set producer.instances=1 --set producer.workers=1
  --set producer.partitioner=round-robin
  --set "producer.linger=${LINGER_MS}ms" --set "producer.batch_size=${BATCH_BYTES}B"
  --set "producer.max_in_flight=$IN_FLIGHT" --set producer.idempotence=false --set producer.compression=none
  --set 'producer.sarama.Version="3.9.0"' --set 'producer.sarama."Retry.Max"=3'
  --set 'producer.sarama.ChannelBufferSize=256')
# kbench driving the Java producer (producer.engine = "java") with kafka-producer-perf-test's
# settings above and its JVM options (the engine's own, fixed), one producer fed by one worker,
# murmur2 partitioning (the Java producer's own, sticky for messages without a key).
KJ_SET=(--set producer.engine=java --set producer.instances=1 --set producer.workers=1
  --set producer.partitioner=murmur2_random
  --set "producer.linger=${LINGER_MS}ms" --set "producer.batch_size=${BATCH_BYTES}B"
  --set "producer.max_in_flight=$IN_FLIGHT" --set "producer.retries=$RETRIES"
  --set "producer.retry_backoff=${BACKOFF_MS}ms" --set producer.idempotence=false --set producer.compression=none
  --set "producer.java.\"buffer.memory\"=$((BUFFER_MIB * 1048576))")
# kbench driving franz-go (producer.engine = "franz-go") at the same settings, one producer fed by
# one worker (kgo has no tool of its own to hold it against: it stands beside librdkafka and sarama).
KF_SET=(--set producer.engine=franz-go --set producer.instances=1 --set producer.workers=1
  --set "producer.linger=${LINGER_MS}ms" --set "producer.batch_size=${BATCH_BYTES}B"
  --set "producer.max_in_flight=$IN_FLIGHT" --set "producer.retries=$RETRIES"
  --set "producer.retry_backoff=${BACKOFF_MS}ms" --set "producer.queue_messages=$QUEUE_MSGS"
  --set producer.idempotence=false --set producer.compression=none)
print_settings() {
  cat <<EOF
### Settings: the same for every tool (bold where a tool cannot be set so)

| setting | kbench | rdkafka_performance | kafka-producer-perf-test | sarama's kafka-producer-performance |
|---|---|---|---|---|
| acks | per row | per row | per row | per row (-required-acks) |
| linger | producer.linger ${LINGER_MS}ms | linger.ms=$LINGER_MS | linger.ms=$LINGER_MS | -flush-frequency ${LINGER_MS}ms |
| batch size | producer.batch_size $BATCH_BYTES B | batch.size=$BATCH_BYTES | batch.size=$BATCH_BYTES | -flush-bytes $BATCH_BYTES |
| compression | none | none | none | none |
| idempotence | off | off | off | off |
| max in-flight requests | $IN_FLIGHT | max.in.flight=$IN_FLIGHT | $IN_FLIGHT | -max-open-requests $IN_FLIGHT |
| retries, backoff | $RETRIES, ${BACKOFF_MS} ms | $RETRIES, ${BACKOFF_MS} ms | $RETRIES, ${BACKOFF_MS} ms | **3, 100 ms (Producer.Retry.Max: the tool has no flag)** |
| client buffer | $QUEUE_MSGS msgs, $BUFFER_MIB MiB | $QUEUE_MSGS msgs, $BUFFER_MIB MiB | buffer.memory $BUFFER_MIB MiB | **ChannelBufferSize 256 messages (no flag)** |
| partitions | 6 | 6 | 6 | 6 |
| producers x threads | kbench: its defaults (a worker per CPU, an instance each); kbench-1x1: 1 x 1 | 1 x 1 | 1 x 1 | 1 (-routines 1) |

kbench-java (producer.engine = "java") takes kafka-producer-perf-test's column, buffer.memory
included, on the same JVM options ($JAVA_PERF_OPTS), with the Java producer's own partitioner;
kbench-franz-go takes kbench's column (kgo's MaxBufferedRecords $QUEUE_MSGS, **no byte bound on
its buffer**); kbench-sarama takes sarama's tool's column. Each is 1 producer x 1 worker; the
result's client settings table has every key as the client resolved it.
EOF
}
# The run order of pair KEY: the tools given, shuffled from the seed (printed with the results).
order_of() {
  python3 -c 'import random, sys; t = sys.argv[3:]; random.Random(int(sys.argv[1]) * 7919 + int(sys.argv[2])).shuffle(t); print(" ".join(t))' \
    "$SEED" "$@"
}
has_tool() { [[ " $KAFKA_TOOLS " == *" $1 "* ]]; }
part() { [[ " $PARTS " == *" $1 "* ]]; }
WORK=target/peers
mkdir -p "$WORK"
source benches/lib.sh
build_rdkafka_performance
build_kbench
SARAMA="$PWD/$WORK/go/bin/kafka-producer-performance"
if [ ! -x "$SARAMA" ]; then
  echo "installing sarama's kafka-producer-performance v1.61.1 ..." >&2
  GOBIN="$PWD/$WORK/go/bin" go install github.com/IBM/sarama/tools/kafka-producer-performance@v1.61.1
fi
bash scripts/kafka.sh install >&2
# kafka-producer-perf-test as Kafka's script runs it: KAFKA_HEAP_OPTS from
# kafka-producer-perf-test.sh, KAFKA_JVM_PERFORMANCE_OPTS from kafka-run-class.sh (C2 JIT, G1).
JAVA_PERF_OPTS="-Xmx512M -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true"

# Runs a command under GNU time: prints "wall_s cpu_s rss_kib"; its output in $WORK/out, $WORK/err.
# The command's PID is in $WORK/current, for the disk watchdog.
measure() {
  /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" timeout 300 "$@" >"$WORK/out" 2>"$WORK/err" &
  local pid=$!
  echo "$pid" >"$WORK/current"
  wait "$pid" || true
  awk '{print $1, $2 + $3, $4}' "$WORK/time" | tail -1
}

# --- the disk ----------------------------------------------------------------------------------
# Three copies of 10 s at 300 MB/s outrun Kafka's retention, so on Kafka every run gets a topic of
# its own, deleted after it (and the next run waits until the disk has it back); a watchdog stops
# the run in progress, and with it the script, if free space still falls below 3 GiB.
avail_mib() { df -Pm "$WORK" | awk 'NR == 2 {print $4}'; }
DISK_FLOOR_MIB=3072
rm -f "$WORK/disk-full"
watchdog() {
  while sleep 1; do
    if [ "$(avail_mib)" -lt "$DISK_FLOOR_MIB" ]; then
      echo "error: less than $DISK_FLOOR_MIB MiB free under $WORK: stopping the run in progress" >&2
      touch "$WORK/disk-full"
      pkill -TERM -P "$(cat "$WORK/current" 2>/dev/null || echo 0)" 2>/dev/null || true
    fi
  done
}
stop_if_disk_full() {
  [ ! -e "$WORK/disk-full" ] || { echo "error: stopped, the disk was nearly full (see above)" >&2; exit 1; }
}
TOPIC=peers
# On Kafka: a new topic for the next run (RF 3, 6 partitions, created by a one-message kbench run).
new_topic() {
  [ "$1" = "${KBOOT:-}" ] || return 0
  TOPIC="peers-$(date +%s%N)"
  "$KBENCH" run benches/peers.toml --bootstrap "$KBOOT" --set "topic.name=$TOPIC" --set topic.create=true \
    --set topic.replication=3 --set 'topic.configs={ "retention.bytes" = "268435456", "segment.bytes" = "67108864" }' \
    --set load.messages=1 --quiet --no-charts --out "$WORK/reports" >/dev/null
}
# On Kafka: deletes the run's topic, waits (at most 60 s) until the disk is back to where it was,
# and flushes the page cache.
drop_topic() {
  [ "$1" = "${KBOOT:-}" ] || return 0
  bash scripts/kafka.sh java org.apache.kafka.tools.TopicCommand --bootstrap-server "$KBOOT" --delete \
    --topic "$TOPIC" >/dev/null 2>&1 || echo "warning: could not delete topic $TOPIC" >&2
  for _ in $(seq 60); do [ "$(avail_mib)" -ge $((DISK_BASE_MIB - 1024)) ] && break; sleep 1; done
  # What is left dirty in the page cache goes to disk now, not in the next tool's run.
  sync
}
DISK_BASE_MIB=$(avail_mib)
watchdog &
WATCHDOG=$!
KAFKA_UP=0
cleanup() {
  kill "$WATCHDOG" "${BROKER:-}" 2>/dev/null || true
  [ "$KAFKA_UP" = 0 ] || bash scripts/kafka.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

# The CPU seconds (user + system) the brokers of BOOT have used so far: the three Kafka JVMs, or
# the `kbench broker` process.
TICKS=$(getconf CLK_TCK)
broker_cpu_s() {
  local pids=() p total=0
  if [ "$1" = "${KBOOT:-}" ]; then
    for p in "$KBENCH_KAFKA_STATE"/node-*/pid; do pids+=("$(cat "$p")"); done
  else
    pids=("$BROKER")
  fi
  for p in "${pids[@]}"; do
    total=$(awk -v t="$total" -v hz="$TICKS" '{print t + ($14 + $15) / hz}' "/proc/$p/stat")
  done
  echo "$total"
}

# One run of TOOL on BOOT: SIZE bytes, COUNT messages, ACKS (1 or all).
# Prints "msgs/s MB/s cpu_s rss_kib count broker_cpu_s".
run_tool() {
  local tool=$1 boot=$2 size=$3 count=$4 acks=$5 t msgs mb b0
  new_topic "$boot"
  b0=$(broker_cpu_s "$boot")
  case $tool in
    kbench | kbench-1x1 | kbench-sarama | kbench-java | kbench-franz-go)
      local shape=("${KB_SET[@]}")
      [ "$tool" = kbench-1x1 ] && shape+=(--set producer.instances=1 --set producer.workers=1)
      [ "$tool" = kbench-sarama ] && shape=("${KS_SET[@]}")
      [ "$tool" = kbench-java ] && shape=("${KJ_SET[@]}")
      [ "$tool" = kbench-franz-go ] && shape=("${KF_SET[@]}")
      t=$(measure "$KBENCH" run benches/peers.toml --bootstrap "$boot" --set "topic.name=$TOPIC" --set "message.size=$size" \
        --set "load.messages=$count" --set "producer.acks=$acks" "${shape[@]}" --json --no-charts --out "$WORK/reports")
      read -r msgs mb delivered < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(round(r["throughput"]["msgs_per_sec"]), round(r["throughput"]["bytes_per_sec"] / 1e6, 2), r["counts"]["acked"])' "$WORK/out" || echo "0 0 0") ;;
    rdkafka_performance)
      t=$(measure "$PERF" -P -t "$TOPIC" -b "$boot" -s "$size" -c "$count" -X "acks=$acks" "${RDK_SET[@]}")
      # "% N messages produced (B bytes), N delivered (offset O, F failed) in T ms: R msgs/s and M MB/s, ..."
      local line; line=$(grep -ah "messages produced" "$WORK/out" "$WORK/err" | tail -1)
      msgs=$(sed -E 's/.* ([0-9]+) msgs\/s.*/\1/' <<<"$line")
      mb=$(sed -E 's/.* ([0-9.]+) MB\/s.*/\1/' <<<"$line")
      delivered=$(sed -E 's/.* ([0-9]+) delivered \(offset [0-9-]+, ([0-9]+) failed\).*/\1 \2/' <<<"$line" \
        | awk '$2 == 0 {print $1} $2 != 0 {print 0}') ;;
    kafka-producer-perf-test)
      t=$(KBENCH_JAVA_OPTS="$JAVA_PERF_OPTS" measure bash scripts/kafka.sh java org.apache.kafka.tools.ProducerPerformance --topic "$TOPIC" \
        --num-records "$count" --record-size "$size" --throughput -1 --producer-props \
        "bootstrap.servers=$boot" "acks=$acks" "${JAVA_SET[@]}")
      # "N records sent, X records/sec (Y MB/sec), ..." (MB there is MiB); failed sends print exceptions.
      local line; line=$(grep -ah "records sent" "$WORK/out" | tail -1)
      msgs=$(sed -E 's/.* ([0-9.]+) records\/sec.*/\1/' <<<"$line" | cut -d. -f1)
      mb=$(sed -E 's/.*\(([0-9.]+) MB\/sec\).*/\1/' <<<"$line")
      mb=$(mib_to_mb "${mb:-0}")
      delivered=$(sed -E 's/^([0-9]+) records sent.*/\1/' <<<"$line")
      if grep -aq "Exception" "$WORK/out" "$WORK/err"; then delivered=0; fi ;;
    sarama)
      local a=$acks; [ "$a" = all ] && a=-1
      t=$(measure "$SARAMA" -brokers "$boot" -topic "$TOPIC" -message-load "$count" -message-size "$size" \
        -required-acks "$a" "${SARAMA_SET[@]}")
      # "N records sent, X records/sec (Y MiB/sec ingress, ...)": its last line, the whole run.
      local line; line=$(grep -ah "records sent" "$WORK/out" | tail -1)
      msgs=$(sed -E 's/.* ([0-9.]+) records\/sec.*/\1/' <<<"$line" | cut -d. -f1)
      mb=$(sed -E 's/.*\(([0-9.]+) MiB\/sec ingress.*/\1/' <<<"$line")
      mb=$(mib_to_mb "${mb:-0}")
      delivered=$(sed -E 's/^([0-9]+) records sent.*/\1/' <<<"$line") ;;
  esac
  local b1; b1=$(broker_cpu_s "$boot")
  drop_topic "$boot"
  read -r _wall cpu rss <<<"$t"
  echo "${msgs:-0} ${mb:-0} $cpu $rss $count $(awk -v a="$b0" -v b="$b1" 'BEGIN {print b - a}') ${delivered:-0}"
}

# MiB/s (the peers' unit) in MB/s, to 2 decimals.
mib_to_mb() {
  python3 -c 'import sys; print(round(float(sys.argv[1]) * 1.048576, 2))' "$1"
}

# The count that makes TOOL's run take about RUN_S seconds (10 unless KBENCH_PEERS_SECONDS says),
# from a short calibration run.
RUN_S="${KBENCH_PEERS_SECONDS:-10}"
calibrate() {
  local tool=$1 boot=$2 size=$3 acks=$4 probe=200000 r
  [ "$size" -ge 1024 ] && probe=50000
  r=$(run_tool "$tool" "$boot" "$size" "$probe" "$acks")
  # At most 3 GB a run, whatever the rate (three copies of it on Kafka: see "the disk").
  python3 -c 'import sys; probe, rate, size = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]); print(min(max(probe, int(rate * float(sys.argv[4]))), 3_000_000_000 // size))' \
    "$probe" "${r%% *}" "$size" "$RUN_S"
}

# The matrix on one cluster: prints table rows. Each run is a line of $WORK/TOOL.txt:
# "msgs/s MB/s cpu_s rss_kib count broker_cpu_s delivered"; a run with delivered != count is void.
matrix() {
  local cluster=$1 boot=$2; shift 2
  local tools=("$@") cell=0
  for size in $SIZES; do
    for acks in $ACKS; do
      cell=$((cell + 1))
      declare -A counts=()
      for t in "${tools[@]}"; do counts[$t]=$(calibrate "$t" "$boot" "$size" "$acks"); stop_if_disk_full; : >"$WORK/$t.txt"; done
      for i in $(seq "$PAIRS"); do
        # A seeded random order per pair: drift on a shared machine, and what a run leaves behind
        # on the brokers, hit every tool alike.
        local order
        read -ra order <<<"$(order_of "$((cell * 100 + i))" "${tools[@]}")"
        for t in "${order[@]}"; do run_tool "$t" "$boot" "$size" "${counts[$t]}" "$acks" >>"$WORK/$t.txt"; stop_if_disk_full; done
        echo "$cluster ${size} B acks=$acks pair $i, order ${order[*]}: $(for t in "${tools[@]}"; do echo -n "$t $(tail -1 "$WORK/$t.txt" | cut -d' ' -f1); "; done)" \
          | tee -a "$WORK/orders.txt" >&2
      done
      rows "$cluster" "$size" "$acks" "${tools[@]}"
    done
  done
}

# The table rows of one cell, from $WORK/TOOL.txt; void runs are counted and left out.
rows() {
  local cluster=$1 size=$2 acks=$3; shift 3
  local tools=("$@") kb kb_lo kb_hi ref
  for t in "${tools[@]}"; do awk '$7 == $5' "$WORK/$t.txt" >"$WORK/$t.valid"; done
  # The ratios and overlaps are to the first tool of the list (kbench, unless a list says else).
  ref="${tools[0]}"
  kb=$(cut -d' ' -f1 "$WORK/$ref.valid" | median)
  kb_lo=$(cut -d' ' -f1 "$WORK/$ref.valid" | sort -g | head -1)
  kb_hi=$(cut -d' ' -f1 "$WORK/$ref.valid" | sort -g | tail -1)
  for t in "${tools[@]}"; do
    local f="$WORK/$t.valid" n void m lo hi mb rss cpu_m bcpu_m overlap ratio
    n=$(wc -l <"$f")
    void=$(($(wc -l <"$WORK/$t.txt") - n))
    if [ "$n" = 0 ]; then
      echo "| $cluster | $size B | $acks | $t | void: none of its $void runs delivered its count | - | - | - | - | - | - |"
      continue
    fi
    m=$(cut -d' ' -f1 "$f" | median | xargs printf %.0f)
    lo=$(cut -d' ' -f1 "$f" | sort -g | head -1)
    hi=$(cut -d' ' -f1 "$f" | sort -g | tail -1)
    mb=$(cut -d' ' -f2 "$f" | median)
    rss=$(cut -d' ' -f4 "$f" | sort -g | tail -1)
    cpu_m=$(awk '{print $3 / $5 * 1e6}' "$f" | median)
    bcpu_m=$(awk '{print $6 / $5 * 1e6}' "$f" | median)
    ratio=$(awk -v m="$m" -v k="${kb:-0}" 'BEGIN {if (k > 0) printf "%.2f", m / k; else print "-"}')
    if [ "$t" = "$ref" ]; then
      overlap=-
    elif awk -v a="$lo" -v b="$hi" -v c="${kb_lo:-0}" -v d="${kb_hi:-0}" 'BEGIN {exit !(a <= d && c <= b)}'; then
      overlap=yes
    else
      overlap=no
    fi
    [ "$void" = 0 ] || m="$m ($void void)"
    echo "| $cluster | $size B | $acks | $t | $m ($lo..$hi) | $mb | $((rss / 1024)) MiB | $(printf %.2f "$cpu_m") | $(printf %.2f "$bcpu_m") | $ratio | $overlap |"
  done
}

print_settings
echo
echo "Run order: a seeded shuffle per pair (seed $SEED); every pair's order is in $WORK/orders.txt."
echo
REF="${KAFKA_TOOLS%% *}"
echo "| cluster | message | acks | tool | msgs/s, median (min..max of $PAIRS) | MB/s | peak RSS | CPU-s per M msgs | brokers' CPU-s per M msgs | msgs/s / $REF's | range overlaps $REF's |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
: >"$WORK/orders.txt"
if part mock; then
  start_kbench_broker peers:6
  trap cleanup EXIT
  matrix "kbench broker" "$BOOT" kbench kbench-1x1 rdkafka_performance
  kill "$BROKER" 2>/dev/null || true
fi

if part kafka || part latency; then
  export KBENCH_KAFKA_STATE="$PWD/$WORK/kafka" KBENCH_KAFKA_SECONDS=3600
  # A fresh cluster: its configuration (retention checked every 5 s) is written at start.
  bash scripts/kafka.sh stop >/dev/null 2>&1 || true
  rm -rf "$KBENCH_KAFKA_STATE"
  KAFKA_UP=1
  KBOOT=$(bash scripts/kafka.sh start 3)
fi
if part kafka; then
  # shellcheck disable=SC2086 # a list of names
  matrix "Kafka 3 nodes" "$KBOOT" $KAFKA_TOOLS
fi

# --- latency at a fixed rate, then with a node paused ------------------------------------------
latency_kbench() { # extra args -> "corrected_p50 corrected_p99 service_p50 service_p99 max" (ms)
  timeout 120 "$KBENCH" run benches/peers.toml --bootstrap "$KBOOT" --set "topic.name=$TOPIC" --set message.size=1KiB --set producer.acks=all \
    --set load.rate=20k/s --set load.duration=15s --set producer.workers=2 "${KB_SET[@]}" "$@" --json --no-charts \
    --out "$WORK/reports" >"$WORK/lat.json"
  python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["latency_us"]
ms = lambda v: f"{v / 1000:.1f}"
print(ms(r["corrected"]["p50"]), ms(r["corrected"]["p99"]), ms(r["service"]["p50"]), ms(r["service"]["p99"]), ms(r["corrected"]["max"]))' "$WORK/lat.json"
}
latency_java() { # -> "p50 p99 max" (ms, whole)
  KBENCH_JAVA_OPTS="$JAVA_PERF_OPTS" timeout 120 bash scripts/kafka.sh java org.apache.kafka.tools.ProducerPerformance --topic "$TOPIC" --num-records 300000 \
    --record-size 1024 --throughput 20000 --producer-props "bootstrap.servers=$KBOOT" acks=all "${JAVA_SET[@]}" \
    >"$WORK/out" 2>&1 || true
  grep -ah "records sent" "$WORK/out" | tail -1 | sed -E 's/.*, ([0-9.]+) ms max latency, ([0-9]+) ms 50th, [0-9]+ ms 95th, ([0-9]+) ms 99th.*/\2 \3 \1/'
}
latency_sarama() { # -> "p50 p99" (ms, per produce request)
  timeout 120 "$SARAMA" -brokers "$KBOOT" -topic "$TOPIC" -message-load 300000 -message-size 1024 -required-acks -1 \
    "${SARAMA_SET[@]}" -throughput 20000 >"$WORK/out" 2>&1 || true
  grep -ah "records sent" "$WORK/out" | tail -1 | sed -E 's/.*, ([0-9.]+) ms 50th, [0-9.]+ ms 75th, [0-9.]+ ms 95th, ([0-9.]+) ms 99th.*/\1 \2/'
}
# Pauses node 1 for 2 s, 6 s from now; PAUSER is the PID to wait for.
pause_soon() { ( sleep 6; bash scripts/kafka.sh pause 1; sleep 2; bash scripts/kafka.sh resume 1 ) & PAUSER=$!; }
# One latency run of FN (latency_kbench, _java or _sarama) on a topic of its own, optionally with
# node 1 paused ("paused"); prints FN's figures.
latency_run() {
  local fn=$1 paused=${2:-} line
  new_topic "$KBOOT"
  [ -z "$paused" ] || pause_soon
  line=$("$fn")
  [ -z "$paused" ] || wait "$PAUSER"
  drop_topic "$KBOOT"
  stop_if_disk_full
  echo "$line"
}
# The latency functions a pair runs, in a seeded order (printed); their figures by name.
latency_pair() { # key [paused] -> sets LAT[fn] for each tool that measures latency
  local key=$1 paused=${2:-} fns=(latency_kbench) fn order
  if has_tool kafka-producer-perf-test; then fns+=(latency_java); fi
  if [ -z "$paused" ] && has_tool sarama; then fns+=(latency_sarama); fi
  read -ra order <<<"$(order_of "$key" "${fns[@]}")"
  echo "latency ${paused:-steady} run $((key % 50)), order ${order[*]}" | tee -a "$WORK/orders.txt" >&2
  LAT=()
  for fn in "${order[@]}"; do LAT[$fn]=$(latency_run "$fn" "$paused"); done
  stop_if_disk_full
}
declare -A LAT=()
if part latency; then
  echo
  echo "### At 20k msg/s, acks=all, 1 KiB, 15 s on the 3-node Kafka (p50 / p99 in ms; seeded order per pair)"
  echo
  echo "| run | kbench corrected | kbench service | kafka-producer-perf-test | sarama (per request) |"
  echo "|---|---|---|---|---|"
  for i in $(seq "$PAIRS"); do
    latency_pair "$((900 + i))"
    read -r c50 c99 s50 s99 _ <<<"${LAT[latency_kbench]}"
    j50=- j99=- g50=- g99=-
    if [ -n "${LAT[latency_java]:-}" ]; then read -r j50 j99 _ <<<"${LAT[latency_java]}"; fi
    if [ -n "${LAT[latency_sarama]:-}" ]; then read -r g50 g99 <<<"${LAT[latency_sarama]}"; fi
    echo "| steady $i | $c50 / $c99 | $s50 / $s99 | $j50 / $j99 | $g50 / $g99 |"
  done
  echo
  echo "### The same with node 1 paused for 2 s, 6 s into the run"
  echo
  echo "| run | kbench corrected p99 / max | kbench service p99 | kafka-producer-perf-test p99 / max |"
  echo "|---|---|---|---|"
  for i in $(seq "$PAIRS"); do
    latency_pair "$((950 + i))" paused
    read -r _ c99 _ s99 cmax <<<"${LAT[latency_kbench]}"
    j99=- jmax=-
    if [ -n "${LAT[latency_java]:-}" ]; then read -r _ j99 jmax <<<"${LAT[latency_java]}"; fi
    echo "| paused $i | $c99 / $cmax | $s99 | $j99 / $jmax |"
  done
fi
