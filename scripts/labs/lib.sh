# shellcheck shell=bash
# The variables defined here are used by the labs that source this file.
# shellcheck disable=SC2034
# Shared helpers for the labs (scripts/labs/NN-name.sh).  Source it; don't run it.
#
# A lab sets LAB_TITLE_EN / LAB_TITLE_KO, calls `lab_init "$@"`, then alternates
#   step "English" "한국어"      a numbered heading
#   say  "English" "한국어"      explanation
#   look "English" "한국어"      what to look at (the view, zookeeper-shell, /state, ...)
#   show CMD...                 print the command, run it, indent its output
#   pause                       wait for Enter (only on a terminal, never with --yes)
#   check "English" "한국어" CMD... evidence: PASS if CMD succeeds
# and ends with `lab_finish` (prints PASS/FAIL and exits 0/1).  `on_exit CMD...` registers
# an undo step (SIGCONT a stopped broker, restart a killed one, delete the lab's topics); the
# undo steps run in reverse order when the lab exits, however it exits.
#
# The cluster: the local quickstart cluster (scripts/quickstart.sh: ZooKeeper 2181-2183,
# brokers 1-3 on 9092-9094, HTTP on 9192-9194), started if nothing answers on 9092, or the one
# given with --bootstrap-server/--zookeeper (and --http for the brokers' HTTP endpoints).
# Labs that kill or stop brokers need the quickstart's pid files (in $ZKAFKA_DATA_DIR/run).

LABS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$LABS_DIR/../lib.sh"

SCRIPTS="$ZKAFKA_HOME/scripts"
LAB_NAME="$(basename "$0" .sh)"
LAB_YES=0
LAB_LANG=en
case "${LC_ALL:-${LANG:-}}" in ko*) LAB_LANG=ko ;; esac
BOOTSTRAP=""
ZOOKEEPER=""
HTTP_LISTENERS=""
LAB_PASSED=0
LAB_FAILED=0
LAB_STEP=0
LAB_EVIDENCE=()
LAB_UNDO=()

# ---------------------------------------------------------------- text

# t EN KO: the text in the student's language.
t() {
  if [[ "$LAB_LANG" == ko ]]; then printf '%s\n' "$2"; else printf '%s\n' "$1"; fi
}

say() { t "$1" "$2" | fold -s -w "$(lab_width 96)" | sed 's/^/  /'; }

# lab_width COLUMNS: fold counts bytes; a Korean syllable is 3 bytes and 2 columns wide.
lab_width() { if [[ "$LAB_LANG" == ko ]]; then echo $(($1 * 3 / 2)); else echo "$1"; fi; }

step() {
  LAB_STEP=$((LAB_STEP + 1))
  printf '\n== %s %d: %s\n' "$(t Step 단계)" "$LAB_STEP" "$(t "$1" "$2")"
}

look() {
  printf '  %s\n' "$(t "Look:" "보세요:")"
  t "$1" "$2" | fold -s -w "$(lab_width 92)" | sed 's/^/    /'
}

# show CMD...: print the command as a student would type it, run it, indent its output.
show() {
  printf '  $ %s\n' "$(lab_cmdline "$@")"
  "$@" 2>&1 | sed 's/^/    /'
  return "${PIPESTATUS[0]}"
}

# lab_cmdline CMD...: CMD as the student types it: the lab's tool functions become the
# project's scripts, the repository's path is shortened to "scripts/...".
lab_cmdline() {
  local out="" a
  case "$1" in
    zk) out="scripts/zookeeper-shell.sh ${ZOOKEEPER%%,*}" ;;
    topics) out="scripts/kafka-topics.sh --zookeeper ${ZOOKEEPER%%,*}" ;;
    produce) out="scripts/kafka-console-producer.sh --bootstrap-server ${BOOTSTRAP%%,*}" ;;
    consume) out="scripts/kafka-console-consumer.sh --bootstrap-server ${BOOTSTRAP%%,*}" ;;
    groups) out="scripts/kafka-consumer-groups.sh --bootstrap-server ${BOOTSTRAP%%,*}" ;;
    *) out="$(lab_cmdline_args "$1")" ;;
  esac
  shift
  printf '%s\n' "$out${out:+ }$(lab_cmdline_args "$@")"
}

