#!/usr/bin/env bash
# Throughput / latency / failover benchmark of zkafka (and, with KAFKA_HOME, of a real
# Kafka 2.x with the same matrix, printing zkafka/Kafka ratios).
#
#   scripts/bench.sh            builds target/release/zkafka --features perf if missing
#
# Starts its OWN standalone ZooKeeper and brokers on free ports in 20000-32000 (never
# 2181-2183/9092-9094, so a quickstart cluster is left alone), in a temporary directory,
# and kills everything it started on exit (trap).  Scenarios (stock client settings, i.e.
# the Java producer's defaults, which `zkafka perf producer` applies):
#   1 broker,  6 partitions, RF=1, acks=1: saturating (100 B, 1 KiB, 16 KiB records),
#              20,000 rec/s latency (100 B), consumer (1M records at the default counts);
#              zkafka's brokers serve their HTTP endpoint (zkafka.http.listener), and the
#              100 B saturating run is repeated with /metrics scraped every second
#   3 brokers, 6 partitions, RF=3, min.insync.replicas=2, acks=all: the same, plus the 100 B
#              saturating run with an idempotent and with a transactional producer (Kafka's
#              ProducerPerformance --transaction-duration-ms: a commit every 100 ms), and the
#              plain and idempotent runs again with 1 request in flight per connection (equal
#              concurrency: librdkafka's idempotent producer holds a partition's next request
#              while 5 or more of its messages are unacknowledged, i.e. one at a time, and its
#              broker threads poll without sleeping meanwhile; see the client CPU line), and
#              the plain and idempotent runs with librdkafka's own batching defaults (linger
#              5 ms, 1 MB batches: what confluent-kafka users get), where that limit binds less.
#              Saturating rows report their steady state: the first fifth of the records is
#              warmup (--warmup-records, as newer Kafka's ProducerPerformance), which leaves
#              out client start-up such as the idempotent producer's wait for its ProducerId.
#              With Kafka's own kafka-producer-perf-test.sh (BENCH_JAVA_PERF, or KAFKA_HOME's),
#              the plain, idempotent and transactional runs once more with the Java producer,
#              whose idempotent producer keeps 5 requests per partition in flight ("Java
#              producer" rows; 4x the records where the tool has no --warmup-records)
#   failover:  1,000 partitions RF=2 on 3 brokers, kill -9 of a (non-controller) broker
#              leading ~1/3 of them; time until every partition it led has a new leader
#              in ZooKeeper, from the kill and from its session expiry (/brokers/ids/N gone)
#   scale:     BENCH_SCALE_PARTITIONS partitions (default 2,000; 10,000, 50,000, 100,000 on
#              request) RF=2 on 3 brokers, each under `ulimit -n` BENCH_SCALE_NOFILE (default
#              20,000): create -> all led, RSS and open files per broker, kill -9 of a broker ->
#              all re-led (after its /brokers/ids znode vanished), restart -> back in every ISR,
#              SIGTERM (controlled shutdown) -> time to exit and partitions still led at exit,
#              kill -9 of the controller -> new controller and all re-led; times from the
#              state znodes' own mtimes (`zkafka perf partition-states`); idle CPU per broker
#              over BENCH_SCALE_IDLE_SECS (default 60) once all are led and
#              BENCH_SCALE_SETTLE_SECS (default 5) passed (BENCH_SCALE_IDLE_ONLY=1 stops there);
#              BENCH_SCALE_TOPICS=T spreads the partitions over T topics (scale-0 ..), as
#              100,000 partitions' assignment outgrows one znode (jute.maxbuffer);
#              scripts/bench-scale.sh
#   idle connections: 1 broker, BENCH_IDLE_CONNECTIONS (default 1,000) connections that sent
#              one ApiVersions each: VmRSS before, open, after close; bytes per connection
#   security: the 100 B and 1 KiB saturating runs and the consumer on 1 and 3 brokers whose
#              only listener is SSL (inter-broker SSL too), and the 1-broker 100 B runs over
#              SASL_SSL (PLAIN), each printed next to its PLAINTEXT twin (scripts/bench-security.sh;
#              rows named "..., SSL" / "..., SASL_SSL (PLAIN)"; zkafka only)
#   validation: `zkafka bench-log`: log append/read vs raw disk and LogValidator's cost per
#              16 KiB batch and per record (uncompressed and lz4)
# Also: broker CPU (utime+stime) per GB ingested, VmRSS idle/after, raw disk write MB/s (dd).
#
# Knobs (environment): BENCH_DIR (default: a mktemp dir under $ZKAFKA_DATA_DIR/..; removed at
# the end unless BENCH_KEEP=1), BENCH_RECORDS (100 B saturating count, default 5000000;
# 3 brokers: half; 1 KiB: a quarter; 16 KiB: 1/40),
# BENCH_ONLY (an extended regex: run only the scenarios whose name matches, e.g. 'consumer'
# or '16 KiB'; the failover scenario is named "failover", the scale one "scale"),
# BENCH_LAT_SECS (latency run length, default 30), BENCH_ZK_SESSION_MS (broker session
# timeout, default 6000 = Kafka 2.1's default), KAFKA_HOME (a Kafka 2.x distribution: run the
# matrix against it too), BENCH_JAVA_PERF (a kafka-producer-perf-test.sh for the Java rows;
# default KAFKA_HOME's; without either those rows are skipped), BENCH_BROKER_PROPS (lines appended to every broker's
# server.properties), BENCH_BROKER_LOG (zkafka brokers' ZKAFKA_LOG, default warn; with
# BENCH_KEEP=1 their server.out holds e.g. an info-level timeline of a restart),
# BENCH_CLIENT_NICE (niceness of every perf producer, default 0; 19 stands in for a client on
# its own machine, whose CPU use then slows no broker).  The same client (zkafka perf,
# librdkafka) is used for both targets so the ratios compare brokers, not clients.
#
# The machine is shared (2 cores): numbers are noisy, run it twice before trusting a delta.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/bench-security.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-security.sh"
# shellcheck source=scripts/bench-scale.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-scale.sh"

