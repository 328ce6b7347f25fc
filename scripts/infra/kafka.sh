#!/usr/bin/env bash
# A throwaway Apache Kafka for tests: one KRaft node (broker + controller) on loopback, owned by this
# repository.
#
#   scripts/infra/kafka.sh start     fetch the jars (first time), format (first time), start, wait until
#                                    the broker answers metadata; prints 127.0.0.1:PORT. Idempotent.
#   scripts/infra/kafka.sh brokers   prints 127.0.0.1:PORT
#   scripts/infra/kafka.sh status    exit 0 when running, 3 when not
#   scripts/infra/kafka.sh halt      stops the broker but keeps its data: `start` brings it back on the
#                                    same port with its topics and offsets (outage tests)
#   scripts/infra/kafka.sh stop      stops the broker and removes everything `start` made (the jar cache stays)
#
# Broker in $OMNINODE_KAFKA_DIR, default .infra/kafka/ (server.properties, data/, kafka.log, pid, ports),
# on 127.0.0.1 port $OMNINODE_KAFKA_PORT (controller $OMNINODE_KAFKA_CONTROLLER_PORT, else PORT+1), else
# 59092/59093 or the next free pair. A second broker (a test that halts its own) sets both to its own.
# Topics are never auto-created: they come from the catalogue (ensureTopics).
#
# Kafka $OMNINODE_KAFKA_VERSION (default 4.1.2) comes from Maven Central: `mvn dependency:copy-dependencies`
# into $OMNINODE_KAFKA_CACHE (default ~/.cache/omninode/kafka-VERSION), once per machine, shared by every
# checkout. Java (17+) and Maven are installed with apt-get when missing. Progress goes to stderr; stdout
# carries only the broker address. JVM: OMNINODE_KAFKA_JVM_OPTS (appended, so it overrides), and
# OMNINODE_KAFKA_CDS=auto|use|off for the class-data archive (see cds_args).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
version="${OMNINODE_KAFKA_VERSION:-4.1.2}"
log4j_version=2.24.3
slf4j_version=2.0.17
cache="${OMNINODE_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/omninode/kafka-$version}"
libs="$cache/libs"
base="${OMNINODE_KAFKA_DIR:-$root/.infra/kafka}"
data="$base/data"
log="$base/kafka.log"
pid_file="$base/pid"
port_file="$base/port"
cport_file="$base/controller-port"
config="$base/server.properties"
log4j_config="$base/log4j2.properties"
ready_timeout_ms="${OMNINODE_KAFKA_READY_TIMEOUT_MS:-90000}"

say() { echo "kafka.sh: $*" >&2; }
die() {
  say "$*"
  exit 1
}

port() { if [[ -s "$port_file" ]]; then cat "$port_file"; else echo "${OMNINODE_KAFKA_PORT:-59092}"; fi }
brokers() { echo "127.0.0.1:$(port)"; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# OMNINODE_KAFKA_PORT when set; else the first pair 59092/59093, 59094/59095, ... that nothing listens
# on (another checkout's broker, say), so that several worktrees can run their suites at the same time.
choose_ports() {
  if [[ -n "${OMNINODE_KAFKA_PORT:-}" ]]; then
    echo "$OMNINODE_KAFKA_PORT" >"$port_file"
    echo "${OMNINODE_KAFKA_CONTROLLER_PORT:-$((OMNINODE_KAFKA_PORT + 1))}" >"$cport_file"
    return
  fi
  local p
  for p in $(seq 59092 2 59130); do
    if ! listening "$p" && ! listening "$((p + 1))"; then
      echo "$p" >"$port_file"
      echo "$((p + 1))" >"$cport_file"
      return
    fi
  done
  die "no free port pair in 59092..59131: set OMNINODE_KAFKA_PORT"
}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  else
    command -v sudo >/dev/null && sudo -n true 2>/dev/null || die "not root and no password-less sudo: install $*"
    sudo -n "$@"
  fi
}

java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }

