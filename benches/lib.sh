# shellcheck shell=bash
# Shared by the bench scripts (sourced): rdkafka_performance from the vendored librdkafka, a
# release kbench, `kbench broker` in the background, medians, fields of a result.
# Expects WORK (a scratch directory under target/) to be set. Sets no trap: a script that starts
# a broker stops it in its own EXIT trap (`stop_kbench_broker`).

# Builds rdkafka_performance from the librdkafka source the rdkafka-sys crate vendors (already in
# the cargo registry after any build of kbench): nothing is downloaded. Sets PERF.
build_rdkafka_performance() {
  local src
  # The newest vendored librdkafka by version order (2.12.1 after 2.9.0), not by text order.
  src=$(find "${CARGO_HOME:-$HOME/.cargo}"/registry/src -maxdepth 2 -type d -name 'rdkafka-sys-*' 2>/dev/null \
    | sort -V | tail -1)
  if [ -z "$src" ] || [ ! -d "$src/librdkafka" ]; then
    echo "error: no vendored librdkafka in the cargo registry: run cargo build first" >&2
    exit 1
  fi
  src="$src/librdkafka"
  PERF="$WORK/librdkafka/examples/rdkafka_performance"
  if [ ! -x "$PERF" ]; then
    echo "building rdkafka_performance from $src ..." >&2
    rm -rf "$WORK/librdkafka" && cp -r "$src" "$WORK/librdkafka"
    (cd "$WORK/librdkafka" && ./configure --disable-ssl --disable-gssapi --disable-curl --disable-zstd \
        --disable-lz4-ext >/dev/null && make -j2 -C src librdkafka.a >/dev/null 2>&1 \
        && make -C examples rdkafka_performance >/dev/null 2>&1)
  fi
}

# Builds kbench (release). Sets KBENCH.
build_kbench() {
  cargo build --release --quiet
  KBENCH=target/release/kbench
}

# Starts `kbench broker --brokers 3 --topic TOPIC:PARTITIONS` for at most an hour. Sets BOOT and
# BROKER (its PID); fails when no bootstrap list came within 10 s. The caller's EXIT trap stops it
# (`stop_kbench_broker`).
start_kbench_broker() {
  "$KBENCH" broker --brokers 3 --topic "$1" --seconds 3600 >"$WORK/broker.out" 2>"$WORK/broker.err" &
  BROKER=$!
  for _ in $(seq 100); do [ -s "$WORK/broker.out" ] && break; sleep 0.1; done
  BOOT=$(head -1 "$WORK/broker.out")
  if [ -z "$BOOT" ]; then
    echo "error: kbench broker printed no bootstrap list within 10 s: $(cat "$WORK/broker.err")" >&2
    exit 1
  fi
  echo "broker at $BOOT" >&2
}

# Stops the broker start_kbench_broker started, if any.
stop_kbench_broker() {
  if [ -n "${BROKER:-}" ]; then kill "$BROKER" 2>/dev/null || true; fi
}

# The median of the numbers on stdin, one a line.
median() { sort -g | awk '{a[NR]=$1} END {v = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.10g\n", v}'; }

# The values of dotted keys of a result.json, space-separated: fields FILE throughput.msgs_per_sec ...
fields() {
  python3 - "$@" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
out = []
for key in sys.argv[2:]:
    v = r
    for part in key.split("."):
        v = v[part]
    out.append(str(v))
print(" ".join(out))
PY
}

# Percentiles of the latencies (µs, one a line) in a file: "p50 p99 max" in ms.
percentiles_ms() {
  python3 - "$1" <<'PY'
import sys
v = sorted(int(x) for x in open(sys.argv[1]) if x.strip())
q = lambda p: v[min(len(v) - 1, int(p * len(v)))] / 1000
print(f"{q(0.5):.2f} {q(0.99):.2f} {v[-1] / 1000:.2f}" if v else "- - -")
PY
}
