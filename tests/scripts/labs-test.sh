#!/usr/bin/env bash
# Runs every lab (scripts/labs/NN-*.sh) non-interactively against one quickstart cluster
# (3 ZooKeeper nodes, 3 brokers, the quickstart's fixed ports) in a throwaway
# ZKAFKA_DATA_DIR, and fails if any lab fails.  Lab 04 also runs in Korean.
#
#   tests/scripts/labs-test.sh [NN...]      e.g. tests/scripts/labs-test.sh 09 12
#
# The broker binary: $ZKAFKA_BIN, else target/debug/zkafka (the one `cargo test` builds;
# `cargo build --bin zkafka` makes sure it is there).  Each lab's output goes to
# $ZKAFKA_DATA_DIR/labs/NN-name.log and is printed when the lab fails.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
ZKAFKA_DATA_DIR="$(mktemp -d /tmp/zkafka-labs.XXXXXX)"
ZKAFKA_BIN="${ZKAFKA_BIN:-$root/target/debug/zkafka}"
export ZKAFKA_DATA_DIR ZKAFKA_BIN
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
S="$ZKAFKA_HOME/scripts"

for p in 2181 2182 2183 9092 9093 9094 9192 9193 9194; do
  port_open "$p" && die "port $p is in use: the labs need the quickstart's ports (stop that cluster first)"
done
if [[ "$ZKAFKA_BIN" == "$root/target/debug/zkafka" ]]; then
  ensure_cargo
  (cd "$root" && cargo build --quiet --bin zkafka) || die "cargo build --bin zkafka failed"
fi

cleanup() {
  "$S/quickstart.sh" stop >/dev/null 2>&1 || true
  rm -rf "$ZKAFKA_DATA_DIR"
}
trap cleanup EXIT

start=$SECONDS
"$S/quickstart.sh" start >"$ZKAFKA_DATA_DIR/quickstart.log" 2>&1 || {
  cat "$ZKAFKA_DATA_DIR/quickstart.log"
  die "scripts/quickstart.sh start failed"
}
info "cluster up in $((SECONDS - start))s"
mkdir -p "$ZKAFKA_DATA_DIR/labs"

labs=()
if (($#)); then
  for n in "$@"; do labs+=("$S"/labs/"$n"-*.sh); done
else
  labs=("$S"/labs/[0-9][0-9]-*.sh)
fi

passed=0
failed=()
# run_lab LAB [ARGS...]: one lab, its output in a log, one line with PASS/FAIL and its time.
run_lab() {
  local lab="$1" name log t0=$SECONDS rc=0
  shift
  name="$(basename "$lab" .sh)${1:+ $*}"
  log="$ZKAFKA_DATA_DIR/labs/${name// /_}.log"
  "$lab" --yes "$@" </dev/null >"$log" 2>&1 || rc=$?
  if ((rc == 0)) && grep -q "^PASS " "$log"; then
    passed=$((passed + 1))
    printf 'PASS %-40s %3ds\n' "$name" $((SECONDS - t0))
  else
    failed+=("$name")
    printf 'FAIL %-40s %3ds (exit status %d); its output:\n' "$name" $((SECONDS - t0)) "$rc"
    sed 's/^/    | /' "$log"
  fi
}

# heal_cluster: a failed lab may leave a broker down; start it again so that one failure does
# not fail every lab after it (quickstart.sh start only starts what is not running).
heal_cluster() {
  local id
  for id in 1 2 3; do
    pidfile_running "$ZKAFKA_RUN_DIR/kafka-$id.pid" "$ZKAFKA_BIN server" >/dev/null && continue
    warn "broker $id is down after the previous lab; restarting the cluster"
    "$S/quickstart.sh" start >>"$ZKAFKA_DATA_DIR/quickstart.log" 2>&1 || warn "scripts/quickstart.sh start failed"
    return
  done
}

for lab in "${labs[@]}"; do
  [[ -x "$lab" ]] || die "no such lab: $lab"
  heal_cluster
  "$lab" --help >/dev/null || failed+=("$(basename "$lab") --help")
  run_lab "$lab"
done
if (($# == 0)); then
  heal_cluster
  run_lab "$S/labs/04-records-and-serializers.sh" --lang ko
fi

echo "labs-test: $passed passed, ${#failed[@]} failed in $((SECONDS - start))s${failed[*]:+: ${failed[*]}}"
((${#failed[@]} == 0))
