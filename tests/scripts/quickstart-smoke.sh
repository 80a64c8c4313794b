#!/usr/bin/env bash
# Smoke test of the operational scripts against a real 3-node ZooKeeper
# ensemble and the fake broker (tests/scripts/fake-zkafka.sh), in a throwaway
# ZKAFKA_DATA_DIR.  Uses the quickstart's fixed ports (2181-2183, 2888-2890,
# 3888-3890); skips (exit 0) if any of them is taken.
#
#   tests/scripts/quickstart-smoke.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ZKAFKA_DATA_DIR="$(mktemp -d /tmp/zkafka-smoke.XXXXXX)"
ZKAFKA_BIN="$here/fake-zkafka.sh"
export ZKAFKA_DATA_DIR ZKAFKA_BIN
# shellcheck source=scripts/lib.sh
source "$here/../../scripts/lib.sh"
S="$ZKAFKA_HOME/scripts"
export ZKAFKA_WAIT_SECS="${ZKAFKA_WAIT_SECS:-90}"

passed=0
failed=0
check() {
  local what="$1"
  shift
  if "$@"; then
    echo "ok: $what"
    passed=$((passed + 1))
  else
    echo "FAILED: $what"
    failed=$((failed + 1))
  fi
}

cleanup() {
  "$S/quickstart.sh" stop >/dev/null 2>&1 || true
  rm -rf "$ZKAFKA_DATA_DIR"
}
trap cleanup EXIT

for p in 2181 2182 2183 2888 2889 2890 3888 3889 3890 9180; do
  if port_open "$p"; then
    echo "quickstart-smoke: port $p is in use; skipping the scripts smoke test"
    exit 0
  fi
done

out="$ZKAFKA_DATA_DIR/out.txt"
ours() { find_pids "$@" | wc -l; }
fails() { ! "$@" 2>/dev/null; }
# to FILE CMD...: run CMD with its output in FILE.
to() {
  local file="$1"
  shift
  "$@" >"$file" 2>&1
}

check "help prints usage" to "$out.help" "$S/quickstart.sh" help
check "help names every command" grep -q '^usage: quickstart.sh \[start | status \[--all\] | ui | stop | clean | help\]$' "$out.help"
check "help is not the script's source" fails grep -qE '^(set |source |#)' "$out.help"
check "an unknown command fails with the usage" fails "$S/quickstart.sh" no-such-command

check "quickstart.sh starts the ensemble and the brokers" to "$out" "$S/quickstart.sh" start
check "status shows a leader" grep -q ' leader$' "$out"
check "/brokers/ids lists 1, 2, 3" grep -q '^  \[1, 2, 3\]$' "$out"
check "/controller is printed" grep -q '"brokerid":' "$out"
check "/controller_epoch is printed" grep -A1 -q '/controller_epoch ==' "$out"
check "broker got an absolute log.dirs under ZKAFKA_DATA_DIR" \
  grep -q "log.dirs=$ZKAFKA_DATA_DIR/kafka-logs-1 " "$ZKAFKA_LOG_DIR/kafka-1.log"
check "3 ZooKeeper JVMs" test "$(ours "$ZKAFKA_MARKER" "$ZK_MAIN")" -eq 3
check "start prints the live view's address" grep -q 'Watch it live: http://127.0.0.1:9180/' "$out"
check "one live view" test "$(ours "$ZKAFKA_BIN ui")" -eq 1
check "quickstart.sh ui restarts the view" to "$out.ui" "$S/quickstart.sh" ui
check "still one live view" test "$(ours "$ZKAFKA_BIN ui")" -eq 1

check "second start is idempotent" to "$out.2" "$S/quickstart.sh" start
check "second start starts nothing new" test "$(grep -c 'already running' "$out.2")" -eq 7
check "still 3 ZooKeeper JVMs" test "$(ours "$ZKAFKA_MARKER" "$ZK_MAIN")" -eq 3
check "still 3 brokers" test "$(ours "$ZKAFKA_BIN server")" -eq 3

# Stop a broker that is not the controller by hand; quickstart.sh stop must then stop the
# other one first and the controller last.
controller="$("$S/zookeeper-shell.sh" 127.0.0.1:2181 get /controller | grep -o '"brokerid":[0-9]*' | cut -d: -f2)"
check "/controller names a broker" test -n "$controller"
others=()
for id in 1 2 3; do [[ "$id" == "$controller" ]] || others+=("$id"); done
check "kafka-server-stop.sh stops one broker" "$S/kafka-server-stop.sh" "$S/config/server-${others[0]}.properties"
sleep 1
remaining="$(printf '%s\n' "${others[1]}" "$controller" | sort -n | paste -sd, | sed 's/,/, /g')"
check "its znode is gone" test "$("$S/zookeeper-shell.sh" 127.0.0.1:2182 ls /brokers/ids)" = "[$remaining]"
check "zookeeper-shell.sh fails on a missing node" fails "$S/zookeeper-shell.sh" 127.0.0.1:2183 get /no/such/node
check "a duplicate ZooKeeper start is refused" fails "$S/zookeeper-server-start.sh" -daemon "$ZKAFKA_HOME/zk/zoo-1.cfg"

check "quickstart.sh stop" to "$out.3" "$S/quickstart.sh" stop
# The broker lines of stop, in order: each broker is waited for before the next is signalled.
stop_order="$(grep 'broker-' "$out.3" | sed -E 's/^[^:]*: //; s/ \(pid [0-9]+\)//; s/ after [0-9.]+s$//' | paste -sd'|')"
check "stop stops broker ${others[1]}, then the controller $controller, one at a time" test "$stop_order" = \
  "sent SIGTERM to broker-${others[1]}|broker-${others[1]} stopped|sent SIGTERM to broker-$controller (controller)|broker-$controller (controller) stopped"
check "no ZooKeeper left" test "$(ours "$ZKAFKA_MARKER" "$ZK_MAIN")" -eq 0
check "no broker left" test "$(ours "$ZKAFKA_BIN server")" -eq 0
check "no live view left" test "$(ours "$ZKAFKA_BIN ui")" -eq 0
check "no pid files left" test -z "$(ls -A "$ZKAFKA_RUN_DIR")"
check "ZooKeeper logged to its data dir" test -s "$ZKAFKA_DATA_DIR/zk/1/zookeeper.log"

if ((failed)); then
  echo "---- quickstart output ----"
  cat "$out"
fi
echo "quickstart-smoke: $passed passed, $failed failed"
((failed == 0))
