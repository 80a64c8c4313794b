# shellcheck shell=bash
# The variables defined here are used by the scripts that source this file.
# shellcheck disable=SC2034
# Shared helpers for the zkafka scripts.  Source it; don't run it.
#
#   ZKAFKA_HOME      repository root (default: the directory above scripts/)
#   ZKAFKA_DATA_DIR  where ZooKeeper data, broker logs, pid files and process
#                    logs go (default: $ZKAFKA_HOME/data).  A relative "data/..."
#                    path in a config file means "$ZKAFKA_DATA_DIR/...".
#   JAVA             java binary (default: java on PATH, else /usr/bin/java)
#   ZK_HEAP_OPTS     heap flags for ZooKeeper JVMs (default: -Xms64m -Xmx512m)
#   ZKAFKA_SETUP_LOG when set, apt-get and cargo output goes to this file instead of the
#                    terminal, with a progress line every 15 s and the tail on failure

if [[ -n "${ZKAFKA_LIB_LOADED:-}" ]]; then
  return 0
fi
ZKAFKA_LIB_LOADED=1

ZKAFKA_HOME="${ZKAFKA_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
ZKAFKA_DATA_DIR="${ZKAFKA_DATA_DIR:-$ZKAFKA_HOME/data}"
case "$ZKAFKA_DATA_DIR" in
  /*) ;;
  *) ZKAFKA_DATA_DIR="$PWD/$ZKAFKA_DATA_DIR" ;;
esac
ZKAFKA_RUN_DIR="$ZKAFKA_DATA_DIR/run"
ZKAFKA_LOG_DIR="$ZKAFKA_DATA_DIR/logs"
# The broker binary; override (e.g. with a test double) via ZKAFKA_BIN.
ZKAFKA_BIN="${ZKAFKA_BIN:-$ZKAFKA_HOME/target/release/zkafka}"
export ZKAFKA_HOME ZKAFKA_DATA_DIR

ZK_JAR=/usr/share/java/zookeeper.jar
# Debian's zookeeper.jar pulls its dependencies via its manifest Class-Path but
# has no slf4j binding: add log4j 1.2 so the servers log to files.
ZK_LOG_JARS=(/usr/share/java/slf4j-log4j12.jar /usr/share/java/log4j-1.2.jar)
ZK_LOG4J="$ZKAFKA_HOME/zk/log4j.properties"
ZK_MAIN=org.apache.zookeeper.server.quorum.QuorumPeerMain
# Marker put on the command line of every process these scripts start, so the
# stop scripts never touch a ZooKeeper/broker they did not start.
ZKAFKA_MARKER="-Dzkafka.home=$ZKAFKA_HOME"

ZKAFKA_PROG="$(basename "${0:-zkafka}")"

die() {
  echo "$ZKAFKA_PROG: error: $*" >&2
  exit 1
}

warn() {
  echo "$ZKAFKA_PROG: warning: $*" >&2
}

info() {
  echo "$ZKAFKA_PROG: $*"
}

is_root() {
  [[ "$(id -u)" -eq 0 ]]
}

# ---------------------------------------------------------------- paths

# resolve_path PATH: absolute paths stay; "data" and "data/..." map into
# $ZKAFKA_DATA_DIR; any other relative path is taken relative to $ZKAFKA_HOME.
resolve_path() {
  local p="$1"
  case "$p" in
    /*) printf '%s\n' "$p" ;;
    data) printf '%s\n' "$ZKAFKA_DATA_DIR" ;;
    data/*) printf '%s\n' "$ZKAFKA_DATA_DIR/${p#data/}" ;;
    ./*) printf '%s\n' "$ZKAFKA_HOME/${p#./}" ;;
    *) printf '%s\n' "$ZKAFKA_HOME/$p" ;;
  esac
}

# abs_from_cwd PATH: make a command-line path absolute against the caller's cwd.
abs_from_cwd() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$PWD/$1" ;;
  esac
}

# ---------------------------------------------------------------- properties

# prop_get FILE KEY: value of the last KEY in a Java-style properties/cfg file
# (key=value, key: value or key value; # and ! comments).  Empty if absent.
prop_get() {
  local file="$1" key="$2"
  awk -v want="$key" '
    /^[[:space:]]*([#!]|$)/ { next }
    {
      line = $0
      sub(/^[[:space:]]+/, "", line)
      if (match(line, /[[:space:]]*[=:][[:space:]]*|[[:space:]]+/)) {
        k = substr(line, 1, RSTART - 1)
        v = substr(line, RSTART + RLENGTH)
      } else {
        k = line; v = ""
      }
      sub(/[[:space:]]+$/, "", v)
      if (k == want) { val = v; found = 1 }
    }
    END { if (found) print val }
  ' "$file"
}

# ---------------------------------------------------------------- setup steps

# run_logged WHAT CMD...: run a long setup step.  Without ZKAFKA_SETUP_LOG its output goes
# to stderr; with it, to that file, while one progress line per 15 s shows the step is alive
# (with the log's last line, e.g. the crate cargo is compiling); on failure the log's tail
# is printed.  Returns CMD's status.
run_logged() {
  local what="$1" log="${ZKAFKA_SETUP_LOG:-}" pid rc=0 start=$SECONDS next
  shift
  if [[ -z "$log" ]]; then
    "$@" >&2
    return
  fi
  mkdir -p "$(dirname "$log")"
  info "$what (output in $log)"
  echo "==== $(date '+%F %T') $what: $*" >>"$log"
  "$@" >>"$log" 2>&1 </dev/null &
  pid=$!
  next=$((SECONDS + 15))
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if ((SECONDS >= next)); then
      info "  ... $what: $((SECONDS - start))s, $(tail -n1 "$log" | cut -c1-80 | sed 's/^ *//')"
      next=$((SECONDS + 15))
    fi
  done
  wait "$pid" || rc=$?
  if ((rc != 0)); then
    echo "---- last lines of $log ----" >&2
    tail -n 30 "$log" >&2
  fi
  return "$rc"
}

