#!/usr/bin/env bash
# The image's entrypoint (see docker/Dockerfile):
#   zookeeper   a ZooKeeper node: ZOO_MY_ID (its myid) and ZOO_SERVERS (space-separated
#               server.N=host:quorumPort:electionPort;clientPort entries; none = standalone),
#               as the official ZooKeeper image takes them
#   server      a broker: /etc/zkafka/server.properties, plus every KAFKA_* variable as an
#               --override (KAFKA_BROKER_ID=2 -> broker.id=2, "_" becomes "."), after waiting
#               (ZKAFKA_ZK_WAIT_SECS, default 120) for a ZooKeeper server of zookeeper.connect
#               that serves
#   other       run as given (zkafka topics ..., kafka-topics.sh ..., bash)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "${ZKAFKA_HOME:-/opt/zkafka}/scripts/lib.sh"

zookeeper_cfg() {
  local server
  cat <<CFG
# Written by the image's entrypoint from ZOO_MY_ID=${ZOO_MY_ID:-} and ZOO_SERVERS.
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$ZKAFKA_DATA_DIR/zk
clientPort=2181
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
quorumListenOnAllIPs=true
CFG
  for server in ${ZOO_SERVERS:-}; do
    printf '%s\n' "$server"
  done
}

run_zookeeper() {
  local cfg="$ZKAFKA_DATA_DIR/zoo.cfg"
  if [[ -n "${ZOO_SERVERS:-}" ]]; then
    [[ "${ZOO_MY_ID:-}" =~ ^[0-9]+$ ]] || die "ZOO_SERVERS is set but ZOO_MY_ID is not a number: '${ZOO_MY_ID:-}'"
    export ZK_MYID="$ZOO_MY_ID"
  fi
  zookeeper_cfg >"$cfg"
  exec zookeeper-server-start.sh "$cfg"
}

# kafka_overrides: one "key=value" line per KAFKA_* variable.
kafka_overrides() {
  local name key
  while IFS= read -r name; do
    key="${name#KAFKA_}"
    key="${key,,}"
    printf '%s=%s\n' "${key//_/.}" "${!name}"
  done < <(compgen -e | grep '^KAFKA_' || true)
}

# wait_for_zookeeper CONNECT: until one server of CONNECT serves (has a quorum).
wait_for_zookeeper() {
  local connect="${1%%/*}" deadline=$((SECONDS + ${ZKAFKA_ZK_WAIT_SECS:-120})) next=0 server
  while ((SECONDS < deadline)); do
    for server in ${connect//,/ }; do
      [[ -n "$(zk_mode "${server%:*}" "${server##*:}")" ]] && return 0
    done
    if ((SECONDS >= next)); then
      info "waiting for a ZooKeeper server of $connect to serve..."
      next=$((SECONDS + 10))
    fi
    sleep 1
  done
  die "no ZooKeeper server of $connect serves after ${ZKAFKA_ZK_WAIT_SECS:-120}s (zookeeper.connect)"
}

run_server() {
  local props=/etc/zkafka/server.properties kv connect
  local -a overrides=()
  connect="$(prop_get "$props" zookeeper.connect)"
  while IFS= read -r kv; do
    overrides+=(--override "$kv")
    [[ "$kv" == zookeeper.connect=* ]] && connect="${kv#*=}"
  done < <(kafka_overrides)
  wait_for_zookeeper "$connect"
  exec kafka-server-start.sh "$props" "${overrides[@]}"
}

case "${1:-server}" in
  zookeeper) run_zookeeper ;;
  server) run_server ;;
  *) exec "$@" ;;
esac