lab_cmdline_args() {
  local out="" a
  for a in "$@"; do
    a="${a#"$ZKAFKA_HOME"/}"
    [[ "$a" == *[[:space:]]* ]] && a="'$a'"
    out="${out:+$out }$a"
  done
  printf '%s\n' "$out"
}

# feed LINES CMD...: show and run `printf LINES | CMD` (a producer: its prompts are dropped).
feed() {
  local input="$1"
  shift
  local n
  n="$(grep -c . <<<"$input" || true)"
  if ((n > 4)); then
    printf '  $ (%s) | %s\n' "$(t "$n lines: $(head -n1 <<<"$input") ... $(grep . <<<"$input" | tail -n1)" \
      "$n 줄: $(head -n1 <<<"$input") ... $(grep . <<<"$input" | tail -n1)")" "$(lab_cmdline "$@")"
  else
    printf '  $ printf %q | %s\n' "$input" "$(lab_cmdline "$@")"
  fi
  printf '%s' "$input" | "$@" 2>&1 >/dev/null | sed 's/^/    /'
  return "${PIPESTATUS[1]}"
}

interactive() { ((LAB_YES == 0)) && [[ -t 0 && -t 1 ]]; }

pause() {
  interactive || return 0
  read -r -p "  $(t "[Enter] to continue" "[Enter] 를 누르면 계속합니다") " _ || true
}

# ---------------------------------------------------------------- checks

# check EN KO CMD...: one piece of evidence; the texts should carry the observed values.
check() {
  local en="$1" ko="$2"
  shift 2
  if "$@" >/dev/null 2>&1; then
    LAB_PASSED=$((LAB_PASSED + 1))
    LAB_EVIDENCE+=("ok    $(t "$en" "$ko")")
    printf '  [ok] %s\n' "$(t "$en" "$ko")"
  else
    LAB_FAILED=$((LAB_FAILED + 1))
    LAB_EVIDENCE+=("FAIL  $(t "$en" "$ko")")
    printf '  [FAIL] %s\n' "$(t "$en" "$ko")"
  fi
}

# wait_until SECS CMD...: poll CMD every half second until it succeeds; 1 on timeout.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  while ! "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

on_exit() {
  LAB_UNDO+=("$(printf '%q ' "$@")")
}

kill_quietly() { kill "$@" 2>/dev/null || true; }