RECORDS="${BENCH_RECORDS:-5000000}"
LAT_SECS="${BENCH_LAT_SECS:-30}"
SESSION_MS="${BENCH_ZK_SESSION_MS:-6000}"
LAT_RATE=20000
# Records the consumer scenarios read: 1M, or what the smaller 3-broker fill holds.
CONSUME_N=$((RECORDS / 2 < 1000000 ? RECORDS / 2 : 1000000))
ensure_zookeeper
ensure_perf_binary
# The broker under test is the same binary unless ZKAFKA_BIN says otherwise.
[[ -x "$ZKAFKA_BIN" ]] || ZKAFKA_BIN="$PERF_BIN"
# Kafka's own ProducerPerformance (the Java producer) for the "Java producer" rows: the
# idempotent Java producer keeps 5 requests per partition in flight, librdkafka's one.
JAVA_PERF="${BENCH_JAVA_PERF:-}"
if [[ -z "$JAVA_PERF" && -x "${KAFKA_HOME:-}/bin/kafka-producer-perf-test.sh" ]]; then
  JAVA_PERF="$KAFKA_HOME/bin/kafka-producer-perf-test.sh"
fi
[[ -z "$JAVA_PERF" || -x "$JAVA_PERF" ]] || die "BENCH_JAVA_PERF=$JAVA_PERF is not executable"
JAVA_PERF_WARMUP=0
if [[ -n "$JAVA_PERF" ]] && "$JAVA_PERF" --help 2>&1 | grep -q -- --warmup-records; then
  JAVA_PERF_WARMUP=1
fi

BENCH_DIR="${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/zkafka-bench.XXXXXX")}"
mkdir -p "$BENCH_DIR"
RESULTS="$BENCH_DIR/results.tsv"
: >"$RESULTS"
declare -a STARTED=() # pids of everything this script started

cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  for pid in "${STARTED[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ "${BENCH_KEEP:-0}" != 1 ]]; then
    rm -rf "$BENCH_DIR"
  else
    info "kept $BENCH_DIR"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }

# wanted SCENARIO: BENCH_ONLY is unset or matches the scenario's name.
wanted() { [[ -z "${BENCH_ONLY:-}" ]] || grep -qE -- "$BENCH_ONLY" <<<"$1"; }

# free_port: a port in 20000-32000 nobody listens on and that we did not hand out.
declare -A USED_PORTS=()
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    [[ -n "${USED_PORTS[$p]:-}" ]] && continue
    port_open "$p" && continue
    USED_PORTS[$p]=1
    printf '%s\n' "$p"
    return 0
  done
}

# wait_until SECS DESC CMD...: poll CMD every 0.2 s; die after SECS.
wait_until() {
  local secs="$1" desc="$2" deadline
  shift 2
  deadline=$((SECONDS + secs))
  until "$@"; do
    ((SECONDS < deadline)) || die "timed out after ${secs}s waiting for $desc (files in $BENCH_DIR)"
    sleep 0.2
  done
}

# ---------------------------------------------------------------- /proc sampling

