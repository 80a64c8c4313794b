#!/usr/bin/env bash
# Lab 13: consumer positions.  Four numbers per partition: the log end offset (LEO, where the
# leader writes next), the high watermark (HW, up to where every in-sync replica has the
# records: consumers may read only below it), the consumer's current position (the next
# offset it will fetch) and its last committed offset (where the group resumes after a
# restart).  committed <= position <= HW <= LEO.
set -euo pipefail
# shellcheck source=scripts/labs/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LAB_TITLE_EN="Consumer positions: log end offset, position, committed offset, high watermark"
LAB_TITLE_KO="컨슈머 위치: 로그 끝 오프셋, 현재 위치, 커밋된 오프셋, 하이 워터마크"
lab_init "$@"
need_local_brokers
T=lab13-positions
G=lab13-reader

controller="$(state 1 "s['controller']['id']")"
mapfile -t ids < <(printf '%s\n' 1 2 3 | grep -vx "$controller")
leader="${ids[0]}"
follower="${ids[1]}"
# Talk to the leader only: a stopped broker in the bootstrap list would stall the clients.
BOOTSTRAP="$(broker_address "$leader")"
leo() { state "$leader" "part('$T', 0)['log_end_offset']"; }
hw() { state "$leader" "part('$T', 0)['high_watermark']"; }
committed() { groups --describe --group "$G" 2>/dev/null | awk -v t="$T" '$1 == t { print $3 }'; }
visible() { consume --topic "$T" --from-beginning --timeout-ms 2500 2>/dev/null | grep -c '^record-' || true; }

fresh_topic "$T" --replica-assignment "$leader:$follower:$controller"
fresh_group "$G"
wait_isr_full "$T"

step "Ten records: LEO = HW = 10" "레코드 10개: LEO = HW = 10"
feed "$(seq -f 'record-%g' 0 9)"$'\n' produce --topic "$T" --request-required-acks all
leo1="$(leo)"
hw1="$(hw)"
say "Leader $leader: log_end_offset $leo1, high_watermark $hw1 (from its /state: curl http://$(http_of "$leader")/state)." \
  "리더 $leader: log_end_offset $leo1, high_watermark $hw1 (/state: curl http://$(http_of "$leader")/state)."
look "The live view draws each replica's LEO as a bar and the HW as a line across them." \
  "라이브 뷰는 복제본마다 LEO 를 막대로, HW 를 그 위의 선으로 그립니다."
pause

step "Position and committed offset" "현재 위치와 커밋된 오프셋"
say "A consumer of group '$G' reads 4 records (offsets 0-3): its position is now 4, the next offset to fetch. On exit it commits 4: the committed offset, where the group will resume." \
  "그룹 '$G' 의 컨슈머가 레코드 4개(오프셋 0-3) 를 읽습니다. 현재 위치는 다음에 가져올 오프셋인 4 입니다. 끝날 때 4 를 커밋합니다. 그룹이 다시 시작할 곳입니다."
show consume --topic "$T" --group "$G" --from-beginning --max-messages 4 --property print.offset=true
show groups --describe --group "$G"
committed1="$(committed)"
pause

step "Records above the high watermark are invisible" "하이 워터마크 위의 레코드는 보이지 않습니다"
say "SIGSTOP broker $follower (a follower, still in the ISR) and write 3 records with acks=1: the leader's LEO moves to 13 but the HW stays at 10 until every ISR member has them. A consumer reading now sees 10 records, not 13: it cannot read what could still be lost." \
  "브로커 $follower (ISR 에 있는 팔로워) 를 SIGSTOP 하고 acks=1 로 레코드 3개를 씁니다. 리더의 LEO 는 13 이 되지만 HW 는 모든 ISR 멤버가 받을 때까지 10 에 머뭅니다. 지금 읽는 컨슈머는 13개가 아니라 10개를 봅니다. 아직 잃을 수도 있는 것은 읽을 수 없습니다."
on_exit broker_ensure_running "$follower"
broker_signal "$follower" STOP
printf '  $ kill -STOP <broker %s>\n' "$follower"
feed $'record-10\nrecord-11\nrecord-12\n' produce --topic "$T" --request-required-acks 1
leo2="$(leo)"
hw2="$(hw)"
seen2="$(visible)"
broker_signal "$follower" CONT
printf '  $ kill -CONT <broker %s>\n' "$follower"
say "While it was stopped: LEO $leo2, HW $hw2, a reader saw $seen2 records." "멈춰 있는 동안: LEO $leo2, HW $hw2, 읽은 레코드 ${seen2}개."
pause

step "The follower catches up: HW = 13" "팔로워가 따라잡으면: HW = 13"
wait_until 20 test_state "$leader" "part('$T', 0)['high_watermark'] == 13" || true
leo3="$(leo)"
hw3="$(hw)"
seen3="$(visible)"
say "Now: LEO $leo3, HW $hw3, a reader sees $seen3 records; the group's committed offset is still $(committed) until it reads again." \
  "이제: LEO $leo3, HW $hw3, 읽으면 ${seen3}개가 보입니다. 그룹의 커밋된 오프셋은 다시 읽기 전까지 $(committed) 입니다."
pause

check "after 10 acks=all records LEO = HW = 10 (got: $leo1 / $hw1)" "acks=all 로 10개를 쓴 뒤 LEO = HW = 10 입니다 (결과: $leo1 / $hw1)" test "$leo1/$hw1" = 10/10
check "the group committed offset 4 after reading offsets 0-3 (got: $committed1)" "오프셋 0-3 을 읽은 뒤 그룹이 4 를 커밋했습니다 (결과: $committed1)" test "$committed1" = 4
check "with a follower stopped, LEO moved to 13 but HW stayed 10 (got: $leo2 / $hw2)" "팔로워가 멈춘 동안 LEO 는 13, HW 는 10 입니다 (결과: $leo2 / $hw2)" test "$leo2/$hw2" = 13/10
check "a consumer could read only the 10 records below the HW (got: $seen2)" "컨슈머는 HW 아래의 10개만 읽었습니다 (결과: $seen2)" test "$seen2" = 10
check "after SIGCONT HW reached 13 and all 13 are readable (got: HW $hw3, read $seen3)" "SIGCONT 뒤 HW 가 13 이 되었고 13개를 모두 읽습니다 (결과: HW $hw3, 읽음 $seen3)" test "$hw3/$seen3" = 13/13
lab_finish