lab_undo() {
  local i
  for ((i = ${#LAB_UNDO[@]} - 1; i >= 0; i--)); do
    eval "${LAB_UNDO[i]}" || warn "undo step failed: ${LAB_UNDO[i]}"
  done
  LAB_UNDO=()
}

lab_finish() {
  local e
  lab_undo
  printf '\n== %s: %s ==\n' "$LAB_NAME" "$(t "$LAB_TITLE_EN" "$LAB_TITLE_KO")"
  for e in "${LAB_EVIDENCE[@]}"; do
    printf '  %s\n' "$e"
  done
  if ((LAB_FAILED == 0 && LAB_PASSED > 0)); then
    printf 'PASS %s (%s)\n' "$LAB_NAME" "$(t "$LAB_PASSED checks" "확인 $LAB_PASSED개 통과")"
    exit 0
  fi
  printf 'FAIL %s (%s)\n' "$LAB_NAME" "$(t "$LAB_FAILED of $((LAB_PASSED + LAB_FAILED)) checks failed" \
    "확인 $((LAB_PASSED + LAB_FAILED))개 중 $LAB_FAILED개 실패")"
  exit 1
}

# ---------------------------------------------------------------- start

lab_usage() {
  cat <<USAGE
usage: $LAB_NAME.sh [--yes] [--lang en|ko] [--bootstrap-server HOST:PORT,...]
                    [--zookeeper HOST:PORT,...] [--http ID=HOST:PORT,...]

$LAB_TITLE_EN
$LAB_TITLE_KO

Runs against the local quickstart cluster (started with scripts/quickstart.sh if nothing
answers on 127.0.0.1:9092) or the given one.  Pauses for Enter on a terminal unless --yes.
Text in Korean with --lang ko or LANG=ko_KR.UTF-8.  Exits 0 when its checks pass.
USAGE
}

lab_init() {
  while (($#)); do
    case "$1" in
      -y | --yes) LAB_YES=1 ;;
      --lang) LAB_LANG="${2:?--lang needs en or ko}"; shift ;;
      --bootstrap-server) BOOTSTRAP="${2:?--bootstrap-server needs HOST:PORT}"; shift ;;
      --zookeeper) ZOOKEEPER="${2:?--zookeeper needs HOST:PORT}"; shift ;;
      --http) HTTP_LISTENERS="${2:?--http needs ID=HOST:PORT,...}"; shift ;;
      -h | --help) lab_usage; exit 0 ;;
      *) lab_usage >&2; exit 2 ;;
    esac
    shift
  done
  [[ "$LAB_LANG" == en || "$LAB_LANG" == ko ]] || die "--lang: expected en or ko, got $LAB_LANG"
  trap lab_undo EXIT
  trap 'exit 130' INT TERM
  ensure_cluster
  printf '== %s: %s ==\n' "$LAB_NAME" "$(t "$LAB_TITLE_EN" "$LAB_TITLE_KO")"
  say "Cluster: brokers $BOOTSTRAP, ZooKeeper $ZOOKEEPER. Live view (if running): http://127.0.0.1:9180" \
    "클러스터: 브로커 $BOOTSTRAP, ZooKeeper $ZOOKEEPER. 라이브 뷰(실행 중이라면): http://127.0.0.1:9180"
}

QUICKSTART_BOOTSTRAP=127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094
QUICKSTART_ZOOKEEPER=127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183

# ensure_cluster: the given cluster, else the quickstart one (started if nothing answers).
ensure_cluster() {
  local id
  if [[ -z "$BOOTSTRAP" ]]; then
    BOOTSTRAP="$QUICKSTART_BOOTSTRAP"
    if ! port_open 9092; then
      info "$(t "no broker on 127.0.0.1:9092: starting the quickstart cluster" \
        "127.0.0.1:9092 에 브로커가 없습니다. quickstart 클러스터를 시작합니다")"
      "$SCRIPTS/quickstart.sh" start >/dev/null || die "scripts/quickstart.sh start failed"
    fi
  fi
  ZOOKEEPER="${ZOOKEEPER:-$QUICKSTART_ZOOKEEPER}"
  if [[ -z "$HTTP_LISTENERS" ]]; then
    for id in 1 2 3; do
      HTTP_LISTENERS="${HTTP_LISTENERS:+$HTTP_LISTENERS,}$id=$(prop_get "$SCRIPTS/config/server-$id.properties" zkafka.http.listener)"
    done
  fi
  ensure_zkafka_binary missing >&2
  ensure_kcat
  command -v python3 >/dev/null 2>&1 || apt_install python3
}

# ---------------------------------------------------------------- tools

zk() { ZK_SHELL_TIMEOUT_MS=8000 "$SCRIPTS/zookeeper-shell.sh" "${ZOOKEEPER%%,*}" "$@"; }
topics() { "$ZKAFKA_BIN" topics --zookeeper "$ZOOKEEPER" "$@"; }
# A 30 s ack timeout instead of the tool's 1.5 s: on a busy machine a timed-out request is
# retried, and without idempotence a retry can store the records twice.
produce() { "$ZKAFKA_BIN" console-producer --bootstrap-server "$BOOTSTRAP" --request-timeout-ms 30000 "$@"; }
consume() { "$ZKAFKA_BIN" console-consumer --bootstrap-server "$BOOTSTRAP" "$@"; }
groups() { "$ZKAFKA_BIN" consumer-groups --bootstrap-server "$BOOTSTRAP" "$@"; }