cpu_ticks() { # pid -> utime+stime in clock ticks
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
rss_mb() { # pid -> VmRSS in MB
  awk '/^VmRSS:/ { printf "%d\n", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo 0
}
anon_mb() { # pid -> RssAnon in MB (VmRSS also counts mapped files: the binary, index files)
  awk '/^RssAnon:/ { printf "%d\n", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo 0
}
hwm_mb() {
  awk '/^VmHWM:/ { printf "%d\n", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo 0
}
CLK_TCK="$(getconf CLK_TCK)"
# children_cpu_s VAR: sets VAR to the user+sys seconds of this shell's finished children
# (bash's `times`, run in this shell: in a pipe or $(...) it would report a subshell's).
children_cpu_s() {
  times >"$BENCH_DIR/times"
  printf -v "$1" '%s' "$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] } printf "%.2f", t }' "$BENCH_DIR/times")"
}
sum_cpu_ticks() {
  local pid total=0
  for pid in "$@"; do total=$((total + $(cpu_ticks "$pid"))); done
  printf '%s\n' "$total"
}
sum_rss() {
  local pid total=0
  for pid in "$@"; do total=$((total + $(rss_mb "$pid"))); done
  printf '%s\n' "$total"
}
sum_anon() {
  local pid total=0
  for pid in "$@"; do total=$((total + $(anon_mb "$pid"))); done
  printf '%s\n' "$total"
}
max_hwm() {
  local pid m=0 h
  for pid in "$@"; do
    h="$(hwm_mb "$pid")"
    ((h > m)) && m="$h"
  done
  printf '%s\n' "$m"
}

# ---------------------------------------------------------------- ZooKeeper

ZK_PORT=""
start_zookeeper() {
  local dir="$BENCH_DIR/zk" cfg
  ZK_PORT="$(free_port)"
  mkdir -p "$dir"
  cfg="$dir/zoo.cfg"
  cat >"$cfg" <<EOF
tickTime=2000
dataDir=$dir
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
EOF
  local -a flags
  mapfile -t flags < <(zk_jvm_flags)
  "$(java_bin)" "${flags[@]}" "-Dzookeeper.log.dir=$dir" -cp "$(zk_classpath)" "$ZK_MAIN" "$cfg" \
    >"$dir/zookeeper.out" 2>&1 </dev/null &
  STARTED+=("$!")
  wait_until 60 "ZooKeeper on 127.0.0.1:$ZK_PORT" zk_serving
  info "ZooKeeper serving on 127.0.0.1:$ZK_PORT"
}
zk_serving() { [[ -n "$(zk_mode 127.0.0.1 "$ZK_PORT")" ]]; }

# zk_ephemeral_exists PATH: the ephemeral znode is held by a live session (4lw `dump`).
zk_ephemeral_exists() {
  zk_4lw 127.0.0.1 "$ZK_PORT" dump | grep -qxF "	$1"
}

# ---------------------------------------------------------------- brokers

TARGET=zkafka # or kafka
declare -a BROKER_PIDS=() BROKER_PORTS=()
CHROOT=""

topics() {
  if [[ "$TARGET" == kafka ]]; then
    "$KAFKA_HOME/bin/kafka-topics.sh" --zookeeper "127.0.0.1:$ZK_PORT$CHROOT" "$@"
  else
    "$ZKAFKA_BIN" topics --zookeeper "127.0.0.1:$ZK_PORT$CHROOT" "$@"
  fi
}

bootstrap() {
  local p out=""
  for p in "${BROKER_PORTS[@]}"; do out="${out:+$out,}127.0.0.1:$p"; done
  printf '%s\n' "$out"
}

# start_cluster N NAME: N brokers (ids 1..N) under chroot /NAME, stock Kafka sample config.
start_cluster() {
  local n="$1" name="$2" id port dir props rf
  CHROOT="/$TARGET-$name"
  BROKER_PIDS=()
  BROKER_PORTS=()
  HTTP_PORTS=()
  FILLED=() # topic names repeat across clusters
  rf=$((n < 3 ? n : 3))
  for ((id = 1; id <= n; id++)); do
    port="$(free_port)"
    dir="$BENCH_DIR/$TARGET-$name/broker-$id"
    mkdir -p "$dir/logs"
    props="$dir/server.properties"
    cat >"$props" <<EOF
broker.id=$id
$(listener_props "$port")
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
log.dirs=$dir/logs
num.partitions=1
default.replication.factor=$rf
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=1
num.recovery.threads.per.data.dir=1
log.retention.hours=168
log.segment.bytes=1073741824
zookeeper.connect=127.0.0.1:$ZK_PORT$CHROOT
zookeeper.connection.timeout.ms=18000
zookeeper.session.timeout.ms=$SESSION_MS
group.initial.rebalance.delay.ms=0
EOF
    # Extra broker settings, one per line (e.g. max.incremental.fetch.session.cache.slots=0).
    [[ -z "${BENCH_BROKER_PROPS:-}" ]] || printf '%s\n' "$BENCH_BROKER_PROPS" >>"$props"
    if [[ "$TARGET" == zkafka ]]; then
      HTTP_PORTS+=("$(free_port)")
      echo "zkafka.http.listener=127.0.0.1:${HTTP_PORTS[-1]}" >>"$props"
    fi
    BROKER_PIDS+=(0)
    BROKER_PORTS+=("$port")
    launch_broker "$id"
  done
  for ((id = 1; id <= n; id++)); do
    wait_until 90 "broker $id of $TARGET-$name to register" zk_ephemeral_exists "$CHROOT/brokers/ids/$id"
  done
  wait_until 30 "a controller" zk_ephemeral_exists "$CHROOT/controller"
  info "$TARGET $name: $n broker(s) up ($(bootstrap)), pids ${BROKER_PIDS[*]}"
}

# launch_broker ID: (re)starts broker ID of the current cluster from its server.properties,
# under `ulimit -n $BROKER_NOFILE` when that is set.
BROKER_NOFILE=""
launch_broker() {
  local id="$1" dir="$BENCH_DIR/$TARGET-${CHROOT#/"$TARGET"-}/broker-$1"
  local props="$dir/server.properties"
  (
    [[ -z "$BROKER_NOFILE" ]] || ulimit -n "$BROKER_NOFILE"
    if [[ "$TARGET" == kafka ]]; then
      LOG_DIR="$dir" KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}" \
        exec "$KAFKA_HOME/bin/kafka-server-start.sh" "$props" >>"$dir/server.out" 2>&1 </dev/null
    else
      ZKAFKA_LOG="${BENCH_BROKER_LOG:-warn}" exec "$ZKAFKA_BIN" server "$props" >>"$dir/server.out" 2>&1 </dev/null
    fi
  ) &
  STARTED+=("$!")
  BROKER_PIDS[id - 1]="$!"
}