# ---------------------------------------------------------------- packages

# apt_install PKG...: install Debian packages non-interactively (root only).
apt_install() {
  is_root || die "missing packages: $*; install them with: sudo apt-get install -y $*"
  command -v apt-get >/dev/null 2>&1 || die "missing packages: $*, and apt-get is not available to install them"
  [[ -n "${ZKAFKA_SETUP_LOG:-}" ]] || info "installing: $*"
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z "${ZKAFKA_APT_UPDATED:-}" ]]; then
    run_logged "apt-get update" apt-get update -qq || warn "apt-get update failed; trying to install anyway"
    ZKAFKA_APT_UPDATED=1
  fi
  run_logged "installing $*" apt-get install -y -qq --no-install-recommends "$@" ||
    die "apt-get install -y $* failed"
}

java_bin() {
  if [[ -n "${JAVA:-}" ]]; then
    printf '%s\n' "$JAVA"
  elif command -v java >/dev/null 2>&1; then
    command -v java
  else
    printf '%s\n' /usr/bin/java
  fi
}

# ensure_zookeeper: Debian's zookeeper package (jars + a JRE) is installed.
ensure_zookeeper() {
  local missing=0 f
  for f in "$ZK_JAR" "${ZK_LOG_JARS[@]}"; do
    [[ -f "$f" ]] || missing=1
  done
  [[ -x "$(java_bin)" ]] || missing=1
  if ((missing)); then
    apt_install zookeeper
    [[ -f "$ZK_JAR" ]] || die "$ZK_JAR still missing after installing the zookeeper package"
    [[ -x "$(java_bin)" ]] || apt_install default-jre-headless
  fi
}

ensure_kcat() {
  command -v kcat >/dev/null 2>&1 || apt_install kcat
}

# ensure_prometheus: Debian's prometheus server, which the observability test runs to scrape
# the brokers' /metrics (its packaged service is not used).
ensure_prometheus() {
  command -v prometheus >/dev/null 2>&1 || apt_install prometheus
  command -v prometheus >/dev/null 2>&1 || die "prometheus still missing after installing the prometheus package"
}

