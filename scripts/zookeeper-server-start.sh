#!/usr/bin/env bash
# Start one ZooKeeper server (Debian's zookeeper jars, QuorumPeerMain), like
# Kafka's bin/zookeeper-server-start.sh.
#
#   scripts/zookeeper-server-start.sh [-daemon] zk/zoo-1.cfg
#
# Foreground by default (logs to the console and to <dataDir>/zookeeper.log);
# -daemon runs it in the background with a pid file in $ZKAFKA_DATA_DIR/run/ and
# console output in <dataDir>/zookeeper.out.  See scripts/lib.sh for the
# environment variables (ZKAFKA_DATA_DIR, JAVA, ZK_HEAP_OPTS, ZK_MYID).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  echo "usage: $ZKAFKA_PROG [-daemon] <zoo.cfg>" >&2
  exit 2
}

daemon=0
cfg=""
while (($#)); do
  case "$1" in
    -daemon | --daemon) daemon=1 ;;
    -h | --help) usage ;;
    -*) echo "$ZKAFKA_PROG: unknown option: $1" >&2; usage ;;
    *)
      [[ -z "$cfg" ]] || { echo "$ZKAFKA_PROG: more than one config file given: $cfg, $1" >&2; usage; }
      cfg="$1"
      ;;
  esac
  shift
done
[[ -n "$cfg" ]] || usage
cfg="$(abs_from_cwd "$cfg")"
[[ -f "$cfg" ]] || die "config file not found: $cfg"

ensure_zookeeper

data_dir="$(prop_get "$cfg" dataDir)"
[[ -n "$data_dir" ]] || die "$cfg: dataDir is not set"
data_dir="$(resolve_path "$data_dir")"
data_log_dir="$(prop_get "$cfg" dataLogDir)"
[[ -z "$data_log_dir" ]] || data_log_dir="$(resolve_path "$data_log_dir")"
client_port="$(prop_get "$cfg" clientPort)"
[[ "$client_port" =~ ^[0-9]+$ ]] || die "$cfg: clientPort is missing or not a number: '$client_port'"

myid="$(zk_cfg_myid "$cfg")"
if grep -Eq '^[[:space:]]*server\.[0-9]+[[:space:]]*=' "$cfg" && [[ -z "$myid" ]]; then
  die "$cfg: cannot tell this node's myid: no server.N line has the client address ;127.0.0.1:$client_port (add it, or set ZK_MYID=N)"
fi
name="$(zk_node_name "$cfg")"
pidfile="$ZKAFKA_RUN_DIR/$name.pid"

if pid="$(pidfile_running "$pidfile" "$ZKAFKA_MARKER")"; then
  die "$name is already running (pid $pid, pid file $pidfile); stop it with scripts/zookeeper-server-stop.sh $cfg"
fi

# Fail early, naming the port, if something else already listens.
if port_open "$client_port"; then
  die "port $client_port (clientPort in $cfg) is already in use by another process"
fi
if [[ -n "$myid" ]]; then
  own="$(prop_get "$cfg" "server.$myid")"
  own="${own%%;*}"
  IFS=: read -r _ quorum_port election_port _ <<<"$own"
  for p in "$quorum_port" "$election_port"; do
    if [[ "$p" =~ ^[0-9]+$ ]] && port_open "$p"; then
      die "port $p (server.$myid in $cfg) is already in use by another process"
    fi
  done
fi

mkdir -p "$data_dir" "$ZKAFKA_RUN_DIR" || die "cannot create $data_dir"
[[ -z "$data_log_dir" ]] || mkdir -p "$data_log_dir"
if [[ -n "$myid" ]]; then
  if [[ -f "$data_dir/myid" ]] && [[ "$(tr -d '[:space:]' <"$data_dir/myid")" != "$myid" ]]; then
    die "$data_dir/myid says $(cat "$data_dir/myid") but $cfg is server.$myid; wrong dataDir?"
  fi
  echo "$myid" >"$data_dir/myid"
fi

# The effective config: same settings, absolute data directories.
effective="$data_dir/zkafka-zoo.cfg"
awk -v dd="$data_dir" -v dld="$data_log_dir" '
  /^[[:space:]]*dataDir[[:space:]]*[=:]/ { print "dataDir=" dd; next }
  /^[[:space:]]*dataLogDir[[:space:]]*[=:]/ { print "dataLogDir=" dld; next }
  { print }
' "$cfg" >"$effective"

mapfile -t jvm_flags < <(zk_jvm_flags)
cmd=("$(java_bin)" "${jvm_flags[@]}" "$ZKAFKA_MARKER" "-Dzkafka.node=$name"
  "-Dzookeeper.log.dir=$data_dir" -Dzookeeper.log.file=zookeeper.log
  -Dzookeeper.admin.enableServer=false
  -cp "$(zk_classpath)")

if ((daemon)); then
  out="$data_dir/zookeeper.out"
  spawn_daemon "$pidfile" "$out" "${cmd[@]}" -Dzookeeper.root.logger=INFO,ROLLINGFILE "$ZK_MAIN" "$effective"
  pid="$(cat "$pidfile")"
  check_still_running "$pid" "$name" "$out" "$data_dir/zookeeper.log"
  info "started $name (pid $pid) on 127.0.0.1:$client_port; log: $data_dir/zookeeper.log"
else
  echo "$$" >"$pidfile"
  exec "${cmd[@]}" -Dzookeeper.root.logger=INFO,CONSOLE,ROLLINGFILE "$ZK_MAIN" "$effective"
fi
