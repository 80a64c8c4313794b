#!/usr/bin/env bash
# A local zkafka cluster in one command: a 3-node ZooKeeper ensemble
# (zk/zoo-{1,2,3}.cfg, 127.0.0.1:2181-2183) and 3 brokers
# (scripts/config/server-{1,2,3}.properties, ids 1-3, 127.0.0.1:9092-9094), each with its
# HTTP endpoint (/metrics, /state, /events) on 127.0.0.1:9192-9194, and the live cluster
# view (`zkafka ui`) on http://127.0.0.1:9180/.
# `scripts/quickstart.sh help` prints the commands (usage() below).
#
# Idempotent: whatever is already running is left alone.  Pid files live in
# $ZKAFKA_DATA_DIR/run/, process logs in $ZKAFKA_DATA_DIR/logs/ (brokers; setup.log for
# apt-get and cargo) and $ZKAFKA_DATA_DIR/zk/<n>/zookeeper.log (ZooKeeper).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCRIPTS="$ZKAFKA_HOME/scripts"
WAIT_SECS="${ZKAFKA_WAIT_SECS:-60}"
ZK_CFGS=("$ZKAFKA_HOME/zk/zoo-1.cfg" "$ZKAFKA_HOME/zk/zoo-2.cfg" "$ZKAFKA_HOME/zk/zoo-3.cfg")
BROKER_PROPS=("$SCRIPTS/config/server-1.properties" "$SCRIPTS/config/server-2.properties"
  "$SCRIPTS/config/server-3.properties")
BROKER_MARKER="$ZKAFKA_BIN server"
UI_LISTEN="${ZKAFKA_UI_LISTEN:-127.0.0.1:9180}"
UI_MARKER="$ZKAFKA_BIN ui"

usage() {
  cat <<USAGE
usage: $ZKAFKA_PROG [start | status [--all] | ui | stop | clean | help]

A local zkafka cluster: a 3-node ZooKeeper ensemble on 127.0.0.1:2181-2183
(zk/zoo-{1,2,3}.cfg) and brokers 1-3 on 127.0.0.1:9092-9094
(scripts/config/server-{1,2,3}.properties).

  start           the default: install what is missing (zookeeper, kcat), build the
                  broker (cargo build --release), start the ensemble and the brokers,
                  wait until every broker is registered and a controller is elected,
                  then start the live cluster view (zkafka ui) and print the
                  status and its address
  status [--all]  ZooKeeper modes, broker pids, /brokers/ids, /controller and
                  kcat -L; internal topics (__consumer_offsets, ...) only with --all
  ui              (re)start the live cluster view alone (log: logs/ui.log)
  stop            stop what start started: the view, the brokers one at a time, the
                  controller last (each with a controlled shutdown), then ZooKeeper
  clean           stop, then delete ZooKeeper data, broker logs, pid and log files
  help            this text

Files: everything under \$ZKAFKA_DATA_DIR (now $ZKAFKA_DATA_DIR): ZooKeeper in zk/<n>/,
broker data in kafka-logs-<n>/, process output in logs/ (apt-get and cargo output in
logs/setup.log), pid files in run/.

Environment:
  ZKAFKA_DATA_DIR     where data, logs and pid files go (default: <repository>/data)
  ZKAFKA_WAIT_SECS    how long start waits for the ensemble / the brokers (default 60)
  ZKAFKA_NO_BUILD=1   use the existing target/release/zkafka, do not run cargo
  ZKAFKA_UI_LISTEN    where the live cluster view listens (default 127.0.0.1:9180)
  ZKAFKA_STOP_TIMEOUT seconds stop waits for each process before SIGKILL
                      (default 60 for a broker, 30 for a ZooKeeper node)
USAGE
}