# ensure_chromium: Debian's chromium, which the live view's browser test (tests/ui.rs with
# playwright-core) drives headless.
ensure_chromium() {
  [[ -x /usr/bin/chromium ]] || apt_install chromium
  [[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium still missing after installing the chromium package"
}

# ensure_cargo: put rustup's cargo on PATH, fail clearly if there is none.
ensure_cargo() {
  if ! command -v cargo >/dev/null 2>&1 && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    PATH="$HOME/.cargo/bin:$PATH"
    export PATH
  fi
  command -v cargo >/dev/null 2>&1 ||
    die "cargo not found (looked on PATH and in ~/.cargo/bin); install a Rust toolchain (https://rustup.rs) to build zkafka"
}

# ensure_zkafka_binary MODE: MODE "missing" builds target/release/zkafka only
# if it does not exist, "always" runs cargo anyway (a no-op when up to date).
# A custom ZKAFKA_BIN is never built, only checked.
ensure_zkafka_binary() {
  local mode="$1"
  if [[ "$ZKAFKA_BIN" != "$ZKAFKA_HOME/target/release/zkafka" ]]; then
    [[ -x "$ZKAFKA_BIN" ]] || die "ZKAFKA_BIN=$ZKAFKA_BIN is not an executable"
    return 0
  fi
  if [[ "$mode" == always || ! -x "$ZKAFKA_BIN" ]]; then
    ensure_cargo
    [[ -n "${ZKAFKA_SETUP_LOG:-}" ]] || info "building the broker: cargo build --release (in $ZKAFKA_HOME)"
    run_logged "building the broker (cargo build --release)" \
      env -C "$ZKAFKA_HOME" CARGO_TARGET_DIR="$ZKAFKA_HOME/target" cargo build --release --bin zkafka ||
      die "cargo build --release failed"
    [[ -x "$ZKAFKA_BIN" ]] || die "cargo build --release did not produce $ZKAFKA_BIN"
  fi
}

# The perf tools' binary: target/release/zkafka built with the optional `perf` feature
# (librdkafka is compiled from source, so the default build leaves it out).
# ZKAFKA_PERF_BIN: another build's binary for the tools (e.g. to bench a broker built without
# the perf feature, given as ZKAFKA_BIN).
PERF_BIN="${ZKAFKA_PERF_BIN:-$ZKAFKA_HOME/target/release/zkafka}"

# ensure_perf_binary: builds $PERF_BIN with `--features perf` unless it already has the tools
# and they speak SSL (an older build's librdkafka had no OpenSSL). librdkafka links the
# system's OpenSSL: libssl-dev, found with pkg-config.
ensure_perf_binary() {
  "$PERF_BIN" perf --help >/dev/null 2>&1 && perf_speaks_ssl && return 0
  ensure_cargo
  pkg-config --exists openssl 2>/dev/null || apt_install libssl-dev pkg-config
  info "building the perf tools: cargo build --release --features perf (in $ZKAFKA_HOME)" >&2
  (cd "$ZKAFKA_HOME" && CARGO_TARGET_DIR="$ZKAFKA_HOME/target" cargo build --release --features perf --bin zkafka) >&2 ||
    die "cargo build --release --features perf failed"
}

# perf_speaks_ssl: the perf producer accepts security.protocol=SSL (no broker needed: it sends
# no record and exits).
perf_speaks_ssl() {
  "$PERF_BIN" perf producer --topic probe --num-records 0 --record-size 1 --throughput -1 \
    --producer-props bootstrap.servers=127.0.0.1:1 security.protocol=SSL >/dev/null 2>&1
}

# ---------------------------------------------------------------- network

# port_open PORT [HOST]: true if something accepts TCP connections there.
port_open() {
  local port="$1" host="${2:-127.0.0.1}"
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$port" 2>/dev/null
}

# zk_4lw HOST PORT CMD: send a ZooKeeper four-letter word, print the reply.
zk_4lw() {
  local host="$1" port="$2" cmd="$3"
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf "%s" "$3" >&3
    cat <&3
  ' _ "$host" "$port" "$cmd" 2>/dev/null
}

# zk_mode HOST PORT: leader|follower|standalone|observer, or nothing if the
# node is down or not serving (no quorum).
zk_mode() {
  { zk_4lw "$1" "$2" srvr || true; } | sed -n 's/^Mode: //p'
}

# ---------------------------------------------------------------- processes

# pid_matches PID MARKER: PID is alive and its command line contains MARKER.
pid_matches() {
  local pid="$1" marker="$2" cmdline
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  cmdline="$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null)" || return 1
  [[ "$cmdline" == *"$marker "* ]]
}

# pidfile_running PIDFILE MARKER: print the pid if the process in PIDFILE is
# alive and is ours; remove a stale pid file.
pidfile_running() {
  local file="$1" marker="$2" pid
  [[ -f "$file" ]] || return 1
  pid="$(head -n1 "$file" 2>/dev/null || true)"
  if pid_matches "$pid" "$marker"; then
    printf '%s\n' "$pid"
    return 0
  fi
  rm -f "$file"
  return 1
}

# find_pids MARKER...: pids of processes whose command line contains all
# MARKERs and that were started for this ZKAFKA_DATA_DIR (their environment
# has it: lib.sh exports it), so two clusters with different data dirs never
# stop each other's processes.
find_pids() {
  local d pid cmdline m ok
  for d in /proc/[0-9]*; do
    pid="${d#/proc/}"
    [[ "$pid" == "$$" || "$pid" == "$BASHPID" ]] && continue
    cmdline="$({ tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null)" || continue
    [[ -n "$cmdline" ]] || continue
    ok=1
    for m in "$@"; do
      [[ "$cmdline" == *"$m "* ]] || { ok=0; break; }
    done
    ((ok)) || continue
    grep -qzxF "ZKAFKA_DATA_DIR=$ZKAFKA_DATA_DIR" "$d/environ" 2>/dev/null || continue
    printf '%s\n' "$pid"
  done
  return 0
}

# stop_pids TIMEOUT_SECS NAME=PID...: SIGTERM them all, wait for them to exit,
# SIGKILL whatever is left after the timeout.  Returns 1 if any needed SIGKILL.
stop_pids() {
  local timeout="$1" entry name pid i rc=0
  shift
  local -a left=()
  for entry in "$@"; do
    pid="${entry##*=}"
    kill -0 "$pid" 2>/dev/null || continue
    # A stopped (SIGSTOP) process would never act on SIGTERM.
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || continue
    info "sent SIGTERM to ${entry%=*} (pid $pid)"
    left+=("$entry")
  done
  for ((i = 0; i < timeout * 10 && ${#left[@]} > 0; i++)); do
    sleep 0.1
    local -a still=()
    for entry in "${left[@]}"; do
      if kill -0 "${entry##*=}" 2>/dev/null; then
        still+=("$entry")
      else
        info "${entry%=*} (pid ${entry##*=}) stopped after $(((i + 1) / 10)).$(((i + 1) % 10))s"
      fi
    done
    left=("${still[@]}")
  done
  for entry in "${left[@]}"; do
    name="${entry%=*}"
    pid="${entry##*=}"
    warn "$name (pid $pid) did not exit within ${timeout}s of SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    rc=1
  done
  for entry in "${left[@]}"; do
    for ((i = 0; i < 50; i++)); do
      kill -0 "${entry##*=}" 2>/dev/null || break
      sleep 0.1
    done
  done
  return "$rc"
}

# spawn_daemon PIDFILE OUTFILE CMD...: run CMD detached (own session, no
# stdin, output to OUTFILE); the pid of CMD itself is written to PIDFILE.
spawn_daemon() {
  local pidfile="$1" out="$2" i
  shift 2
  rm -f "$pidfile"
  # shellcheck disable=SC2016 # expanded by the inner bash
  nohup setsid bash -c 'echo "$$" >"$1"; shift; exec "$@"' _ "$pidfile" "$@" >"$out" 2>&1 </dev/null &
  for ((i = 0; i < 50; i++)); do
    [[ -s "$pidfile" ]] && return 0
    sleep 0.1
  done
  die "could not start $1 (no pid written to $pidfile); see $out"
}

# check_still_running PID NAME LOG...: after a short grace period, fail with
# the tail of the logs if the freshly started process already died.
check_still_running() {
  local pid="$1" name="$2" f
  shift 2
  sleep "${ZKAFKA_START_CHECK_SECS:-1}"
  if ! kill -0 "$pid" 2>/dev/null; then
    for f in "$@"; do
      [[ -s "$f" ]] || continue
      echo "---- last lines of $f ----" >&2
      tail -n 20 "$f" >&2
    done
    die "$name exited right after starting; see: $*"
  fi
}

# ---------------------------------------------------------------- ZooKeeper

zk_classpath() {
  local cp="$ZK_JAR" j
  for j in "${ZK_LOG_JARS[@]}"; do
    [[ -f "$j" ]] && cp="$cp:$j"
  done
  printf '%s\n' "$cp"
}

# Small, quick-starting JVMs: the machine has 2 cores.
zk_jvm_flags() {
  local heap="${ZK_HEAP_OPTS:--Xms64m -Xmx512m}"
  # shellcheck disable=SC2086 # word splitting of the heap options is intended
  printf '%s\n' $heap -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.net.preferIPv4Stack=true \
    -Djava.awt.headless=true "-Dlog4j.configuration=file:$ZK_LOG4J"
}

# zk_cfg_myid CFG: the myid of a node config: $ZK_MYID, else the N of the
# server.N line whose client address (";host:port") has clientPort; empty for
# a standalone config (no server.N lines).
zk_cfg_myid() {
  local cfg="$1" port
  if [[ -n "${ZK_MYID:-}" ]]; then
    printf '%s\n' "$ZK_MYID"
    return 0
  fi
  grep -Eq '^[[:space:]]*server\.[0-9]+[[:space:]]*=' "$cfg" || return 0
  port="$(prop_get "$cfg" clientPort)"
  awk -v port="$port" '
    /^[[:space:]]*server\.[0-9]+[[:space:]]*=/ {
      line = $0; gsub(/[[:space:]]/, "", line)
      id = line; sub(/^server\./, "", id); sub(/=.*/, "", id)
      n = split(line, parts, ";")
      if (n >= 2) { c = parts[2]; sub(/.*:/, "", c); if (c == port) { print id; exit } }
    }
  ' "$cfg"
}

# zk_node_name CFG: "zookeeper-<myid>" or "zookeeper-<cfg basename>" (standalone).
zk_node_name() {
  local cfg="$1" id
  id="$(zk_cfg_myid "$cfg")"
  if [[ -n "$id" ]]; then
    printf 'zookeeper-%s\n' "$id"
  else
    id="$(basename "${cfg%.*}")"
    printf 'zookeeper-%s\n' "${id#zoo-}"
  fi
}

# zk_shell CONNECT [CMD ARGS...]: run ZooKeeperMain against CONNECT.
zk_shell() {
  local connect="$1"
  shift
  local -a flags
  mapfile -t flags < <(ZK_HEAP_OPTS="-Xms16m -Xmx256m" zk_jvm_flags)
  if (($# == 0)); then
    exec "$(java_bin)" "${flags[@]}" -Dzookeeper.root.logger=WARN,STDERR \
      -cp "$(zk_classpath)" org.apache.zookeeper.ZooKeeperMain -server "$connect"
  fi
  # Non-interactive: drop the connection preamble that ZooKeeperMain prints
  # ("Connecting to ...", "WATCHER::", "WatchedEvent state:SyncConnected ..."). Its watcher
  # thread may print it after the command's output on a busy machine, so it is dropped
  # wherever it appears (and the blank lines around it).
  "$(java_bin)" "${flags[@]}" -Dzookeeper.root.logger=WARN,STDERR \
    -Dzookeeper.serviceutils.level=OFF \
    -cp "$(zk_classpath)" org.apache.zookeeper.ZooKeeperMain -timeout "${ZK_SHELL_TIMEOUT_MS:-10000}" \
    -server "$connect" "$@" </dev/null |
    awk '
      !printed && /^Connecting to / { next }
      /^WATCHER::$/ || /^WatchedEvent state:SyncConnected type:None path:null$/ { next }
      /^$/ { if (printed) blanks++; next }
      { for (; blanks > 0; blanks--) print ""; printed = 1; print }
    '
}

# ---------------------------------------------------------------- brokers

# broker_id_of PROPS [k=v OVERRIDES...]: broker.id (the last override wins).
broker_id_of() {
  local props="$1" id kv
  shift
  id="$(prop_get "$props" broker.id)"
  for kv in "$@"; do
    [[ "$kv" == broker.id=* ]] && id="${kv#broker.id=}"
  done
  printf '%s\n' "$id"
}
