#!/usr/bin/env bash
# Stop zkafka brokers with SIGTERM (a clean, controlled shutdown), like Kafka's
# bin/kafka-server-stop.sh, and wait for them to exit.
#
#   scripts/kafka-server-stop.sh                                       # all brokers
#   scripts/kafka-server-stop.sh scripts/config/server-2.properties    # just broker 2
#
# Only brokers run from this checkout's target/release/zkafka are touched.
# ZKAFKA_STOP_TIMEOUT (default 60 s): then SIGKILL.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

timeout="${ZKAFKA_STOP_TIMEOUT:-60}"
marker="$ZKAFKA_BIN server"
if (($# > 1)) || [[ "${1:-}" == -h || "${1:-}" == --help ]]; then
  echo "usage: $ZKAFKA_PROG [server.properties]" >&2
  exit 2
fi

targets=()
if (($# == 1)); then
  props="$(abs_from_cwd "$1")"
  [[ -f "$props" ]] || die "properties file not found: $props"
  id="$(broker_id_of "$props")"
  if [[ -n "$id" ]]; then name="kafka-$id"; else name="kafka-$(basename "${props%.*}")"; fi
  if pid="$(pidfile_running "$ZKAFKA_RUN_DIR/$name.pid" "$marker")"; then
    targets+=("$name=$pid")
  fi
else
  shopt -s nullglob
  for f in "$ZKAFKA_RUN_DIR"/kafka-*.pid; do
    name="$(basename "$f" .pid)"
    if pid="$(pidfile_running "$f" "$marker")"; then
      targets+=("$name=$pid")
    fi
  done
  for pid in $(find_pids "$marker"); do
    [[ " ${targets[*]} " == *"=$pid "* ]] || targets+=("zkafka=$pid")
  done
fi

if ((${#targets[@]} == 0)); then
  echo "No kafka server to stop" >&2
  exit 1
fi
rc=0
stop_pids "$timeout" "${targets[@]}" || rc=1
for t in "${targets[@]}"; do
  rm -f "$ZKAFKA_RUN_DIR/${t%=*}.pid"
done
exit "$rc"