ensure_tools() {
  local missing=()
  if ! command -v java >/dev/null || (($(java_major) < 17)); then missing+=(openjdk-17-jre-headless); fi
  command -v mvn >/dev/null || missing+=(maven)
  ((${#missing[@]})) || return 0
  say "installing Debian's ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
  command -v java >/dev/null && command -v mvn >/dev/null || die "apt-get ran but java or mvn is still missing"
}

# The broker's jars, from Maven Central, once: kafka_2.13 and what it needs at run time, plus the
# log4j2 binding (Kafka 4 logs through slf4j 2 to log4j2). A lock keeps two checkouts from fetching at
# once; the set is moved into place whole, so a half-fetched cache is never used.
ensure_libs() {
  [[ -f "$libs/.complete" ]] && return
  mkdir -p "$cache"
  exec 9>"$cache/.lock"
  flock 9
  if [[ ! -f "$libs/.complete" ]]; then
    ensure_tools
    local work
    work="$(mktemp -d "$cache/fetch.XXXXXX")"
    cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>omninode.infra</groupId>
  <artifactId>kafka-broker-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>$slf4j_version</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>$log4j_version</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$log4j_version</version></dependency>
  </dependencies>
</project>
EOF
    say "fetching Kafka $version jars from Maven Central into $libs (once)"
    mvn -B -q -Dstyle.color=never -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$work/libs" >"$work/mvn.log" 2>&1 ||
      die "mvn could not fetch kafka_2.13:$version: $(tail -30 "$work/mvn.log")"
    # a zip's directory keeps file names as plain text
    grep -qa 'kafka/tools/StorageTool.class' "$work/libs/kafka_2.13-$version.jar" ||
      die "kafka_2.13-$version.jar has no kafka.tools.StorageTool"
    rm -rf "$libs"
    mv "$work/libs" "$libs"
    rm -rf "$work"
    touch "$libs/.complete"
  fi
  flock -u 9
}

# Running means: the pid in our pid file is a JVM started on our server.properties.
running() {
  [[ -s "$pid_file" ]] || return 1
  local pid
  pid="$(cat "$pid_file")"
  [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$config"
}

node_bin() {
  if [[ -x "$root/node_modules/.bin/node" ]]; then echo "$root/node_modules/.bin/node"; else echo node; fi
}

wait_ready() {
  "$(node_bin)" "$root/scripts/infra/kafka-ready.ts" "$(brokers)" "$ready_timeout_ms" "$(cat "$pid_file")" ||
    die "the broker did not become ready; last lines of $log:
$(tail -20 "$log" 2>/dev/null)"
}

write_config() {
  local port cport
  port="$(cat "$port_file")"
  cport="$(cat "$cport_file")"
  cat >"$config" <<EOF
# written by scripts/infra/kafka.sh
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data
# topics come from the catalogue (EventBus.ensureTopics), never from a typo
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# two cores: fewer threads than the defaults (3 network, 8 io)
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
EOF
  cat >"$log4j_config" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.statechange.name = state.change.logger
logger.statechange.level = warn
logger.clients.name = org.apache.kafka.clients
logger.clients.level = warn
EOF
}

# A KRaft cluster id: 16 random bytes, base64url without padding (what `StorageTool random-uuid`
# prints), made here to save a JVM start. Kafka never uses ids that begin with '-'.
cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    [[ "$id" != -* ]] && break
  done
  echo "$id"
}

# A small heap: a test broker holds little; G1 with short pauses as Kafka's own scripts set it.
# C1 only (TieredStopAtLevel=1): on two busy cores the C2 compiler doubles the start-up time, and the
# broker still moves far more than the tests and benches ask of it. OMNINODE_KAFKA_JVM_OPTS comes last,
# so it can override any of these (-XX:TieredStopAtLevel=4 for full JIT).
read -r -a extra_jvm <<<"${OMNINODE_KAFKA_JVM_OPTS:-}"
jvm=(java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
  -XX:TieredStopAtLevel=1 -Djava.awt.headless=true -Dlog4j2.configurationFile="$log4j_config")

# Class-data sharing: the first broker a machine runs records the classes it loaded into an archive
# when it stops (once, a few seconds); later JVMs map it instead of loading ~10k classes from the jars,
# which halves the start-up. One archive per JDK build, beside the jars; a stale or broken one only makes
# the JVM warn and load classes the slow way. OMNINODE_KAFKA_CDS=use maps an archive but never writes
# one (a broker that a test halts should not spend its halt writing it), off does neither.
cds_archive() {
  local jvm_lib
  jvm_lib="$(dirname "$(readlink -f "$(command -v java)")")/../lib/server/libjvm.so"
  echo "$cache/broker-$(stat -c '%s-%Y' "$jvm_lib" 2>/dev/null || echo unknown).jsa"
}
cds_pending="$base/cds.jsa.pending"

cds_args() {
  local archive mode="${OMNINODE_KAFKA_CDS:-auto}"
  archive="$(cds_archive)"
  rm -f "$cds_pending"
  if [[ "$mode" != off && -s "$archive" ]]; then
    echo "-XX:SharedArchiveFile=$archive"
  elif [[ "$mode" == auto ]]; then
    echo "-XX:ArchiveClassesAtExit=$cds_pending"
  fi
}

start() {
  ensure_libs
  if running; then
    wait_ready
    brokers
    return
  fi
  command -v java >/dev/null || ensure_tools
  mkdir -p "$data"
  # the ports chosen at the first start stick until stop, whatever OMNINODE_KAFKA_PORT says later
  [[ -s "$port_file" && -s "$cport_file" ]] || choose_ports
  write_config
  if [[ ! -f "$data/meta.properties" ]]; then
    say "formatting $data"
    "${jvm[@]}" -cp "$libs/*" kafka.tools.StorageTool format -t "$(cluster_id)" -c "$config" --ignore-formatted \
      >"$base/format.log" 2>&1 || die "storage format failed: $(tail -5 "$base/format.log")"
  fi
  say "starting Kafka $version on $(brokers) (controller 127.0.0.1:$(cat "$cport_file"))"
  # setsid: the broker outlives this script and is not in the caller's process group (Ctrl-C there
  # does not reach it; stop/halt do); setsid execs java in place, so $! is the JVM
  local cds
  cds="$(cds_args)"
  setsid "${jvm[@]}" ${cds:+"$cds"} "${extra_jvm[@]}" -cp "$libs/*" kafka.Kafka "$config" </dev/null >>"$log" 2>&1 &
  echo $! >"$pid_file"
  wait_ready
  brokers
}

# Sends TERM (a controlled shutdown) and waits for the JVM to exit; KILL after 30 s (60 s while it
# writes the class-data archive). A finished archive goes beside the jars; a killed JVM's is dropped.
stop_broker() {
  running || return 0
  local pid i limit=300 killed=0
  pid="$(cat "$pid_file")"
  if tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q ArchiveClassesAtExit; then
    limit=600
    say "writing the class-data archive (once per machine: later starts are faster)"
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < limit; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "the broker did not stop within $((limit / 10)) s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
    killed=1
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$pid_file"
  if [[ -s "$cds_pending" && $killed -eq 0 ]]; then
    # copied beside the archive, then renamed without replacing: a concurrent start sees all or nothing
    local archive
    archive="$(cds_archive)"
    cp "$cds_pending" "$archive.$$" && mv -n "$archive.$$" "$archive"
    rm -f "$archive.$$"
  fi
  rm -f "$cds_pending"
}

halt() {
  if running; then
    say "halting (the data stays; start resumes it)"
    stop_broker
  fi
}

# Removes only what start made, so that OMNINODE_KAFKA_DIR may name a directory that holds other things.
stop() {
  [[ -d "$base" ]] || return 0
  if running; then
    say "stopping"
    stop_broker
  fi
  rm -rf "$data"
  rm -f "$log" "$pid_file" "$port_file" "$cport_file" "$config" "$log4j_config" "$base/format.log"
  rmdir "$base" 2>/dev/null || true
  rmdir "$root/.infra" 2>/dev/null || true
}

status() {
  if running; then
    say "running: $(brokers)"
  else
    say "not running"
    return 3
  fi
}

case "${1:-}" in
start) start ;;
halt) halt ;;
stop) stop ;;
brokers) brokers ;;
status) status ;;
*) die "usage: $0 start|halt|stop|brokers|status" ;;
esac
