#!/usr/bin/env bash
# Apache Kafka from its Maven Central jars, as a local KRaft cluster for kbench's tests, benches
# and for trying kbench against the real thing. The twin of scripts/tansu.sh.
#
#   scripts/kafka.sh install        # the jars (and an SLF4J binding) into ~/.cache/kbench/kafka-VERSION/lib, once
#   scripts/kafka.sh start [N]      # N (default 3) combined broker+controller nodes on 127.0.0.1 with
#                                   # free ports; prints the bootstrap list once every node is in the
#                                   # cluster's metadata. State in $KBENCH_KAFKA_STATE (default target/kafka)
#   scripts/kafka.sh stop           # every node, by PID
#   scripts/kafka.sh pause I | resume I | kill I | restart I   # node I (1..N): SIGSTOP, SIGCONT, SIGKILL, start again
#   scripts/kafka.sh bootstrap      # the bootstrap list of the running cluster
#   scripts/kafka.sh java CLASS ARGS...   # a class of the jars (a Kafka tool) with the same classpath
#                                         # (JVM options: $KBENCH_JAVA_OPTS, see run_java)
#
# With KBENCH_KAFKA_SECURE=1, start also opens on every node a SASL_PLAINTEXT listener (SCRAM-SHA-512,
# user "kbench", created at format time; the password is $KBENCH_KAFKA_SCRAM_PASSWORD or a random one
# in $STATE/scram-password) and an SSL listener with a throwaway CA ($STATE/ca.pem); their bootstrap
# lists are in $STATE/sasl-bootstrap and $STATE/ssl-bootstrap.
#
# With KBENCH_KAFKA_OWNER=PID, start also leaves a watcher that stops the cluster and deletes
# $KBENCH_KAFKA_STATE once process PID has exited (a test binary sharing one cluster among its tests).
#
# Replication factor min(3, N) for new topics and for the offsets and transaction-state topics;
# min.insync.replicas 2 for N >= 3. Each node runs with a 512 MiB heap under `timeout` (at most
# KBENCH_KAFKA_SECONDS, default 2 h) and is stopped by PID, never by name.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=4.1.2
LOG4J=2.24.3
CACHE="${KBENCH_KAFKA_CACHE:-$HOME/.cache/kbench/kafka-$VERSION}"
LIB="$CACHE/lib"
STATE="${KBENCH_KAFKA_STATE:-target/kafka}"
SECONDS_BOUND="${KBENCH_KAFKA_SECONDS:-7200}"

die() { echo "error: $*" >&2; exit 1; }

install() {
  if [ -f "$LIB/.complete" ]; then
    echo "kafka $VERSION: $LIB"
    return
  fi
  command -v java >/dev/null || die "install: java is not installed (OpenJDK 17 or newer)"
  command -v mvn >/dev/null || die "install: mvn is not installed (Maven fetches the jars)"
  echo "installing Apache Kafka $VERSION jars with Maven into $LIB ..."
  mkdir -p "$CACHE"
  cat >"$CACHE/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>kbench</groupId><artifactId>kafka-runtime</artifactId><version>$VERSION</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$VERSION</version></dependency>
    <!-- The POMs bring no SLF4J binding: the one Kafka's tarball ships, on log4j2. -->
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J</version></dependency>
  </dependencies>
</project>
EOF
  rm -rf "$LIB"
  mvn -q -B -f "$CACHE/pom.xml" dependency:copy-dependencies -DoutputDirectory="$LIB" \
    || die "install: Maven could not resolve org.apache.kafka:kafka_2.13:$VERSION and its dependencies (is Maven Central reachable?)"
  ls "$LIB"/kafka_2.13-"$VERSION".jar >/dev/null || die "install: kafka_2.13-$VERSION.jar is missing from $LIB"
  touch "$LIB/.complete"
  echo "kafka $VERSION installed: $(find "$LIB" -name '*.jar' | wc -l) jars"
}

# JVM options of a tool run: by default a small heap and the quick-starting C1 JIT only (the admin
# tools run for a second); KBENCH_JAVA_OPTS replaces them (benches/peers.sh passes the options
# Kafka's own kafka-producer-perf-test.sh gets from kafka-run-class.sh).
run_java() {
  [ -f "$LIB/.complete" ] || die "kafka is not installed: run scripts/kafka.sh install"
  # shellcheck disable=SC2086 # the options are words
  java ${KBENCH_JAVA_OPTS:--Xmx256m -XX:TieredStopAtLevel=1} \
    -Dlog4j2.configurationFile="$CACHE/log4j2-tools.properties" -cp "$LIB/*" "$@"
}

