#!/usr/bin/env bash
# Start a zkafka broker, like Kafka's bin/kafka-server-start.sh.
#
#   scripts/kafka-server-start.sh [-daemon] <server.properties> [--override key=value]...
#
# Runs target/release/zkafka (built with `cargo build --release` if missing)
# as `zkafka server <server.properties> [--override key=value]...`, from the
# repository root.  Relative log.dirs/log.dir entries are made absolute ("data/..."
# goes to $ZKAFKA_DATA_DIR, anything else is relative to the repository root) and
# passed as --override log.dirs=...
#
# Foreground by default (logs to stdout).  With -daemon it runs in the
# background: pid file $ZKAFKA_DATA_DIR/run/kafka-<broker.id>.pid, output in
# $ZKAFKA_DATA_DIR/logs/kafka-<broker.id>.log.  Stop with scripts/kafka-server-stop.sh.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  echo "usage: $ZKAFKA_PROG [-daemon] <server.properties> [--override key=value]..." >&2
  exit 2
}

daemon=0
props=""
extra=()
while (($#)); do
  case "$1" in
    -daemon | --daemon) daemon=1 ;;
    -h | --help) usage ;;
    --override)
      (($# >= 2)) || die "--override needs a key=value argument"
      [[ "$2" == *=* ]] || die "--override $2: expected key=value"
      extra+=("$1" "$2")
      shift
      ;;
    -*)
      [[ -n "$props" ]] || { echo "$ZKAFKA_PROG: unknown option: $1" >&2; usage; }
      extra+=("$1")
      ;;
    *)
      if [[ -z "$props" ]]; then props="$1"; else extra+=("$1"); fi
      ;;
  esac
  shift
done
[[ -n "$props" ]] || usage
props="$(abs_from_cwd "$props")"
[[ -f "$props" ]] || die "properties file not found: $props"

# Effective values: the properties file, then --override (the last one wins).
overrides=()
for ((i = 0; i < ${#extra[@]}; i++)); do
  if [[ "${extra[i]}" == --override ]]; then
    overrides+=("${extra[i + 1]}")
    i=$((i + 1))
  fi
done
effective() {
  local key="$1" v kv
  v="$(prop_get "$props" "$key")"
  for kv in "${overrides[@]}"; do
    [[ "${kv%%=*}" == "$key" ]] && v="${kv#*=}"
  done
  printf '%s\n' "$v"
}

broker_id="$(effective broker.id)"
if [[ -n "$broker_id" ]]; then
  name="kafka-$broker_id"
else
  name="kafka-$(basename "${props%.*}")"
fi
pidfile="$ZKAFKA_RUN_DIR/$name.pid"
marker="$ZKAFKA_BIN server"

# log.dirs takes precedence over log.dir, as in Kafka.
log_key=log.dirs
log_dirs="$(effective log.dirs)"
if [[ -z "$log_dirs" ]]; then
  log_key=log.dir
  log_dirs="$(effective log.dir)"
fi
if [[ -n "$log_dirs" ]]; then
  abs_dirs=()
  IFS=, read -r -a dirs <<<"$log_dirs"
  for d in "${dirs[@]}"; do
    d="${d#"${d%%[![:space:]]*}"}"
    d="${d%"${d##*[![:space:]]}"}"
    [[ -n "$d" ]] && abs_dirs+=("$(resolve_path "$d")")
  done
  abs="$(IFS=,; printf '%s' "${abs_dirs[*]}")"
  if [[ "$abs" != "$log_dirs" ]]; then
    # Rewrite matching --override entries in place; else add one.
    replaced=0
    for ((i = 0; i < ${#extra[@]}; i++)); do
      if [[ "${extra[i]}" == --override && "${extra[i + 1]%%=*}" == "$log_key" ]]; then
        extra[i + 1]="$log_key=$abs"
        replaced=1
      fi
    done
    ((replaced)) || extra+=(--override "$log_key=$abs")
  fi
fi

if pid="$(pidfile_running "$pidfile" "$marker")"; then
  die "$name is already running (pid $pid, pid file $pidfile); stop it with scripts/kafka-server-stop.sh"
fi

# Fail early, naming the port, if a listener port is taken.
listeners="$(effective listeners)"
IFS=, read -r -a ls_arr <<<"$listeners"
for l in "${ls_arr[@]}"; do
  hostport="${l#*://}"
  port="${hostport##*:}"
  host="${hostport%:*}"
  [[ "$port" =~ ^[0-9]+$ ]] || continue
  [[ -n "$host" && "$host" != 0.0.0.0 ]] || host=127.0.0.1
  host="${host#[}"
  host="${host%]}"
  if port_open "$port" "$host"; then
    die "port $port (listeners=$listeners in $props) is already in use by another process"
  fi
done

ensure_zkafka_binary missing
mkdir -p "$ZKAFKA_RUN_DIR" "$ZKAFKA_LOG_DIR"
cd "$ZKAFKA_HOME"
cmd=("$ZKAFKA_BIN" server "$props" "${extra[@]}")

if ((daemon)); then
  out="$ZKAFKA_LOG_DIR/$name.log"
  spawn_daemon "$pidfile" "$out" "${cmd[@]}"
  pid="$(cat "$pidfile")"
  check_still_running "$pid" "$name" "$out"
  info "started $name (pid $pid); log: $out"
else
  echo "$$" >"$pidfile"
  exec "${cmd[@]}"
fi
