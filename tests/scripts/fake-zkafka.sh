#!/usr/bin/env bash
# A stand-in for `zkafka server` that follows the broker's ZooKeeper contract
# closely enough to exercise the scripts (quickstart.sh, kafka-server-start.sh,
# kafka-server-stop.sh) before the real broker exists:
#   - reads broker.id, zookeeper.connect, listeners, log.dirs from the
#     properties file and --override key=value (the last one wins);
#   - fails with a message naming the key if log.dirs is not absolute (the
#     scripts must have resolved it) or broker.id/zookeeper.connect are missing;
#   - registers the ephemeral /brokers/ids/<id> and tries to take /controller
#     (ephemeral) and bump /controller_epoch through one ZooKeeper session;
#   - exits 0 on SIGTERM after closing its session.
# `ui` just runs until SIGTERM.  Use it with ZKAFKA_BIN=tests/scripts/fake-zkafka.sh.  It opens no Kafka port.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

# `zkafka ui` stand-in: stays up until SIGTERM, as the live cluster view does.
if [[ "${1:-}" == ui ]]; then
  echo "fake-zkafka: $*"
  trap 'echo "fake-zkafka: ui stopped"; exit 0' TERM INT
  while :; do
    sleep 1 &
    wait $! || true
  done
fi

[[ "${1:-}" == server && -n "${2:-}" ]] || { echo "usage: $0 server <server.properties> [--override k=v]..." >&2; exit 2; }
props="$2"
shift 2
declare -A ov=()
while (($#)); do
  [[ "$1" == --override && $# -ge 2 ]] || { echo "fake-zkafka: unexpected argument: $1" >&2; exit 2; }
  ov["${2%%=*}"]="${2#*=}"
  shift 2
done
get() { if [[ -n "${ov[$1]+x}" ]]; then printf '%s\n' "${ov[$1]}"; else prop_get "$props" "$1"; fi; }

id="$(get broker.id)"
zk="$(get zookeeper.connect)"
listeners="$(get listeners)"
log_dirs="$(get log.dirs)"
[[ "$id" =~ ^[0-9]+$ ]] || { echo "fake-zkafka: invalid broker.id: '$id'" >&2; exit 1; }
[[ -n "$zk" ]] || { echo "fake-zkafka: missing zookeeper.connect" >&2; exit 1; }
[[ "$log_dirs" == /* ]] || { echo "fake-zkafka: log.dirs is not absolute: '$log_dirs'" >&2; exit 1; }
mkdir -p "${log_dirs//,/ }"
echo "fake-zkafka: broker.id=$id listeners=$listeners log.dirs=$log_dirs zookeeper.connect=$zk cwd=$PWD"

hostport="${listeners%%,*}"
hostport="${hostport#*://}"
reg="{\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"},\"endpoints\":[\"${listeners%%,*}\"],\"jmx_port\":-1,\"features\":{},\"host\":\"${hostport%:*}\",\"timestamp\":\"$(date +%s)000\",\"port\":${hostport##*:},\"version\":5}"
ctl="{\"version\":1,\"brokerid\":$id,\"timestamp\":\"$(date +%s)000\"}"

tmp="$(mktemp -d)"
mkfifo "$tmp/cmds"
mapfile -t flags < <(ZK_HEAP_OPTS="-Xms16m -Xmx128m" zk_jvm_flags)
"$(java_bin)" "${flags[@]}" -Dzookeeper.root.logger=WARN,STDERR -cp "$(zk_classpath)" \
  org.apache.zookeeper.ZooKeeperMain -timeout 6000 -server "$zk" <"$tmp/cmds" &
jpid=$!
exec 3>"$tmp/cmds"
# shellcheck disable=SC2317 # invoked by the trap
shutdown() {
  echo "fake-zkafka: SIGTERM, shutting down"
  echo quit >&3 || true
  exec 3>&-
  wait "$jpid" || true
  rm -rf "$tmp"
  echo "fake-zkafka: shut down"
  exit 0
}
trap shutdown TERM INT
{
  echo "create /brokers ''"
  echo "create /brokers/ids ''"
  echo "create -e /brokers/ids/$id '$reg'"
  echo "create -e /controller '$ctl'"
  echo "create /controller_epoch 1"
} >&3
while kill -0 "$jpid" 2>/dev/null; do
  sleep 1 &
  wait $! || true
done
echo "fake-zkafka: ZooKeeper client exited" >&2
exit 1