# N free ports on 127.0.0.1, all different: every socket stays bound until all are chosen (one
# port at a time, the kernel may hand out the same one twice).
free_ports() {
  python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

log_configs() {
  cat >"$CACHE/log4j2-tools.properties" <<'EOF'
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = STDERR
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = %d %p %c: %m%n
EOF
}

# A throwaway CA and a certificate for 127.0.0.1 (PEM, unencrypted PKCS#8 key) for the SSL listener.
certificates() {
  local d="$STATE/tls"
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=kbench-test-ca 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\n' >ext.cnf
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile ext.cnf 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in server.key -out server.p8
    cat server.p8 server.crt >server.pem
  ) || die "start: openssl could not make the test certificates"
  cp "$d/ca.pem" "$STATE/ca.pem"
}

# Writes node I's configuration; ports come from $STATE/ports (one "broker controller [sasl ssl]"
# line a node).
node_config() {
  local i=$1 n=$2
  local dir="$STATE/node-$i"
  local ports voters="" j=1 rf=$(( n < 3 ? n : 3 )) isr=$(( n >= 3 ? 2 : 1 ))
  while read -r bp cp sp tp; do
    voters+="${voters:+,}$j@127.0.0.1:$cp"
    [ "$j" = "$i" ] && ports="$bp $cp ${sp:-} ${tp:-}"
    j=$((j + 1))
  done <"$STATE/ports"
  read -r bp cp sp tp <<<"$ports"
  local listeners="PLAINTEXT://127.0.0.1:$bp,CONTROLLER://127.0.0.1:$cp"
  local advertised="PLAINTEXT://127.0.0.1:$bp"
  local map="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  local secure=""
  if [ -n "${sp:-}" ]; then
    listeners+=",SASL_PLAINTEXT://127.0.0.1:$sp,SSL://127.0.0.1:$tp"
    advertised+=",SASL_PLAINTEXT://127.0.0.1:$sp,SSL://127.0.0.1:$tp"
    map+=",SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL"
    secure="sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.ssl.ssl.keystore.type=PEM
listener.name.ssl.ssl.keystore.location=$STATE/tls/server.pem
listener.name.ssl.ssl.client.auth=none"
  fi
  mkdir -p "$dir"
  cat >"$dir/node.properties" <<EOF
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$map
$secure
log.dirs=$dir/data
num.partitions=6
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=6
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=500
replica.lag.time.max.ms=5000
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=8388608
log.segment.bytes=67108864
log.retention.check.interval.ms=5000
file.delete.delay.ms=1000
num.io.threads=2
num.network.threads=2
num.replica.fetchers=1
background.threads=2
EOF
  cat >"$dir/log4j2.properties" <<EOF
rootLogger.level = warn
rootLogger.appenderRef.file.ref = FILE
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $dir/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
EOF
}

# Starts node I (already formatted); records the PIDs of `timeout` and of the JVM.
start_node() {
  local i=$1
  local dir="$STATE/node-$i"
  nohup timeout -s KILL "$SECONDS_BOUND" java -Xms256m -Xmx512m -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$LIB/*" kafka.Kafka "$dir/node.properties" \
    >"$dir/stdout.log" 2>&1 &
  local outer=$!
  echo "$outer" >"$dir/timeout.pid"
  for _ in $(seq 50); do
    local jvm
    jvm=$(pgrep -P "$outer" java || true)
    if [ -n "$jvm" ]; then
      echo "$jvm" >"$dir/pid"
      return
    fi
    sleep 0.1
  done
  die "node $i did not start; see $dir/stdout.log"
}

bootstrap_list() {
  [ -f "$STATE/ports" ] || die "no cluster in $STATE: run scripts/kafka.sh start"
  local out=""
  while read -r bp _rest; do out+="${out:+,}127.0.0.1:$bp"; done <"$STATE/ports"
  echo "$out"
}

# Waits until every node is in the cluster metadata (the brokers a client sees), at most 120 s.
wait_for_brokers() {
  local n=$1 b
  b=$(bootstrap_list)
  for _ in $(seq 60); do
    local seen
    seen=$(run_java org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "$b" 2>/dev/null \
      | grep -c '^127\.0\.0\.1:[0-9]* (id: ' || true)
    if [ "$seen" -ge "$n" ]; then
      return
    fi
    sleep 2
  done
  die "the cluster did not show $n brokers within 120 s; see $STATE/node-*/server.log"
}

