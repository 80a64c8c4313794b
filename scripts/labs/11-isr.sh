#!/usr/bin/env bash
# Lab 11: the ISR (in-sync replicas).  The partition leader decides who is in sync: a follower
# that has not caught up with the leader's log end for replica.lag.time.max.ms is removed,
# and the leader itself writes the new ISR to the partition's state znode in ZooKeeper (the
# controller does not take part).  The lag is measured in time, not in messages: Kafka 0.9
# dropped replica.lag.max.messages because a burst of produce would throw healthy followers
# out of the ISR.
set -euo pipefail
# shellcheck source=scripts/labs/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LAB_TITLE_EN="The ISR: time-based lag, shrunk and expanded by the leader, written to ZooKeeper"
LAB_TITLE_KO="ISR: 시간 기준 지연, 리더가 줄이고 늘리며 ZooKeeper 에 기록합니다"
lab_init "$@"
need_local_brokers
T=lab11-isr
LAG_MS=6000

controller="$(state 1 "s['controller']['id']")"
# The leader and the follower to stop are not the controller: the lesson is that the leader
# alone changes the ISR.
mapfile -t ids < <(printf '%s\n' 1 2 3 | grep -vx "$controller")
leader="${ids[0]}"
follower="${ids[1]}"
# Talk to the leader only: a stopped broker in the bootstrap list would stall the producer.
BOOTSTRAP="$(broker_address "$leader")"
state_version() { zk stat "/brokers/topics/$T/partitions/0/state" | sed -n 's/^dataVersion = //p'; }
isr_now() { state "$leader" "part('$T', 0)['isr']"; }

step "A shorter replica.lag.time.max.ms on the leader" "리더의 replica.lag.time.max.ms 줄이기"
say "The default is 30 s, longer than the ZooKeeper session (18 s) that a stopped broker would lose first. Broker $leader restarts with replica.lag.time.max.ms=$LAG_MS so that you see the leader act, not the controller." \
  "기본값 30초는 멈춘 브로커가 먼저 잃게 되는 ZooKeeper 세션(18초) 보다 깁니다. 컨트롤러가 아니라 리더가 움직이는 것을 보도록 ${leader}번 브로커를 replica.lag.time.max.ms=$LAG_MS 로 다시 시작합니다."
on_exit broker_restart "$leader"
on_exit broker_ensure_running "$follower"
broker_restart "$leader" "replica.lag.time.max.ms=$LAG_MS"
fresh_topic "$T" --replica-assignment "$leader:$follower:$controller"
wait_isr_full "$T"
show topics --describe --topic "$T"
pause

step "A burst does not shrink the ISR" "몰아서 보내도 ISR 은 줄지 않습니다"
say "20,000 records as fast as the producer can send them. The followers are momentarily thousands of records behind, which the old replica.lag.max.messages (default 4000) would have punished; measured in time, they are never 6 s behind, so the ISR never changes (the state znode is not rewritten)." \
  "레코드 20,000개를 최대한 빨리 보냅니다. 팔로워가 잠깐씩 수천 개 뒤처집니다. 예전 replica.lag.max.messages (기본 4000) 였다면 ISR 에서 빠졌을 것입니다. 시간으로 재면 6초나 뒤처지지 않으므로 ISR 은 그대로입니다 (state znode 를 다시 쓰지 않습니다)."
v0="$(state_version)"
seq -f 'burst-%g' 1 20000 | produce --topic "$T" --batch-size 1000 >/dev/null 2>&1 || true
printf '  $ seq -f burst-%%g 1 20000 | %s\n' "$(lab_cmdline produce --topic "$T" --batch-size 1000)"
v1="$(state_version)"
isr_burst="$(isr_of "$T" 0)"
say "ISR after the burst: $isr_burst; state znode dataVersion $v0 -> $v1" "몰아 보낸 뒤 ISR: $isr_burst, state znode dataVersion $v0 -> $v1"
pause

step "A follower stops fetching: the leader shrinks the ISR" "팔로워가 가져오기를 멈추면 리더가 ISR 을 줄입니다"
say "SIGSTOP freezes broker $follower. New records arrive; after $LAG_MS ms without catching up, leader $leader removes it and writes the ISR to /brokers/topics/$T/partitions/0/state itself (then tells the controller through /isr_change_notification)." \
  "SIGSTOP 으로 ${follower}번 브로커를 멈춥니다. 새 레코드가 들어오고, $LAG_MS ms 동안 따라오지 못하면 ${leader}번 리더가 그것을 빼고 ISR 을 /brokers/topics/$T/partitions/0/state 에 직접 씁니다 (그 다음 /isr_change_notification 으로 컨트롤러에 알립니다)."