stop_cluster() {
  local pid
  for pid in "${BROKER_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${BROKER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  BROKER_PIDS=()
}

# all_led TOPIC N: --describe shows N partitions, every one with a leader.
all_led() {
  local out
  out="$(topics --describe --topic "$1" 2>/dev/null)" || return 1
  # No leader: zkafka and Kafka 2.x print "none", older Kafka tools "-1".
  [[ "$(grep -c 'Partition: ' <<<"$out")" -eq "$2" ]] && ! grep -qE 'Leader: (none|-1)' <<<"$out"
}

create_topic() { # TOPIC PARTITIONS RF [CONFIG...]
  local topic="$1" parts="$2" rf="$3" c
  shift 3
  local -a extra=()
  for c in "$@"; do extra+=(--config "$c"); done
  topics --create --topic "$topic" --partitions "$parts" --replication-factor "$rf" "${extra[@]}" >/dev/null
  wait_until 120 "leaders for $topic" all_led "$topic" "$parts"
}

# ---------------------------------------------------------------- scenarios

RSS_IDLE=0
declare -A FILLED=() # topics a producer scenario has written to
# record SCENARIO REC/S MB/S P50 P99 P999 CPU_S_PER_GB: one result row, with the brokers'
# RSS idle (sampled after startup) and now, and their anonymous RSS now.
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$TARGET" "$@" "$RSS_IDLE" \
    "$(sum_rss "${BROKER_PIDS[@]}")" "$(sum_anon "${BROKER_PIDS[@]}")" >>"$RESULTS"
}

# produce SCENARIO TOPIC RECORDS SIZE RATE ACKS [PROP=VALUE | --FLAG=VALUE...]: run the
# producer (with extra producer properties, e.g. enable.idempotence=true, and perf tool flags,
# e.g. --transaction-duration-ms=100), record its final line.
produce() {
  local scenario="$1" topic="$2" n="$3" size="$4" rate="$5" acks="$6" out c0 c1 line arg
  local -a props=() flags=() tool=("$PERF_BIN" perf producer)
  local warmup=1
  for arg in "${@:7}"; do
    case "$arg" in
      --java) tool=("$JAVA_PERF") warmup="$JAVA_PERF_WARMUP" ;;
      --*) flags+=("$arg") ;;
      *) props+=("$arg") ;;
    esac
  done
  props+=("${CLIENT_PROPS[@]}")
  # Saturating runs report their steady state: the first fifth of the records is warmup, so
  # client start-up (an idempotent producer waits up to 500 ms for its ProducerId) is left out.
  # Kafka's own tool has --warmup-records only from 4.0 on (its rows run longer instead).
  [[ "$rate" != -1 ]] || ((!warmup)) || flags+=("--warmup-records=$((n / 5))")
  wanted "$scenario" || return 0
  if [[ -z "${tool[0]}" ]]; then
    info "$TARGET: $scenario: skipped (no Java ProducerPerformance: set BENCH_JAVA_PERF or KAFKA_HOME)"
    return 0
  fi
  FILLED[$topic]=1
  # Earlier scenarios' dirty pages would otherwise throttle this one's writes (writeback).
  sync
  out="$BENCH_DIR/$TARGET-$(tr ' /=,' '____' <<<"$scenario").out"
  info "$TARGET: $scenario ($n records of $size B, throughput $rate, acks=$acks)"
  c0="$(sum_cpu_ticks "${BROKER_PIDS[@]}")"
  local client0 client1
  children_cpu_s client0
  timeout 300 nice -n "${BENCH_CLIENT_NICE:-0}" "${tool[@]}" --topic "$topic" --num-records "$n" --record-size "$size" \
    --throughput "$rate" "${flags[@]}" --producer-props "acks=$acks" "bootstrap.servers=$(bootstrap)" "${props[@]}" >"$out" 2>&1 ||
    { tail -n 5 "$out" >&2; die "producer failed: $scenario"; }
  c1="$(sum_cpu_ticks "${BROKER_PIDS[@]}")"
  line="$(grep ' ms 99.9th\.$' "$out" | tail -n1)"
  [[ -n "$line" ]] || die "no final line from the producer ($out)"
  echo "    $line"
  children_cpu_s client1
  echo "    client ($(basename "${tool[0]}")) CPU: $(awk -v a="$client0" -v b="$client1" 'BEGIN { printf "%.2f", b - a }') s user+sys"
  # "N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency, P ms 50th, ..."
  local recs mbs p50 p99 p999 cpu_per_gb
  recs="$(sed -E 's/^[0-9]+( steady state)? records sent, ([0-9.]+) records\/sec.*/\2/' <<<"$line")"
  mbs="$(sed -E 's/.*\(([0-9.]+) MB\/sec\).*/\1/' <<<"$line")"
  p50="$(sed -E 's/.* ([0-9]+) ms 50th.*/\1/' <<<"$line")"
  p99="$(sed -E 's/.* ([0-9]+) ms 99th.*/\1/' <<<"$line")"
  p999="$(sed -E 's/.* ([0-9]+) ms 99\.9th.*/\1/' <<<"$line")"
  cpu_per_gb="$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v b=$((n * size)) 'BEGIN { printf "%.1f", (t / hz) / (b / 1e9) }')"
  record "$scenario" "$(printf '%.0f' "$recs")" "$mbs" "$p50" "$p99" "$p999" "$cpu_per_gb"
}