zk_port() { prop_get "$1" clientPort; }
zk_pidfile() { printf '%s\n' "$ZKAFKA_RUN_DIR/$(zk_node_name "$1").pid"; }
zk_logfile() { printf '%s\n' "$(resolve_path "$(prop_get "$1" dataDir)")/zookeeper.log"; }
broker_id() { prop_get "$1" broker.id; }
broker_pidfile() { printf '%s\n' "$ZKAFKA_RUN_DIR/kafka-$(broker_id "$1").pid"; }
broker_logfile() { printf '%s\n' "$ZKAFKA_LOG_DIR/kafka-$(broker_id "$1").log"; }
ui_pidfile() { printf '%s\n' "$ZKAFKA_RUN_DIR/ui.pid"; }
ui_logfile() { printf '%s\n' "$ZKAFKA_LOG_DIR/ui.log"; }
broker_addr() {
  local l
  l="$(prop_get "$1" listeners)"
  l="${l%%,*}"
  printf '%s\n' "${l#*://}"
}

zk_connect() {
  local cfg out=""
  for cfg in "${ZK_CFGS[@]}"; do
    out="${out:+$out,}127.0.0.1:$(zk_port "$cfg")"
  done
  printf '%s\n' "$out"
}

bootstrap() {
  local p out=""
  for p in "${BROKER_PROPS[@]}"; do
    out="${out:+$out,}$(broker_addr "$p")"
  done
  printf '%s\n' "$out"
}

check_files() {
  local f
  for f in "${ZK_CFGS[@]}" "${BROKER_PROPS[@]}"; do
    [[ -f "$f" ]] || die "missing config file: $f"
  done
}

# ---------------------------------------------------------------- start

start_zookeeper() {
  local cfg pid
  for cfg in "${ZK_CFGS[@]}"; do
    if pid="$(pidfile_running "$(zk_pidfile "$cfg")" "$ZKAFKA_MARKER")"; then
      info "$(zk_node_name "$cfg") already running (pid $pid)"
    else
      ZKAFKA_START_CHECK_SECS=0 "$SCRIPTS/zookeeper-server-start.sh" -daemon "$cfg"
    fi
  done
}