epoch0="$(state "$leader" "part('$T', 0)['leader_epoch']")"
broker_signal "$follower" STOP
printf '  $ kill -STOP <broker %s>\n' "$follower"
feed $'after-stop-1\nafter-stop-2\n' produce --topic "$T" --request-required-acks 1
look "The live view: $T-0's bar for broker $follower stops; the timeline then says the leader removed it from the ISR and why. Or follow the leader's /events: curl -N http://$(http_of "$leader")/events" \
  "라이브 뷰: $T-0 에서 ${follower}번 브로커의 막대가 멈추고, 타임라인이 리더가 그것을 ISR 에서 뺐다고 이유와 함께 알려줍니다. 또는 리더의 /events: curl -N http://$(http_of "$leader")/events"
wait_until 15 isr_lacks "$leader" "$T" 0 "$follower" || true
isr_shrunk="$(isr_now)"
# Read ZooKeeper before SIGCONT: the follower would rejoin at once.
printf '  $ %s\n' "$(lab_cmdline zk get "/brokers/topics/$T/partitions/0/state")"
znode="$(zk get "/brokers/topics/$T/partitions/0/state" | tail -n1)"
printf '    %s\n' "$znode"
v2="$(state_version)"
broker_signal "$follower" CONT
epoch1="$(state "$leader" "part('$T', 0)['leader_epoch']")"
say "The leader's log line:" "리더의 로그:"
logline="$(grep -h "Partition $T-0 broker=$leader\] Shrinking ISR" "$ZKAFKA_LOG_DIR/kafka-$leader.log" | tail -n1 || true)"
printf '    %s\n' "$logline"
pause

step "The follower catches up: the leader expands the ISR" "팔로워가 따라잡으면 리더가 ISR 을 늘립니다"
say "SIGCONT: broker $follower fetches what it missed; once it reaches the leader's log end, the leader adds it back and writes the znode again." \
  "SIGCONT: ${follower}번 브로커가 놓친 것을 가져옵니다. 리더의 로그 끝에 닿으면 리더가 다시 ISR 에 넣고 znode 를 또 씁니다."
wait_isr_full "$T"
show zk get "/brokers/topics/$T/partitions/0/state"
isr_back="$(isr_of "$T" 0)"
pause

check "the 20,000-record burst left the ISR alone (ISR $isr_burst, dataVersion $v0 -> $v1)" \
  "20,000개를 몰아 보내도 ISR 은 그대로입니다 (ISR $isr_burst, dataVersion $v0 -> $v1)" test "$v0" = "$v1" -a "$(tr ',' '\n' <<<"$isr_burst" | grep -c .)" = 3
check "the leader removed stopped broker $follower from the ISR (got: $isr_shrunk)" "리더가 멈춘 ${follower}번 브로커를 ISR 에서 뺐습니다 (결과: $isr_shrunk)" \
  test -n "$isr_shrunk" -a "$(tr ',' '\n' <<<"$isr_shrunk" | grep -cx "$follower")" = 0
check "the ISR change was written to ZooKeeper (dataVersion $v1 -> $v2; $znode)" "ISR 변경이 ZooKeeper 에 기록되었습니다 (dataVersion $v1 -> $v2; $znode)" \
  test "${v2:-0}" -gt "${v1:-0}" -a "$(grep -c "\"isr\":\[$isr_shrunk\]" <<<"$znode")" = 1
check "no leader election happened: leader $leader, leader epoch $epoch0 -> $epoch1" "리더 선출은 없었습니다: 리더 $leader, 리더 에포크 $epoch0 -> $epoch1" \
  test "$epoch0" = "$epoch1"
check "the leader logged the shrink ($logline)" "리더가 축소를 로그에 남겼습니다 ($logline)" test -n "$logline"
check "after SIGCONT the follower is back in the ISR (got: $isr_back)" "SIGCONT 뒤 팔로워가 ISR 에 돌아왔습니다 (결과: $isr_back)" \
  test "$(tr ',' '\n' <<<"$isr_back" | grep -c .)" = 3
lab_finish
