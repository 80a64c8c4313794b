#!/usr/bin/env bash
# Lab 14: how one message is committed, step by step.  The leader appends the record (its LEO
# moves); each follower fetches it (the leader sees the follower's LEO in its next fetch
# request); when every ISR member has it the leader advances the high watermark, and an
# acks=all producer gets its answer; the followers learn the new HW in their next fetch
# response.  Freezing the followers (SIGSTOP) and thawing them one by one (SIGCONT) slows
# this down enough to watch each step.
set -euo pipefail
# shellcheck source=scripts/labs/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LAB_TITLE_EN="The commit of one message, step by step"
LAB_TITLE_KO="메시지 하나가 커밋되는 과정, 한 단계씩"
lab_init "$@"
need_local_brokers
T=lab14-commit
work="$(mktemp -d "${TMPDIR:-/tmp}/zkafka-lab14.XXXXXX")"
on_exit rm -rf "$work"

controller="$(state 1 "s['controller']['id']")"
mapfile -t ids < <(printf '%s\n' 1 2 3 | grep -vx "$controller")
# Stop only brokers that are not the controller; the producer talks to the leader alone so
# that no frozen broker answers its metadata requests.
leader="$controller"
f1="${ids[0]}"
f2="${ids[1]}"
leader_addr="$(broker_address "$leader")"
# view: "LEO leader/f1/f2 HW h" as the leader sees it.
view() {
  state "$leader" "'LEO %d/%s HW %d' % (part('$T', 0)['log_end_offset'], '/'.join(str(f['log_end_offset']) for f in sorted(part('$T', 0)['followers'], key=lambda f: [$f1, $f2].index(f['id']))), part('$T', 0)['high_watermark'])"
}
producer_waiting() { kill -0 "$(cat "$work/producer.pid")" 2>/dev/null; }

fresh_topic "$T" --replica-assignment "$leader:$f1:$f2"
wait_isr_full "$T"
feed "$(seq -f 'before-%g' 1 5)"$'\n' produce --topic "$T" --request-required-acks all
wait_until 10 test_state "$leader" "all(f['log_end_offset'] == 5 for f in part('$T', 0)['followers'])" || true
say "Leader $leader, followers $f1 and $f2, all in the ISR. Numbers below are the leader's view (its /state): LEO leader/$f1/$f2, then HW." \
  "리더는 ${leader}번, 팔로워는 ${f1}번과 ${f2}번 브로커이고 모두 ISR 에 있습니다. 아래 숫자는 리더의 시각(/state) 입니다: LEO 리더/$f1/$f2, 그리고 HW."
v0="$(view)"
say "Start: $v0" "시작: $v0"
look "Keep the live view on $T-0: the three LEO bars and the HW line move one step at a time." \
  "라이브 뷰에서 $T-0 을 보세요: LEO 막대 세 개와 HW 선이 한 단계씩 움직입니다."
pause

step "Freeze both followers; produce one record with acks=all" "두 팔로워를 멈추고 acks=all 로 레코드 하나 보내기"
on_exit broker_ensure_running "$f2"
on_exit broker_ensure_running "$f1"
broker_signal "$f1" STOP
broker_signal "$f2" STOP
printf '  $ kill -STOP <broker %s> <broker %s>\n' "$f1" "$f2"
(printf 'the-message\n' | exec "$ZKAFKA_BIN" console-producer --bootstrap-server "$leader_addr" --topic "$T" \
  --request-required-acks all --request-timeout-ms 30000 >/dev/null 2>"$work/producer.err") &
echo $! >"$work/producer.pid"
printf '  $ %s &\n' "$(lab_cmdline "$ZKAFKA_HOME/scripts/kafka-console-producer.sh" --bootstrap-server "$leader_addr" --topic "$T" --request-required-acks all --request-timeout-ms 30000) <<< the-message"
wait_until 10 test_state "$leader" "part('$T', 0)['log_end_offset'] == 6" || true
v1="$(view)"
waiting1=no
producer_waiting && waiting1=yes
say "The leader appended it at offset 5: $v1. The producer is still waiting for its answer: $waiting1." \
  "리더가 오프셋 5 에 붙였습니다: $v1. 프로듀서는 아직 응답을 기다립니다: $waiting1."
pause