wait_for_ensemble() {
  local deadline=$((SECONDS + WAIT_SECS)) cfg mode leaders serving
  local -a not_serving
  info "waiting up to ${WAIT_SECS}s for the ensemble to elect a leader..."
  while :; do
    leaders=0
    serving=0
    not_serving=()
    for cfg in "${ZK_CFGS[@]}"; do
      if ! pidfile_running "$(zk_pidfile "$cfg")" "$ZKAFKA_MARKER" >/dev/null; then
        echo "---- last lines of $(zk_logfile "$cfg") ----" >&2
        tail -n 30 "$(zk_logfile "$cfg")" >&2 || true
        die "$(zk_node_name "$cfg") ($cfg) is not running; see $(zk_logfile "$cfg")"
      fi
      mode="$(zk_mode 127.0.0.1 "$(zk_port "$cfg")")"
      case "$mode" in
        leader) leaders=$((leaders + 1)); serving=$((serving + 1)) ;;
        follower | observer) serving=$((serving + 1)) ;;
        *) not_serving+=("$(zk_node_name "$cfg") (127.0.0.1:$(zk_port "$cfg"), log $(zk_logfile "$cfg"))") ;;
      esac
    done
    if ((leaders == 1 && serving == ${#ZK_CFGS[@]})); then
      info "ZooKeeper ensemble is serving ($(zk_connect))"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      die "ZooKeeper ensemble has no leader after ${WAIT_SECS}s; not serving: ${not_serving[*]:-none} (leaders: $leaders)"
    fi
    sleep 1
  done
}

start_brokers() {
  local props pid
  for props in "${BROKER_PROPS[@]}"; do
    if pid="$(pidfile_running "$(broker_pidfile "$props")" "$BROKER_MARKER")"; then
      info "broker $(broker_id "$props") already running (pid $pid)"
    else
      ZKAFKA_START_CHECK_SECS=0 "$SCRIPTS/kafka-server-start.sh" -daemon "$props"
    fi
  done
}

# registered_ids: the children of /brokers/ids, one per line.
registered_ids() {
  zk_shell "$(zk_connect)" ls /brokers/ids 2>/dev/null | tail -n1 | tr -d '[] ' | tr ',' '\n' | grep -E '^[0-9]+$' || true
}

wait_for_brokers() {
  local deadline=$((SECONDS + WAIT_SECS)) props id have controller
  local -a missing
  info "waiting up to ${WAIT_SECS}s for /brokers/ids/{1,2,3} and /controller..."
  while :; do
    for props in "${BROKER_PROPS[@]}"; do
      if ! pidfile_running "$(broker_pidfile "$props")" "$BROKER_MARKER" >/dev/null; then
        echo "---- last lines of $(broker_logfile "$props") ----" >&2
        tail -n 30 "$(broker_logfile "$props")" >&2 || true
        die "broker $(broker_id "$props") ($props) exited; see $(broker_logfile "$props")"
      fi
    done
    have=" $(registered_ids | tr '\n' ' ') "
    missing=()
    for props in "${BROKER_PROPS[@]}"; do
      id="$(broker_id "$props")"
      [[ "$have" == *" $id "* ]] || missing+=("/brokers/ids/$id (log: $(broker_logfile "$props"))")
    done
    controller=""
    if ((${#missing[@]} == 0)); then
      controller="$(zk_shell "$(zk_connect)" get /controller 2>/dev/null | grep brokerid || true)"
      if [[ -n "$controller" ]]; then
        info "all brokers registered; controller: $controller"
        return 0
      fi
    fi
    if ((SECONDS >= deadline)); then
      if ((${#missing[@]})); then
        die "after ${WAIT_SECS}s these brokers have not registered in ZooKeeper: ${missing[*]}"
      fi
      die "after ${WAIT_SECS}s no broker has created /controller; see the logs in $ZKAFKA_LOG_DIR/"
    fi
    sleep 2
  done
}

# start_ui: the live cluster view (zkafka ui) on $UI_LISTEN; it reads the ensemble and asks
# each broker for its HTTP endpoint.  Output in logs/ui.log.
start_ui() {
  local pid
  if pid="$(pidfile_running "$(ui_pidfile)" "$UI_MARKER")"; then
    info "live cluster view already running (pid $pid): http://$UI_LISTEN/"
    return 0
  fi
  mkdir -p "$ZKAFKA_RUN_DIR" "$ZKAFKA_LOG_DIR"
  spawn_daemon "$(ui_pidfile)" "$(ui_logfile)" "$ZKAFKA_BIN" ui --listen "$UI_LISTEN" --zookeeper "$(zk_connect)"
  check_still_running "$(head -n1 "$(ui_pidfile)")" "the live cluster view (zkafka ui)" "$(ui_logfile)"
  info "live cluster view: http://$UI_LISTEN/ (log: $(ui_logfile))"
}

stop_ui() {
  local pid
  if pid="$(pidfile_running "$(ui_pidfile)" "$UI_MARKER")"; then
    stop_pids 10 "ui=$pid" || true
  fi
  rm -f "$(ui_pidfile)"
}

cmd_ui() {
  check_files
  ensure_zkafka_binary missing
  stop_ui
  start_ui
}

cmd_start() {
  check_files
  # apt-get and cargo write hundreds of lines: keep them in a file, show progress instead.
  export ZKAFKA_SETUP_LOG="${ZKAFKA_SETUP_LOG:-$ZKAFKA_LOG_DIR/setup.log}"
  ensure_zookeeper
  ensure_kcat
  if [[ "${ZKAFKA_NO_BUILD:-}" == 1 ]]; then
    ensure_zkafka_binary missing
  else
    ensure_zkafka_binary always
  fi
  mkdir -p "$ZKAFKA_RUN_DIR" "$ZKAFKA_LOG_DIR"
  start_zookeeper
  wait_for_ensemble
  start_brokers
  wait_for_brokers
  start_ui
  echo
  cmd_status
  echo
  info "cluster is up.  Watch it live: http://$UI_LISTEN/   Stop it with: scripts/quickstart.sh stop"
}

# ---------------------------------------------------------------- status

# hide_internal_topics: kcat -L output without the internal topics ("__" names) and their
# partition lines; the topic count says how many were left out.
hide_internal_topics() {
  awk '
    { line[NR] = $0 }
    /^  topic "__/ { hidden++; skip = 1; drop[NR] = 1; next }
    /^  topic "/ { skip = 0 }
    /^    / && skip { drop[NR] = 1 }
    END {
      for (i = 1; i <= NR; i++) {
        if (drop[i]) continue
        l = line[i]
        if (hidden && l ~ /^ [0-9]+ topics:$/) {
          n = l; gsub(/[^0-9]/, "", n)
          l = " " (n - hidden) " topics (" hidden " internal not shown; status --all shows them):"
        }
        print l
      }
    }'
}

# cmd_status [--all]: --all also lists the internal topics.
cmd_status() {
  local cfg props pid mode id connect http any_zk=0 any_broker=0 filter=hide_internal_topics
  case "${1:-}" in
    "") ;;
    --all) filter="cat" ;;
    *) echo "usage: $ZKAFKA_PROG status [--all]" >&2; exit 2 ;;
  esac
  echo "== ZooKeeper ensemble =="
  for cfg in "${ZK_CFGS[@]}"; do
    if pid="$(pidfile_running "$(zk_pidfile "$cfg")" "$ZKAFKA_MARKER")"; then
      mode="$(zk_mode 127.0.0.1 "$(zk_port "$cfg")")"
      printf '  %-12s 127.0.0.1:%-5s pid %-7s %s\n' "$(zk_node_name "$cfg")" "$(zk_port "$cfg")" "$pid" "${mode:-not serving}"
      [[ -n "$mode" ]] && any_zk=1
    else
      printf '  %-12s 127.0.0.1:%-5s stopped\n' "$(zk_node_name "$cfg")" "$(zk_port "$cfg")"
    fi
  done
  echo "== Brokers =="
  for props in "${BROKER_PROPS[@]}"; do
    if pid="$(pidfile_running "$(broker_pidfile "$props")" "$BROKER_MARKER")"; then
      printf '  broker %-5s %-16s pid %-7s log %s\n' "$(broker_id "$props")" "$(broker_addr "$props")" "$pid" "$(broker_logfile "$props")"
      http="$(prop_get "$props" zkafka.http.listener)"
      if [[ -n "$http" ]]; then
        printf '  %-12s http://%s/metrics  /state  /events\n' "" "$http"
      fi
      any_broker=1
    else
      printf '  broker %-5s %-16s stopped\n' "$(broker_id "$props")" "$(broker_addr "$props")"
    fi
  done
  echo "== Live cluster view =="
  if pid="$(pidfile_running "$(ui_pidfile)" "$UI_MARKER")"; then
    printf '  http://%s/   pid %-7s log %s\n' "$UI_LISTEN" "$pid" "$(ui_logfile)"
  else
    printf '  stopped (start it with: %s ui)\n' "$ZKAFKA_PROG"
  fi
  if ((any_zk)); then
    connect="$(zk_connect)"
    echo "== ZooKeeper: ls /brokers/ids =="
    zk_shell "$connect" ls /brokers/ids 2>&1 | sed 's/^/  /' || true
    for id in $(registered_ids); do
      echo "== ZooKeeper: get /brokers/ids/$id =="
      zk_shell "$connect" get "/brokers/ids/$id" 2>&1 | sed 's/^/  /' || true
    done
    echo "== ZooKeeper: get /controller =="
    zk_shell "$connect" get /controller 2>&1 | sed 's/^/  /' || true
    echo "== ZooKeeper: get /controller_epoch =="
    zk_shell "$connect" get /controller_epoch 2>&1 | sed 's/^/  /' || true
  fi
  if ((any_broker)) && command -v kcat >/dev/null 2>&1; then
    echo "== kcat -b $(bootstrap) -L =="
    { timeout 20 kcat -b "$(bootstrap)" -L -m 5 2>&1 || echo "(kcat could not fetch metadata)"; } |
      "$filter" | sed 's/^/  /'
  fi
}

# ---------------------------------------------------------------- stop

# controller_id: the controller's broker id, from the brokers' metadata (kcat, fast) or else
# from /controller (a JVM start); empty when there is none or nothing answers.
controller_id() {
  local id=""
  if command -v kcat >/dev/null 2>&1; then
    id="$({ timeout 5 kcat -b "$(bootstrap)" -L -m 3 2>/dev/null || true; } |
      sed -n 's/^ *broker \([0-9]*\) at .* (controller)$/\1/p')"
  fi
  [[ -n "$id" ]] || id="$(zk_shell "$(zk_connect)" get /controller 2>/dev/null |
    grep -o '"brokerid":[0-9]*' | cut -d: -f2 || true)"
  printf '%s\n' "$id"
}

# stop_brokers: one at a time, each waited for, the controller last: every broker's
# controlled shutdown then finds a live controller to move its leaderships away.
stop_brokers() {
  local props pid ctl="" entry rc=0
  local -a running=() order=()
  for props in "${BROKER_PROPS[@]}"; do
    if pid="$(pidfile_running "$(broker_pidfile "$props")" "$BROKER_MARKER")"; then
      running+=("$(broker_id "$props")=$pid")
    fi
  done
  if ((${#running[@]} == 0)); then
    info "no broker running"
    return 0
  fi
  ((${#running[@]} == 1)) || ctl="$(controller_id)"
  for entry in "${running[@]}"; do
    [[ "${entry%%=*}" == "$ctl" ]] || order+=("broker-$entry")
  done
  for entry in "${running[@]}"; do
    [[ "${entry%%=*}" == "$ctl" ]] && order+=("broker-${entry%%=*} (controller)=${entry#*=}")
  done
  for entry in "${order[@]}"; do
    stop_pids "${ZKAFKA_STOP_TIMEOUT:-60}" "$entry" || rc=1
  done
  return "$rc"
}

cmd_stop() {
  local props cfg pid f rc=0
  local -a zks=()
  stop_ui
  stop_brokers || rc=1
  for props in "${BROKER_PROPS[@]}"; do
    rm -f "$(broker_pidfile "$props")"
  done
  for cfg in "${ZK_CFGS[@]}"; do
    f="$(zk_pidfile "$cfg")"
    if pid="$(pidfile_running "$f" "$ZKAFKA_MARKER")"; then
      zks+=("$(zk_node_name "$cfg")=$pid")
    fi
  done
  if ((${#zks[@]})); then
    stop_pids "${ZKAFKA_STOP_TIMEOUT:-30}" "${zks[@]}" || rc=1
  else
    info "no ZooKeeper node running"
  fi
  for cfg in "${ZK_CFGS[@]}"; do
    rm -f "$(zk_pidfile "$cfg")"
  done
  return "$rc"
}

cmd_clean() {
  local cfg props d
  cmd_stop || true
  for cfg in "${ZK_CFGS[@]}"; do
    d="$(resolve_path "$(prop_get "$cfg" dataDir)")"
    info "removing $d"
    rm -rf "$d"
  done
  for props in "${BROKER_PROPS[@]}"; do
    IFS=, read -r -a dirs <<<"$(prop_get "$props" log.dirs)"
    for d in "${dirs[@]}"; do
      d="$(resolve_path "$d")"
      info "removing $d"
      rm -rf "$d"
    done
    rm -f "$(broker_logfile "$props")"
  done
  rm -f "$(ui_logfile)"
}

case "${1:-start}" in
  start) cmd_start ;;
  status) check_files; cmd_status "${2:-}" ;;
  ui) cmd_ui ;;
  stop) check_files; cmd_stop ;;
  clean) check_files; cmd_clean ;;
  -h | --help | help) usage ;;
  *)
    echo "$ZKAFKA_PROG: unknown command: $1" >&2
    usage >&2
    exit 2
    ;;
esac
