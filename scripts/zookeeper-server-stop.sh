#!/usr/bin/env bash
# Stop ZooKeeper servers started by scripts/zookeeper-server-start.sh, like
# Kafka's bin/zookeeper-server-stop.sh (SIGTERM, then wait).
#
#   scripts/zookeeper-server-stop.sh              # every node started from this checkout
#   scripts/zookeeper-server-stop.sh zk/zoo-2.cfg # just that node
#
# Only processes started by these scripts (for this ZKAFKA_HOME) are touched.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

timeout="${ZKAFKA_STOP_TIMEOUT:-30}"
targets=()
if (($# > 1)) || [[ "${1:-}" == -h || "${1:-}" == --help ]]; then
  echo "usage: $ZKAFKA_PROG [zoo.cfg]" >&2
  exit 2
fi

if (($# == 1)); then
  cfg="$(abs_from_cwd "$1")"
  [[ -f "$cfg" ]] || die "config file not found: $cfg"
  name="$(zk_node_name "$cfg")"
  if pid="$(pidfile_running "$ZKAFKA_RUN_DIR/$name.pid" "$ZKAFKA_MARKER")"; then
    targets+=("$name=$pid")
  fi
else
  shopt -s nullglob
  for f in "$ZKAFKA_RUN_DIR"/zookeeper-*.pid; do
    name="$(basename "$f" .pid)"
    if pid="$(pidfile_running "$f" "$ZKAFKA_MARKER")"; then
      targets+=("$name=$pid")
    fi
  done
  # Also nodes whose pid file went missing.
  for pid in $(find_pids "$ZKAFKA_MARKER" "$ZK_MAIN"); do
    [[ " ${targets[*]} " == *"=$pid "* ]] || targets+=("zookeeper=$pid")
  done
fi

if ((${#targets[@]} == 0)); then
  echo "No zookeeper server to stop" >&2
  exit 1
fi
rc=0
stop_pids "$timeout" "${targets[@]}" || rc=1
for t in "${targets[@]}"; do
  rm -f "$ZKAFKA_RUN_DIR/${t%=*}.pid"
done
exit "$rc"