# fresh_topic NAME ARGS...: (re)create the lab's topic (deleting a leftover of an earlier
# run first) and delete it when the lab ends.
fresh_topic() {
  local name="$1"
  shift
  if topics --list | grep -qxF "$name"; then
    topics --delete --topic "$name" >/dev/null
    wait_until 30 topic_absent "$name" || die "topic $name is still marked for deletion after 30 s"
  fi
  topics --create --topic "$name" "$@" >/dev/null || die "could not create topic $name"
  on_exit drop_topic "$name"
  wait_until 30 partitions_led "$name" || die "topic $name has partitions without a leader after 30 s"
}

drop_topic() { topics --delete --topic "$1" --if-exists >/dev/null 2>&1 || true; }

topic_absent() { ! topics --list | grep -qxF "$1"; }

# fresh_group NAME: delete a leftover group of an earlier run now and this run's at the end.
fresh_group() {
  groups --delete --group "$1" >/dev/null 2>&1 || true
  on_exit lab_delete_group "$1"
}
lab_delete_group() { groups --delete --group "$1" >/dev/null 2>&1 || true; }

# describe_field TOPIC PARTITION FIELD: Leader, Replicas or Isr of one partition, from
# kafka-topics.sh --describe (read from ZooKeeper).  awk reads to the end: the tool panics on
# a closed pipe.
describe_field() {
  topics --describe --topic "$1" 2>/dev/null |
    awk -v p="$2" -v f="$3:" '{ for (i = 1; i < NF; i++) if ($i == "Partition:" && $(i + 1) == p) hit = 1 }
      hit && !done { for (i = 1; i < NF; i++) if ($i == f) { print $(i + 1); done = 1 } }'
}
leader_of() { describe_field "$1" "$2" Leader; }
isr_of() { describe_field "$1" "$2" Isr; }

# leader_moved_from TOPIC PARTITION ID: the partition has a leader other than ID.
leader_moved_from() {
  local l
  l="$(leader_of "$1" "$2")"
  [[ -n "$l" && "$l" != "$3" && "$l" != -1 && "$l" != none ]]
}

# partitions_led TOPIC: every partition has a leader.
partitions_led() {
  local out
  out="$(topics --describe --topic "$1" 2>/dev/null)" || return 1
  grep -q 'Partition:' <<<"$out" && ! grep -qE 'Leader: (-1|none)' <<<"$out"
}

# isr_full TOPIC: every partition's ISR holds all its replicas.
isr_full() {
  topics --describe --topic "$1" 2>/dev/null | awk '
    /Partition:/ { n++; for (i = 1; i < NF; i++) { if ($i == "Replicas:") r = $(i + 1); if ($i == "Isr:") s = $(i + 1) }
      if (split(r, a, ",") != split(s, b, ",")) bad = 1 }
    END { exit (n == 0 || bad) }'
}

# broker_address ID: host:port of broker ID, from the cluster's metadata.
broker_address() {
  kcat -b "$BOOTSTRAP" -L -m 5 2>/dev/null | sed -n "s/^ *broker $1 at \([^ ]*\).*/\1/p" | head -n1
}

# http_of ID: the broker's HTTP endpoint (host:port).
http_of() {
  tr ',' '\n' <<<"$HTTP_LISTENERS" | sed -n "s/^$1=//p"
}

# state ID EXPR: evaluate a Python expression over broker ID's /state; `s` is the JSON,
# part(topic, p) one of its partitions, group(name) one of its groups.  Lists print
# comma-separated, None as "none".
state() {
  python3 - "http://$(http_of "$1")/state" "$2" <<'PY'
import json, sys, urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1], timeout=5))
def part(topic, p):
    return next(x for x in s["partitions"] if x["topic"] == topic and x["partition"] == p)
def group(name):
    return next(g for g in s["groups"] if g.get("group_id", g.get("group")) == name)