step "Follower $f1 fetches" "${f1}번 팔로워가 가져갑니다"
say "SIGCONT $f1: it fetches offset 5, and its next fetch tells the leader its LEO is 6. The HW cannot move yet: follower $f2 is in the ISR and does not have the record." \
  "${f1}번 브로커에 SIGCONT: 오프셋 5 를 가져가고, 다음 fetch 로 리더에게 LEO 가 6 이라고 알립니다. HW 는 아직 못 움직입니다. ISR 에 있는 ${f2}번 팔로워가 레코드를 갖고 있지 않습니다."
broker_signal "$f1" CONT
wait_until 10 test_state "$leader" "[f['log_end_offset'] for f in part('$T', 0)['followers'] if f['id'] == $f1] == [6]" || true
v2="$(view)"
hw_f1_mid="$(state "$f1" "part('$T', 0)['high_watermark']")"
waiting2=no
producer_waiting && waiting2=yes
say "Now: $v2. Follower $f1 holds offset 5 but its own HW is $hw_f1_mid: it may not serve it either. Producer still waiting: $waiting2." \
  "지금: $v2. ${f1}번 팔로워는 오프셋 5 를 가졌지만 자신의 HW 는 $hw_f1_mid 입니다. 그것도 아직 내줄 수 없습니다. 프로듀서는 아직 기다립니다: $waiting2."
pause

step "Follower $f2 fetches: the HW moves, the producer gets its answer" "${f2}번 팔로워가 가져가면 HW 가 움직이고 프로듀서가 응답을 받습니다"
broker_signal "$f2" CONT
printf '  $ kill -CONT <broker %s>\n' "$f2"
wait_until 10 test_state "$leader" "part('$T', 0)['high_watermark'] == 6" || true
v3="$(view)"
rc=0
wait "$(cat "$work/producer.pid")" || rc=$?
say "Now: $v3. The record is committed; the acks=all producer finished with exit status $rc." \
  "지금: $v3. 레코드가 커밋되었습니다. acks=all 프로듀서가 종료 코드 $rc 로 끝났습니다."
pause

step "The followers learn the HW on their next fetch" "팔로워는 다음 fetch 에서 HW 를 알게 됩니다"
say "Each fetch response carries the leader's HW. The followers' own /state catches up a moment later." \
  "fetch 응답마다 리더의 HW 가 들어 있습니다. 팔로워 자신의 /state 는 잠시 뒤에 따라옵니다."
wait_until 10 test_state "$f1" "part('$T', 0)['high_watermark'] == 6" || true
wait_until 10 test_state "$f2" "part('$T', 0)['high_watermark'] == 6" || true
hw_f1="$(state "$f1" "part('$T', 0)['high_watermark']")"
hw_f2="$(state "$f2" "part('$T', 0)['high_watermark']")"
say "HW at follower $f1: $hw_f1, at follower $f2: $hw_f2" "${f1}번 팔로워의 HW: $hw_f1, ${f2}번 팔로워의 HW: $hw_f2"
pause

check "start: everyone at 5 ($v0)" "시작: 모두 5 ($v0)" test "$v0" = "LEO 5/5/5 HW 5"
check "the leader appended the record while the followers were frozen; the producer waited ($v1; waiting: $waiting1)" \
  "팔로워가 멈춘 동안 리더가 레코드를 붙였고 프로듀서는 기다렸습니다 ($v1; 대기: $waiting1)" test "$v1|$waiting1" = "LEO 6/5/5 HW 5|yes"
check "follower $f1 caught up but the HW waited for $f2 ($v2; $f1's own HW $hw_f1_mid; producer waiting: $waiting2)" \
  "${f1}번 팔로워는 따라왔지만 HW 는 ${f2}번 팔로워를 기다렸습니다 ($v2; ${f1}번 팔로워의 HW $hw_f1_mid; 프로듀서 대기: $waiting2)" \
  test "$v2|$hw_f1_mid|$waiting2" = "LEO 6/6/5 HW 5|5|yes"
check "with every ISR member at 6 the HW moved to 6 ($v3) and the acks=all producer succeeded (exit status $rc)" \
  "ISR 모두가 6 이 되자 HW 가 6 으로 움직였고 ($v3) acks=all 프로듀서가 성공했습니다 (종료 코드 $rc)" test "$v3|$rc" = "LEO 6/6/6 HW 6|0"
check "the followers learned the HW from their next fetch (got: $hw_f1, $hw_f2)" "팔로워들이 다음 fetch 에서 HW 를 알았습니다 (결과: $hw_f1, $hw_f2)" test "$hw_f1/$hw_f2" = 6/6
lab_finish
