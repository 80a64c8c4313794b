#!/usr/bin/env bash
# Lab 08: consumer failure and rebalance.  The group coordinator (one broker) tracks the
# members of a group by their heartbeats.  A member joining, or a member whose heartbeats
# stop for session.timeout.ms (10 s), starts a rebalance: a new generation, and the
# partitions are divided again among the members that are left.
set -euo pipefail
# shellcheck source=scripts/labs/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LAB_TITLE_EN="Consumer failure and rebalance"
LAB_TITLE_KO="컨슈머 장애와 리밸런스"
lab_init "$@"
T=lab08-tasks
G=lab08-workers
work="$(mktemp -d "${TMPDIR:-/tmp}/zkafka-lab08.XXXXXX")"
on_exit rm -rf "$work"

# start_member NAME: a console consumer of the group in the background; its pid in $NAME.pid.
start_member() {
  (exec "$ZKAFKA_BIN" console-consumer --bootstrap-server "$BOOTSTRAP" --topic "$T" --group "$G" \
    --from-beginning --property print.partition=true >"$work/$1.out" 2>"$work/$1.err") &
  echo $! >"$work/$1.pid"
  disown $!
  on_exit kill_quietly "$!"
}

coordinator() {
  groups --describe --group "$G" --state 2>/dev/null | sed -n 's/.*(\([0-9]*\)).*/\1/p' | head -n1
}
# members_are N: the group is Stable with N members.
# shellcheck disable=SC2317 # called through wait_until
members_are() {
  local c
  c="$(coordinator)"
  [[ -n "$c" ]] && test "$(state "$c" "group('$G')['state'] + '/' + str(len(group('$G')['members']))")" = "Stable/$1"
}
generation() { state "$(coordinator)" "group('$G')['generation']"; }
# assignments: each member's partitions, e.g. "0,1 2,3".
assignments() {
  state "$(coordinator)" "' '.join(sorted(','.join(map(str, m['assignment'].get('$T', []))) for m in group('$G')['members']))"
}

fresh_topic "$T" --partitions 4 --replication-factor 2
fresh_group "$G"
step "Consumer A joins: it gets all 4 partitions" "컨슈머 A 참여: 파티션 4개를 모두 받습니다"
start_member a
wait_until 30 members_are 1 || true
gen1="$(generation)"
split1="$(assignments)"
show groups --describe --group "$G" --members --verbose
look "The live view's group $G: one member, generation $gen1. Or the coordinator's /state: curl http://$(http_of "$(coordinator)")/state" \
  "라이브 뷰의 그룹 $G: 멤버 1개, 세대(generation) $gen1. 또는 코디네이터의 /state: curl http://$(http_of "$(coordinator)")/state"
pause

step "Consumer B joins: a rebalance splits the partitions" "컨슈머 B 참여: 리밸런스로 파티션을 나눕니다"
say "The coordinator tells A (in its next heartbeat) to rejoin; both join, the leader member computes a new assignment (range: 2 partitions each) and the generation goes up." \
  "코디네이터가 다음 하트비트에서 A 에게 다시 참여하라고 알립니다. 둘 다 참여하고, 리더 멤버가 새 할당(range: 각각 2개)을 계산하고, 세대가 올라갑니다."
start_member b
wait_until 40 members_are 2 || true
gen2="$(generation)"
split2="$(assignments)"
show groups --describe --group "$G" --members --verbose
pause

step "Consumer A crashes (kill -9)" "컨슈머 A 가 죽습니다 (kill -9)"
say "A dies without a LeaveGroup. The coordinator only notices when A's heartbeats have been missing for session.timeout.ms (10 s); then it rebalances and B gets all 4 partitions." \
  "A 가 LeaveGroup 없이 죽습니다. 코디네이터는 A 의 하트비트가 session.timeout.ms (10초) 동안 없을 때 알아차립니다. 그러면 리밸런스하고 B 가 파티션 4개를 모두 받습니다."
show kill -9 "$(cat "$work/a.pid")"
look "The live view's timeline: the group rebalances to a new generation about 10 s after the kill." \
  "라이브 뷰의 타임라인: kill 후 약 10초 뒤 그룹이 새 세대로 리밸런스합니다."
wait_until 60 members_are 1 || true
gen3="$(generation)"
split3="$(assignments)"
show groups --describe --group "$G" --members --verbose
pause

step "B now reads every partition" "이제 B 가 모든 파티션을 읽습니다"
recs="$(for i in $(seq 0 19); do printf 'task-%d:run\n' "$i"; done)"
feed "$recs"$'\n' produce --topic "$T" --property parse.key=true --property key.separator=: --request-required-acks all
wait_until 20 test "$(grep -c run "$work/b.out" 2>/dev/null || echo 0)" -ge 20 || true
b_parts="$({ grep -o '^Partition:[0-9]*' "$work/b.out" || true; } | sort -u | cut -d: -f2 | paste -sd,)"
say "B received records of partitions: $b_parts" "B 가 받은 레코드의 파티션: $b_parts"
pause

check "A alone owned all 4 partitions (got: $split1), then A and B split them 2+2 (got: $split2)" \
  "A 혼자일 때 파티션 4개를 모두 가졌고 (결과: $split1), A 와 B 는 2+2 로 나누었습니다 (결과: $split2)" \
  test "$split1|$split2" = "0,1,2,3|0,1 2,3"
check "B's join raised the generation (got: $gen1 -> $gen2)" "B 의 참여로 세대가 올라갔습니다 (결과: $gen1 -> $gen2)" test "${gen2:-0}" -gt "${gen1:-0}"
check "after A's crash the group rebalanced again (generation $gen2 -> $gen3) and B owns all 4 (got: $split3)" \
  "A 가 죽은 뒤 다시 리밸런스했고 (세대 $gen2 -> $gen3) B 가 4개를 모두 가집니다 (결과: $split3)" \
  test "${gen3:-0}" -gt "${gen2:-0}" -a "$split3" = "0,1,2,3"
check "B then read records from all 4 partitions (got: $b_parts)" "그 뒤 B 가 파티션 4개 모두의 레코드를 읽었습니다 (결과: $b_parts)" test "$b_parts" = "0,1,2,3"
lab_finish