start() {
  local n=${1:-3}
  [ "$n" -ge 1 ] || die "start: N must be at least 1"
  install >/dev/null
  log_configs
  if [ -f "$STATE/ports" ]; then stop; fi
  rm -rf "$STATE"
  mkdir -p "$STATE"
  local secure="${KBENCH_KAFKA_SECURE:-0}" scram=()
  local per=2
  [ "$secure" = 1 ] && per=4
  # One line a node: "broker controller [sasl ssl]".
  free_ports $((n * per)) | xargs -n "$per" >"$STATE/ports"
  echo "$n" >"$STATE/nodes"
  if [ "$secure" = 1 ]; then
    certificates
    local password="${KBENCH_KAFKA_SCRAM_PASSWORD:-}"
    if [ -z "$password" ]; then
      password=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
    fi
    (umask 077 && printf '%s' "$password" >"$STATE/scram-password")
    scram=(--add-scram "SCRAM-SHA-512=[name=kbench,password=$password]")
  fi
  local id
  id=$(run_java kafka.tools.StorageTool random-uuid)
  for i in $(seq "$n"); do
    node_config "$i" "$n"
    run_java kafka.tools.StorageTool format -t "$id" -c "$STATE/node-$i/node.properties" "${scram[@]}" >/dev/null \
      || die "start: formatting node $i failed"
  done
  for i in $(seq "$n"); do start_node "$i"; done
  wait_for_brokers "$n"
  if [ "$secure" = 1 ]; then
    awk '{printf "%s127.0.0.1:%s", (NR > 1 ? "," : ""), $3}' "$STATE/ports" >"$STATE/sasl-bootstrap"
    awk '{printf "%s127.0.0.1:%s", (NR > 1 ? "," : ""), $4}' "$STATE/ports" >"$STATE/ssl-bootstrap"
  fi
  if [ -n "${KBENCH_KAFKA_OWNER:-}" ]; then watch_owner "$KBENCH_KAFKA_OWNER"; fi
  bootstrap_list | tee "$STATE/bootstrap"
}

# A watcher (bounded like the nodes) that stops the cluster and deletes its state once PID exits.
watch_owner() {
  # shellcheck disable=SC2016 # the inner script expands its own arguments
  nohup bash -c '
    end=$((SECONDS + $3))
    while kill -0 "$1" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 1; done
    KBENCH_KAFKA_STATE="$2" bash scripts/kafka.sh stop
    rm -rf "$2"' watcher "$1" "$STATE" "$SECONDS_BOUND" </dev/null >/dev/null 2>&1 &
  echo $! >"$STATE/watch.pid"
}

node_pid() {
  local f="$STATE/node-$1/pid"
  [ -f "$f" ] || die "node $1 is not running (no $f)"
  cat "$f"
}

stop() {
  [ -d "$STATE" ] || return 0
  # The owner's watcher, unless it is the one stopping the cluster.
  if [ -f "$STATE/watch.pid" ] && [ "$(cat "$STATE/watch.pid")" != "$PPID" ]; then
    kill "$(cat "$STATE/watch.pid")" 2>/dev/null || true
    rm -f "$STATE/watch.pid"
  fi
  for f in "$STATE"/node-*/pid; do
    [ -f "$f" ] || continue
    local pid dir
    pid=$(cat "$f")
    dir=$(dirname "$f")
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    if [ -f "$dir/timeout.pid" ]; then kill -KILL "$(cat "$dir/timeout.pid")" 2>/dev/null || true; fi
    rm -f "$f" "$dir/timeout.pid"
  done
}

case "${1:-}" in
  install) install ;;
  start) start "${2:-3}" ;;
  stop) stop ;;
  bootstrap) bootstrap_list ;;
  pause) kill -STOP "$(node_pid "${2:?node}")" ;;
  resume) kill -CONT "$(node_pid "${2:?node}")" ;;
  kill)
    pid=$(node_pid "${2:?node}")
    kill -KILL "$pid"
    rm -f "$STATE/node-$2/pid"
    ;;
  restart)
    i=${2:?node}
    if [ -f "$STATE/node-$i/pid" ]; then kill -KILL "$(cat "$STATE/node-$i/pid")" 2>/dev/null || true; fi
    start_node "$i"
    ;;
  java) shift; log_configs; run_java "$@" ;;
  *)
    echo "usage: scripts/kafka.sh install|start [N]|stop|bootstrap|pause I|resume I|kill I|restart I|java CLASS ARGS..." >&2
    exit 2
    ;;
esac