# scrape_metrics PORT: GET /metrics every second (bash's /dev/tcp, no curl needed), as a
# Prometheus with scrape_interval 1s would.
scrape_metrics() {
  while sleep 1; do
    { exec 5<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&5 && cat <&5 >/dev/null; } 2>/dev/null || true
    exec 5>&- 2>/dev/null || true
  done
}

# scraped SCENARIO ARGS...: `produce` while every broker's /metrics is scraped each second
# (zkafka only: Kafka has no such endpoint).
scraped() {
  local scenario="$1" port
  local -a scrapers=()
  wanted "$scenario" && [[ "$TARGET" == zkafka ]] || return 0
  for port in "${HTTP_PORTS[@]}"; do
    scrape_metrics "$port" &
    scrapers+=("$!")
    STARTED+=("$!")
  done
  produce "$@"
  kill "${scrapers[@]}" 2>/dev/null || true
  wait "${scrapers[@]}" 2>/dev/null || true
}

consume() { # SCENARIO TOPIC MESSAGES
  local scenario="$1" topic="$2" n="$3" out line c0 c1
  wanted "$scenario" || return 0
  if [[ -z "${FILLED[$topic]:-}" ]]; then # its producer scenario was left out by BENCH_ONLY
    info "$TARGET: filling $topic with $n records of 100 B for the consumer"
    "$PERF_BIN" perf producer --topic "$topic" --num-records "$n" --record-size 100 --throughput -1 \
      --producer-props acks=1 "bootstrap.servers=$(bootstrap)" "${CLIENT_PROPS[@]}" >/dev/null 2>&1 ||
      die "cannot fill $topic"
    FILLED[$topic]=1
  fi
  out="$BENCH_DIR/$TARGET-consumer.out"
  local -a config=()
  [[ -z "$CLIENT_CONFIG" ]] || config=(--consumer.config "$CLIENT_CONFIG")
  info "$TARGET: $scenario ($n records)"
  c0="$(sum_cpu_ticks "${BROKER_PIDS[@]}")"
  timeout 300 "$PERF_BIN" perf consumer --broker-list "$(bootstrap)" --topic "$topic" --messages "$n" \
    "${config[@]}" >"$out" 2>&1 || { tail -n 5 "$out" >&2; die "consumer failed: $scenario"; }
  c1="$(sum_cpu_ticks "${BROKER_PIDS[@]}")"
  line="$(grep -E '^[0-9]{4}-' "$out" | tail -n1)"
  [[ -n "$line" ]] || die "no values line from the consumer ($out)"
  echo "    $line"
  # start.time, end.time, MB, MB.sec, nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, ...
  local mbs recs cpu_per_gb
  mbs="$(awk -F', ' '{ printf "%.2f", $4 }' <<<"$line")"
  recs="$(awk -F', ' '{ printf "%.0f", $6 }' <<<"$line")"
  # Per GB of payload read (the tool's MB are MiB).
  cpu_per_gb="$(awk -F', ' -v t=$((c1 - c0)) -v hz="$CLK_TCK" '$3 > 0 { printf "%.1f", (t / hz) / ($3 * 1048576 / 1e9) }' <<<"$line")"
  record "$scenario" "$recs" "$mbs" - - - "$cpu_per_gb"
}

