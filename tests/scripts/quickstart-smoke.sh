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

for p in 2181 2182 2183 2888 2889 2890 3888 3889 3890; do
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

check "quickstart.sh starts the ensemble and the brokers" to "$out" "$S/quickstart.sh" start
check "status shows a leader" grep -q ' leader$' "$out"
check "/brokers/ids lists 1, 2, 3" grep -q '^  \[1, 2, 3\]$' "$out"
check "/controller is printed" grep -q '"brokerid":' "$out"
check "/controller_epoch is printed" grep -A1 -q '/controller_epoch ==' "$out"
check "broker got an absolute log.dirs under ZKAFKA_DATA_DIR" \
  grep -q "log.dirs=$ZKAFKA_DATA_DIR/kafka-logs-1 " "$ZKAFKA_LOG_DIR/kafka-1.log"
check "3 ZooKeeper JVMs" test "$(ours "$ZKAFKA_MARKER" "$ZK_MAIN")" -eq 3

check "second start is idempotent" to "$out.2" "$S/quickstart.sh" start
check "second start starts nothing new" test "$(grep -c 'already running' "$out.2")" -eq 6
check "still 3 ZooKeeper JVMs" test "$(ours "$ZKAFKA_MARKER" "$ZK_MAIN")" -eq 3
check "still 3 brokers" test "$(ours "$ZKAFKA_BIN server")" -eq 3

check "kafka-server-stop.sh stops one broker" "$S/kafka-server-stop.sh" "$S/config/server-2.properties"
sleep 1
check "its znode is gone" test "$("$S/zookeeper-shell.sh" 127.0.0.1:2182 ls /brokers/ids)" = "[1, 3]"
check "zookeeper-shell.sh fails on a missing node" fails "$S/zookeeper-shell.sh" 127.0.0.1:2183 get /no/such/node
check "a duplicate ZooKeeper start is refused" fails "$S/zookeeper-server-start.sh" -daemon "$ZKAFKA_HOME/zk/zoo-1.cfg"

check "quickstart.sh stop" to "$out.3" "$S/quickstart.sh" stop
check "no ZooKeeper left" test "$(ours "$ZKAFKA_MARKER" "$ZK_MAIN")" -eq 0
check "no broker left" test "$(ours "$ZKAFKA_BIN server")" -eq 0
check "no pid files left" test -z "$(ls -A "$ZKAFKA_RUN_DIR")"
check "ZooKeeper logged to its data dir" test -s "$ZKAFKA_DATA_DIR/zk/1/zookeeper.log"

if ((failed)); then
  echo "---- quickstart output ----"
  cat "$out"
fi
echo "quickstart-smoke: $passed passed, $failed failed"
((failed == 0))
