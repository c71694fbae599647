#!/usr/bin/env bash
# tansu, an Apache-Kafka-compatible broker, for kbench's real-broker tests and for trying kbench
# against something that is not the embedded mock.
#
#   scripts/tansu.sh install   # cargo install tansu --locked --features dynostore, when missing
#   scripts/tansu.sh start     # start one on a free 127.0.0.1 port (in-memory storage); prints the
#                              # bootstrap address; state in target/tansu/
#   scripts/tansu.sh stop
#
# The default build of tansu stores nothing (null storage); the dynostore feature gives
# --storage-engine memory://tansu/. The first install builds for about 12-25 minutes on 2 cores;
# it is cached in ~/.cargo/bin afterwards. The tests start their own brokers (tests/common/tansu.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=0.6.0
STATE=target/tansu

tansu_bin() {
  if [ -n "${KBENCH_TANSU:-}" ]; then echo "$KBENCH_TANSU"; return; fi
  command -v tansu 2>/dev/null || { [ -x "$HOME/.cargo/bin/tansu" ] && echo "$HOME/.cargo/bin/tansu"; } || true
}

case "${1:-}" in
  install)
    bin="$(tansu_bin)"
    if [ -n "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$VERSION"; then
      echo "tansu $VERSION: $bin"
      exit 0
    fi
    echo "installing tansu $VERSION with in-memory storage (cargo install; about 12-25 min the first time)..."
    start=$(date +%s)
    cargo install tansu --version "$VERSION" --locked --features dynostore
    echo "tansu installed in $(( $(date +%s) - start )) s"
    ;;
  start)
    bin="$(tansu_bin)"
    [ -n "$bin" ] || { echo "error: tansu is not installed: run scripts/tansu.sh install" >&2; exit 1; }
    mkdir -p "$STATE"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # Bounded like every load loop: at most a day.
    nohup timeout 86400 "$bin" broker --listener-url "tcp://127.0.0.1:$port" \
      --advertised-listener-url "tcp://127.0.0.1:$port" --storage-engine memory://tansu/ \
      >"$STATE/tansu.log" 2>&1 &
    echo $! >"$STATE/pid"
    for _ in $(seq 50); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "127.0.0.1:$port" | tee "$STATE/bootstrap"
        exit 0
      fi
      sleep 0.2
    done
    echo "error: tansu did not start; see $STATE/tansu.log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$STATE/pid" ]; then
      kill "$(cat "$STATE/pid")" 2>/dev/null || true
      rm -f "$STATE/pid" "$STATE/bootstrap"
    fi
    ;;
  *)
    echo "usage: scripts/tansu.sh install|start|stop" >&2
    exit 2
    ;;
esac