# failover: 1,000 partitions RF=2 on the running 3-broker cluster; kill -9 a non-controller
# broker and time the re-election of every partition it led.
failover() {
  local parts=1000 topic=failover controller victim=0 id led t_kill t_expired="" t_done="" out left
  wanted failover || return 0
  create_topic "$topic" "$parts" 2
  # Kill a broker that is not the controller: this times partition re-election alone, not
  # a controller failover on top of it.
  controller="$(controller_id)"
  out="$(topics --describe --topic "$topic")"
  for id in 1 2 3; do
    [[ "$id" == "$controller" ]] && continue
    victim="$id"
    break
  done
  led="$(grep -c "Leader: $victim	" <<<"$out" || true)"
  info "$TARGET: failover: killing broker $victim (leader of $led/$parts partitions; controller is $controller)"
  t_kill="$(now_ms)"
  kill -KILL "${BROKER_PIDS[$((victim - 1))]}"
  # Reap it here, quietly (no "Killed" job notice in the output).
  wait "${BROKER_PIDS[$((victim - 1))]}" 2>/dev/null || true
  local deadline=$((SECONDS + 120))
  while ((SECONDS < deadline)); do
    if [[ -z "$t_expired" ]] && ! zk_ephemeral_exists "$CHROOT/brokers/ids/$victim"; then
      t_expired="$(now_ms)"
    fi
    out="$(topics --describe --topic "$topic" 2>/dev/null || true)"
    left="$(grep -cE "Leader: ($victim|none|-1)	" <<<"$out" || true)"
    if [[ -n "$t_expired" && "$left" -eq 0 && "$(grep -c 'Partition: ' <<<"$out")" -eq "$parts" ]]; then
      t_done="$(now_ms)"
      break
    fi
  done
  [[ -n "$t_done" ]] || die "failover: partitions still led by broker $victim after 120 s"
  info "$TARGET: failover: session expired after $((t_expired - t_kill)) ms, all $led partitions re-led after $((t_done - t_kill)) ms"
  printf '%s\tFAILOVER\t%s\t%s\t%s\t%s\n' "$TARGET" "$led" "$parts" "$((t_done - t_kill))" "$((t_done - t_expired))" >>"$RESULTS"
}

# ---------------------------------------------------------------- idle connections

# idle_connections: the broker's VmRSS before BENCH_IDLE_CONNECTIONS (default 1,000) client
# connections, with them open (each having sent one ApiVersions request, as every client
# does first), and after they closed; per connection in bytes.
IDLE_CONNS="${BENCH_IDLE_CONNECTIONS:-1000}"
idle_connections() {
  local pid="${BROKER_PIDS[0]}" port="${BROKER_PORTS[0]}" out before opened closed per kept
  wanted "1 broker idle connections" || return 0
  out="$(python3 - "$pid" "$port" "$IDLE_CONNS" <<'EOF'
import resource, socket, struct, sys, time
pid, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 100)), hard))
def rss_kb():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
# ApiVersions v0: api key 18, version 0, correlation id 1, client id "bench".
req = struct.pack(">hhih", 18, 0, 1, 5) + b"bench"
req = struct.pack(">i", len(req)) + req
time.sleep(1)
before = rss_kb()
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
    s.recv(size, socket.MSG_WAITALL)
    socks.append(s)
time.sleep(2)
opened = rss_kb()
for s in socks:
    s.close()
time.sleep(3)
closed = rss_kb()
print(before, opened, closed, (opened - before) * 1024 // n, (closed - before) * 1024 // n)
EOF
  )" || {
    info "idle connections: failed"
    return 0
  }
  read -r before opened closed per kept <<<"$out"
  printf '%s\tIDLE\t%s\t%s\t%s\t%s\t%s\t%s\n' "$TARGET" "$IDLE_CONNS" "$before" "$opened" "$closed" "$per" "$kept" >>"$RESULTS"
  info "$TARGET: $IDLE_CONNS idle connections: VmRSS $before kB before, $opened kB open, $closed kB after close: $per B per connection, $kept B kept after close"
}


controller_id() {
  # /controller is {"version":1,"brokerid":N,"timestamp":"..."}; read it with the ZooKeeper CLI.
  zk_shell "127.0.0.1:$ZK_PORT" get "$CHROOT/controller" 2>/dev/null |
    sed -n 's/.*"brokerid":\([0-9]*\).*/\1/p' | head -n1
}

settle_and_sample_idle() {
  sleep 3
  RSS_IDLE="$(sum_rss "${BROKER_PIDS[@]}")"
}

# librdkafka's own batching defaults (what confluent-kafka and kcat users get): linger 5 ms,
# batches up to 1 MB / 10,000 records; 5 requests in flight for both rows (the most idempotence
# allows). The idempotent producer's one request per partition in flight then carries a whole
# batch, so the pair compares brokers, not clients.
RDKAFKA_BATCHING="linger.ms=5 batch.size=1000000"