v = eval(sys.argv[2])
if isinstance(v, list):
    v = ",".join(str(x) for x in v)
print("none" if v is None else v)
PY
}

# test_state ID EXPR: EXPR over broker ID's /state (see state) is true.
test_state() { [[ "$(state "$1" "$2" 2>/dev/null)" == True ]]; }

# isr_lacks BROKER TOPIC PARTITION ID: broker BROKER's /state has an ISR without ID.
isr_lacks() {
  local isr
  isr="$(state "$1" "part('$2', $3)['isr']")" || return 1
  [[ -n "$isr" && ",$isr," != *",$4,"* ]]
}

# ---------------------------------------------------------------- broker processes

broker_props() { printf '%s\n' "$SCRIPTS/config/server-$1.properties"; }

# broker_pid ID: the pid of quickstart broker ID, if it runs.
broker_pid() {
  pidfile_running "$ZKAFKA_RUN_DIR/kafka-$1.pid" "$ZKAFKA_BIN server"
}

# need_local_brokers: labs that kill or stop brokers need the quickstart's processes.
need_local_brokers() {
  local id
  for id in 1 2 3; do
    broker_pid "$id" >/dev/null ||
      die "$(t "this lab kills and restarts brokers: it needs the local quickstart cluster (scripts/quickstart.sh) with brokers 1-3 running; broker $id is not (pid file $ZKAFKA_RUN_DIR/kafka-$id.pid)" \
        "이 실습은 브로커를 죽이고 다시 띄웁니다. 1-3번 브로커가 모두 떠 있는 로컬 quickstart 클러스터(scripts/quickstart.sh)가 필요합니다. ${id}번 브로커가 없습니다 (pid 파일 $ZKAFKA_RUN_DIR/kafka-$id.pid)")"
  done
}

# registered ID: /brokers/ids/ID exists.  A broker serves /state only once it has registered,
# with broker_epoch the czxid of its znode: asking it spares a ZooKeeper shell (a JVM) per poll.
registered() {
  if [[ -n "$(http_of "$1")" ]]; then
    test_state "$1" "s['broker_epoch'] > 0"
  else
    zk ls /brokers/ids 2>/dev/null | tail -n1 | tr -d '[] ' | tr ',' '\n' | grep -qxF "$1"
  fi
}

# broker_start ID [k=v...]: start quickstart broker ID (with overrides), wait for its znode.
broker_start() {
  local id="$1" kv
  shift
  local -a extra=()
  for kv in "$@"; do extra+=(--override "$kv"); done
  "$SCRIPTS/kafka-server-start.sh" -daemon "$(broker_props "$id")" "${extra[@]}" >/dev/null ||
    die "could not start broker $id"
  wait_until 120 registered "$id" || die "broker $id did not register /brokers/ids/$id within 120 s"
}

broker_stop() { "$SCRIPTS/kafka-server-stop.sh" "$(broker_props "$1")" >/dev/null; }

# broker_restart ID [k=v...]: controlled shutdown, then start again (with overrides).
broker_restart() {
  broker_stop "$1"
  broker_start "$@"
}

# broker_ensure_running ID: the undo step after a kill -9: start it again if it is down.
broker_ensure_running() {
  local pid
  if pid="$(broker_pid "$1")"; then
    kill -CONT "$pid" 2>/dev/null || true
    return 0
  fi
  info "$(t "restarting broker $1" "${1}번 브로커를 다시 시작합니다")"
  broker_start "$1"
}

# broker_signal ID SIG: send SIG (KILL, STOP, CONT) to quickstart broker ID.
broker_signal() {
  local pid
  pid="$(broker_pid "$1")" || die "broker $1 is not running"
  kill "-$2" "$pid"
}

# wait_isr_full TOPIC...: after a restart, wait until the replicas are back in sync.
wait_isr_full() {
  local tp
  for tp in "$@"; do
    topic_absent "$tp" && continue
    wait_until 60 isr_full "$tp" || warn "the ISR of $tp is not full after 60 s"
  done
}
