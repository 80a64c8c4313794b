#!/usr/bin/env bash
# Lab 06: consumer offsets; one consumer over many partitions.  A consumer reads each partition
# from a position and commits that position (the committed offset) to the group coordinator,
# which keeps it in the internal topic __consumer_offsets; a restarted consumer resumes there.
# A single consumer in a group gets every partition of the topic.
set -euo pipefail
# shellcheck source=scripts/labs/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LAB_TITLE_EN="Consumer offsets; one consumer over many partitions"
LAB_TITLE_KO="컨슈머 오프셋, 컨슈머 하나가 여러 파티션 읽기"
lab_init "$@"
T=lab06-payments
G=lab06-billing

# group_sum COLUMN: the sum of one column (3 = CURRENT-OFFSET, 4 = LOG-END-OFFSET, 5 = LAG)
# over the topic's rows of kafka-consumer-groups.sh --describe.
group_sum() {
  groups --describe --group "$G" 2>/dev/null | awk -v t="$T" -v c="$1" '$1 == t { s += $c } END { print s + 0 }'
}

fresh_topic "$T" --partitions 3 --replication-factor 3
fresh_group "$G"
step "Thirty records over three partitions" "파티션 세 개에 레코드 30개"
recs="$(for i in $(seq 0 29); do printf 'account-%d:payment-%02d\n' $((i % 10)) "$i"; done)"
feed "$recs"$'\n' produce --topic "$T" --property parse.key=true --property key.separator=: --request-required-acks all
pause

step "One consumer reads every partition" "컨슈머 하나가 모든 파티션을 읽습니다"
say "A consumer in group '$G' is the only member, so the group gives it all three partitions. It reads until 3 s pass without a record, commits its positions and leaves." \
  "그룹 '$G' 의 컨슈머는 유일한 멤버라서 파티션 세 개를 모두 받습니다. 3초 동안 레코드가 없을 때까지 읽고, 위치를 커밋하고 그룹을 떠납니다."
printf '  $ %s\n' "$(lab_cmdline consume --topic "$T" --group "$G" --from-beginning --timeout-ms 3000 --property print.partition=true)"
first="$(consume --topic "$T" --group "$G" --from-beginning --timeout-ms 3000 --property print.partition=true 2>/dev/null)"
printf '%s\n' "$first" | awk '{ print "    " $0 } NR == 6 { print "    ..."; exit }'
n1="$(grep -c 'payment-' <<<"$first" || true)"
parts1="$({ grep -o '^Partition:[0-9]*' <<<"$first" || true; } | sort -u | cut -d: -f2 | paste -sd,)"
pause

step "The committed offsets" "커밋된 오프셋"
say "CURRENT-OFFSET is the committed offset: the next record the group will read. LAG = LOG-END-OFFSET - CURRENT-OFFSET." \
  "CURRENT-OFFSET 이 커밋된 오프셋, 즉 그룹이 다음에 읽을 레코드입니다. LAG = LOG-END-OFFSET - CURRENT-OFFSET 입니다."
show groups --describe --group "$G"
committed="$(group_sum 3)"
show groups --describe --group "$G" --state
look "The group coordinator keeps these offsets in __consumer_offsets. The live view's groups panel shows them; so does the coordinator's /state (\"groups\" → \"offsets\")." \
  "그룹 코디네이터가 이 오프셋을 __consumer_offsets 에 저장합니다. 라이브 뷰의 그룹 패널, 그리고 코디네이터 브로커의 /state (\"groups\" → \"offsets\") 에서 볼 수 있습니다."
pause

step "Six new records: lag 6, and the consumer resumes" "새 레코드 6개: lag 6, 그리고 이어 읽기"
recs="$(for i in $(seq 30 35); do printf 'account-%d:payment-%02d\n' $((i % 10)) "$i"; done)"
feed "$recs"$'\n' produce --topic "$T" --property parse.key=true --property key.separator=: --request-required-acks all
show groups --describe --group "$G"
lag="$(group_sum 5)"
say "The same group starts again: it resumes at the committed offsets and gets only the 6 new records, not all 36 (--from-beginning only applies to a partition without a committed offset)." \
  "같은 그룹으로 다시 시작합니다. 커밋된 오프셋부터 이어서 읽으므로 36개가 아니라 새 레코드 6개만 받습니다 (--from-beginning 은 커밋된 오프셋이 없는 파티션에만 적용됩니다)."
printf '  $ %s\n' "$(lab_cmdline consume --topic "$T" --group "$G" --from-beginning --timeout-ms 3000)"
second="$(consume --topic "$T" --group "$G" --from-beginning --timeout-ms 3000 2>/dev/null)"
printf '%s\n' "$second" | sed 's/^/    /'
n2="$(grep -c 'payment-' <<<"$second" || true)"
lag2="$(group_sum 5)"
pause

check "one consumer read all 30 records (got: $n1) from partitions 0,1,2 (got: $parts1)" \
  "컨슈머 하나가 파티션 0,1,2 (결과: $parts1) 에서 레코드 30개 (결과: $n1) 를 모두 읽었습니다" test "$n1/$parts1" = "30/0,1,2"
check "the group committed offsets summing to 30 (got: $committed)" "그룹이 커밋한 오프셋 합이 30 입니다 (결과: $committed)" test "$committed" = 30
check "after 6 new records the group's lag is 6 (got: $lag)" "새 레코드 6개 뒤 그룹의 lag 이 6 입니다 (결과: $lag)" test "$lag" = 6
check "the restarted consumer got only the 6 new records (got: $n2) and the lag is 0 again (got: $lag2)" \
  "다시 시작한 컨슈머는 새 레코드 6개만 (결과: $n2) 받았고 lag 은 다시 0 입니다 (결과: $lag2)" test "$n2/$lag2" = 6/0
lab_finish