# single_matrix / three_matrix BIG HUGE LAT_N: each cluster's scenarios as KIND|NAME|ARGS lines.
single_matrix() {
  local big="$1" huge="$2" lat_n="$3"
  cat <<EOF
produce|1 broker RF=1 acks=1 saturating 100 B|p1 $RECORDS 100 -1 1
scraped|1 broker RF=1 acks=1 saturating 100 B, /metrics scraped every 1 s|p1 $RECORDS 100 -1 1
consume|1 broker consumer 100 B|p1 $CONSUME_N
produce|1 broker RF=1 acks=1 @20k rec/s 100 B|p1 $lat_n 100 $LAT_RATE 1
produce|1 broker RF=1 acks=1 saturating 1 KiB|p1k $big 1024 -1 1
produce|1 broker RF=1 acks=1 saturating 16 KiB|p16k $huge 16384 -1 1
idle|1 broker idle connections|
EOF
}
three_matrix() {
  local big="$1" huge="$2" lat_n="$3"
  # Kafka's tool before 4.0 has no --warmup-records: its rows run 4x as long instead, so the
  # JVM's start-up and JIT weigh little in their totals.
  local java_n=$((JAVA_PERF_WARMUP ? RECORDS / 2 : RECORDS * 2))
  # The plain Java row says enable.idempotence=false: from Kafka 3.0 on it defaults to true.
  cat <<EOF
produce|3 brokers RF=3 acks=all saturating 100 B|p3 $((RECORDS / 2)) 100 -1 all
produce|3 brokers RF=3 acks=all saturating 100 B, idempotent|p3 $((RECORDS / 2)) 100 -1 all enable.idempotence=true
produce|3 brokers RF=3 acks=all saturating 100 B, transactional (100 ms transactions)|p3 $((RECORDS / 2)) 100 -1 all --transaction-duration-ms=100
produce|3 brokers RF=3 acks=all saturating 100 B, 1 in flight|p3 $((RECORDS / 2)) 100 -1 all max.in.flight.requests.per.connection=1
produce|3 brokers RF=3 acks=all saturating 100 B, idempotent, 1 in flight|p3 $((RECORDS / 2)) 100 -1 all enable.idempotence=true max.in.flight.requests.per.connection=1
produce|3 brokers RF=3 acks=all saturating 100 B, librdkafka batching|p3 $((RECORDS / 2)) 100 -1 all $RDKAFKA_BATCHING
produce|3 brokers RF=3 acks=all saturating 100 B, librdkafka batching, idempotent|p3 $((RECORDS / 2)) 100 -1 all $RDKAFKA_BATCHING enable.idempotence=true
produce|3 brokers RF=3 acks=all saturating 100 B, Java producer|p3 $java_n 100 -1 all --java enable.idempotence=false
produce|3 brokers RF=3 acks=all saturating 100 B, Java producer, idempotent|p3 $java_n 100 -1 all --java enable.idempotence=true
produce|3 brokers RF=3 acks=all saturating 100 B, Java producer, transactional (100 ms transactions)|p3 $java_n 100 -1 all --java --transaction-duration-ms=100
consume|3 brokers consumer 100 B|p3 $CONSUME_N
produce|3 brokers RF=3 acks=all @20k rec/s 100 B|p3 $lat_n 100 $LAT_RATE all
produce|3 brokers RF=3 acks=all saturating 1 KiB|p3k $((big / 2)) 1024 -1 all
produce|3 brokers RF=3 acks=all saturating 16 KiB|p316k $((huge / 2)) 16384 -1 all
failover|failover|
EOF
}

# run_scenarios: runs the wanted scenarios of the KIND|NAME|ARGS lines on fd 3 (not stdin,
# which the tools the scenarios run may read).
run_scenarios() {
  local kind name args
  while IFS='|' read -r -u 3 kind name args; do
    # shellcheck disable=SC2086 # ARGS are separate words on purpose
    case "$kind" in
      produce) produce "$name" $args ;;
      scraped) scraped "$name" $args ;;
      consume) consume "$name" $args ;;
      failover) failover ;;
      idle) idle_connections ;;
    esac
  done
}

# any_wanted: some scenario of the KIND|NAME|ARGS lines on stdin is wanted.
any_wanted() {
  local kind name args found=1
  while IFS='|' read -r kind name args; do
    if wanted "$name"; then found=0; fi
  done
  return "$found"
}

run_matrix() {
  TARGET="$1"
  local big=$((RECORDS / 4)) huge=$((RECORDS / 40)) lat_n=$((LAT_RATE * LAT_SECS))
  # 1 KiB: a quarter of the 100 B record count (~2.5x the bytes); 16 KiB: 1/40 (~16x).
  if single_matrix "$big" "$huge" "$lat_n" | any_wanted; then
    start_cluster 1 single
    settle_and_sample_idle
    create_topic p1 6 1
    create_topic p1k 6 1
    create_topic p16k 6 1
    # Process substitution, not a pipe: the scenarios set this shell's variables.
    run_scenarios 3< <(single_matrix "$big" "$huge" "$lat_n")
    info "$TARGET: single broker peak RSS (VmHWM) $(max_hwm "${BROKER_PIDS[@]}") MB"
    stop_cluster
  fi
  if three_matrix "$big" "$huge" "$lat_n" | any_wanted; then
    start_cluster 3 three
    settle_and_sample_idle
    create_topic p3 6 3 min.insync.replicas=2
    create_topic p3k 6 3 min.insync.replicas=2
    create_topic p316k 6 3 min.insync.replicas=2
    run_scenarios 3< <(three_matrix "$big" "$huge" "$lat_n")
    info "$TARGET: 3-broker peak RSS (VmHWM, max of brokers) $(max_hwm "${BROKER_PIDS[@]}") MB"
    stop_cluster
  fi
  run_security_matrix "$big"
  scale
}

# ---------------------------------------------------------------- main

info "bench dir: $BENCH_DIR; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
info "raw disk: dd 1 GiB with fdatasync into $BENCH_DIR"
DISK_MBS="$(LC_ALL=C dd if=/dev/zero of="$BENCH_DIR/dd.bin" bs=1M count=1024 conv=fdatasync 2>&1 |
  awk '/copied/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+$/) v = $i; u = $NF;
    if (u ~ /^GB/) v *= 1000; else if (u ~ /^kB/) v /= 1000; printf "%.0f", v }')"
rm -f "$BENCH_DIR/dd.bin"
info "raw disk sequential write: $DISK_MBS MB/s"

# The log's append/read against the raw disk and LogValidator's cost per batch and record
# (`zkafka bench-log`, in-process; scenario name "validation").
LOG_BENCH=""
if wanted "validation"; then
  LOG_BENCH="$("$ZKAFKA_BIN" bench-log --dir "$BENCH_DIR/bench-log" --total-mib 256 2>&1)" ||
    LOG_BENCH="bench-log failed: $LOG_BENCH"
  info "record validation: $(grep '^record validation' <<<"$LOG_BENCH" | paste -sd ';' -)"
fi

start_zookeeper
BENCH_START=$SECONDS
run_matrix zkafka
if [[ -n "${KAFKA_HOME:-}" ]]; then
  [[ -x "$KAFKA_HOME/bin/kafka-server-start.sh" ]] || die "KAFKA_HOME=$KAFKA_HOME has no bin/kafka-server-start.sh"
  run_matrix kafka
fi
info "matrix done in $((SECONDS - BENCH_START)) s; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- table

print_table() {
  local target="$1"
  echo
  echo "== $target (raw disk write: $DISK_MBS MB/s; $(nproc) cores; CPU-s/GB = all brokers' utime+stime per GB of record payload; RSS = VmRSS summed over brokers, MB (mapped index files included); anon = RssAnon) =="
  printf '| %-52s | %9s | %7s | %5s | %5s | %6s | %8s | %-14s | %10s |\n' scenario rec/s MB/s p50 p99 p99.9 CPU-s/GB "RSS idle/after" "anon after"
  printf '|%s|\n' "------------------------------------------------------|-----------|---------|-------|-------|--------|----------|----------------|------------"
  awk -F'\t' -v t="$target" '$1 == t && $2 != "FAILOVER" && $2 != "SCALE" && $2 != "IDLE" {
    printf "| %-52s | %9s | %7s | %5s | %5s | %6s | %8s | %-14s | %10s |\n", $2, $3, $4, $5, $6, $7, $8, $9 "/" $10, $11
  }
  $1 == t && $2 == "FAILOVER" {
    fo = fo sprintf("failover, %d partitions RF=2 on 3 brokers, kill -9 of the leader of %d: all re-led %d ms after the kill, %d ms after its session expired (/brokers/ids/N gone)\n", $4, $3, $5, $6)
  }
  $1 == t && $2 == "SCALE" { sc = sc sprintf("scale, %d partitions RF=2 on 3 brokers: %s\n", $3, $4) }
  $1 == t && $2 == "IDLE" {
    ic = sprintf("1 broker, %d idle connections (one ApiVersions each): VmRSS %d kB before, %d kB open, %d kB after close: %d B per connection, %d B kept after close\n", $3, $4, $5, $6, $7, $8)
  }
  END { printf "%s%s%s", fo, sc, ic }' "$RESULTS"
}

# print_eos_ratios TARGET: each idempotent/transactional row's rec/s over its plain twin's
# (the same name without ", idempotent" / ", transactional (...)"), measured in this run.
print_eos_ratios() {
  awk -F'\t' -v t="$1" '$1 == t { rate[$2] = $3; order[++n] = $2 }
    END {
      for (i = 1; i <= n; i++) {
        s = order[i]; base = s
        if (!sub(/, (idempotent|transactional \([^)]*\))/, "", base) || !(base in rate) || rate[base] + 0 == 0) continue
        if (!head++) printf "\n== %s: idempotent/transactional rec/s over the plain row of the same run ==\n", t
        printf "| %-78s | %5.0f%% |\n", s, 100 * rate[s] / rate[base]
      }
    }' "$RESULTS"
}

print_table zkafka
print_eos_ratios zkafka
print_security_table
if [[ -n "$LOG_BENCH" ]]; then
  echo
  echo "== log append/read vs raw disk, and record validation cost (zkafka bench-log) =="
  printf '%s\n' "$LOG_BENCH"
fi
if [[ -n "${KAFKA_HOME:-}" ]]; then
  print_table kafka
  print_eos_ratios kafka
  echo
  echo "== ratios zkafka/kafka (rec/s; p99) =="
  awk -F'\t' '
    $1 == "kafka" { k[$2] = $3; kp[$2] = $6 }
    $1 == "zkafka" { z[$2] = $3; zp[$2] = $6; order[++n] = $2 }
    END {
      for (i = 1; i <= n; i++) {
        s = order[i]
        r = (k[s] + 0 > 0 && z[s] != "-") ? sprintf("%.2f", z[s] / k[s]) : "-"
        p = (kp[s] + 0 > 0 && zp[s] != "-") ? sprintf("%.2f", zp[s] / kp[s]) : "-"
        printf "| %-52s | %6s | %6s |\n", s, r, p
      }
    }' "$RESULTS"
fi
