#!/usr/bin/env bash
# Lab 09: broker failure.  When a broker dies, its ZooKeeper session expires
# (zookeeper.session.timeout.ms, 18 s here), its ephemeral /brokers/ids/<id> vanishes, and the
# controller moves the leadership of each partition it led to another replica of the ISR,
# with a new leader epoch.  Acknowledged records survive; the broker rejoins when restarted.
set -euo pipefail
# shellcheck source=scripts/labs/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LAB_TITLE_EN="Broker failure: the controller elects a new leader"
LAB_TITLE_KO="브로커 장애: 컨트롤러가 새 리더를 뽑습니다"
lab_init "$@"
need_local_brokers
T=lab09-accounts

controller="$(state 1 "s['controller']['id']")"
# The victim leads the partition and is not the controller (lab 12 kills the controller).
victim=1
[[ "$controller" == 1 ]] && victim=2
others="$(printf '%s\n' 1 2 3 | grep -vx "$victim" | paste -sd:)"
fresh_topic "$T" --replica-assignment "$victim:$others"
wait_isr_full "$T"

step "A partition led by broker $victim" "${victim}번 브로커가 리더인 파티션"
feed "$(seq -f 'deposit-%g' 1 10)"$'\n' produce --topic "$T" --request-required-acks all
show topics --describe --topic "$T"
show zk get "/brokers/topics/$T/partitions/0/state"
isr_before="$(isr_of "$T" 0)"
epoch_before="$(state "$victim" "part('$T', 0)['leader_epoch']")"
pause

step "kill -9 broker $victim" "${victim}번 브로커를 kill -9"
say "No controlled shutdown: the process just vanishes. ZooKeeper deletes /brokers/ids/$victim when the session times out (up to 18 s); then the controller (broker $controller) elects a new leader from the ISR and writes the new leader, epoch and ISR to the partition's state znode." \
  "정상 종료 없이 프로세스가 그냥 사라집니다. 세션이 만료되면 (최대 18초) ZooKeeper 가 /brokers/ids/$victim 노드를 지웁니다. 그러면 컨트롤러(브로커 $controller) 가 ISR 에서 새 리더를 뽑고, 새 리더, 에포크, ISR 을 파티션 state znode 에 씁니다."
on_exit broker_ensure_running "$victim"
broker_signal "$victim" KILL
printf '  $ kill -9 <broker %s>\n' "$victim"
look "The live view: broker $victim turns dead, $T-0 gets a new leader and a shorter ISR, and the timeline says which broker the controller elected and why." \
  "라이브 뷰: ${victim}번 브로커가 죽은 것으로 바뀌고, $T-0 에 새 리더와 짧아진 ISR 이 보이며, 타임라인이 컨트롤러가 누구를 왜 뽑았는지 알려줍니다."
wait_until 90 leader_moved_from "$T" 0 "$victim" || true
show topics --describe --topic "$T"
show zk get "/brokers/topics/$T/partitions/0/state"
leader_after="$(leader_of "$T" 0)"
isr_after="$(isr_of "$T" 0)"
epoch_after="$(state "$leader_after" "part('$T', 0)['leader_epoch']" 2>/dev/null || echo "?")"
pause

step "Nothing acknowledged is lost; the topic still takes writes" "확인된 레코드는 그대로이고 쓰기도 됩니다"
feed "$(seq -f 'deposit-%g' 11 15)"$'\n' produce --topic "$T" --request-required-acks all
n="$(consume --topic "$T" --from-beginning --timeout-ms 3000 2>/dev/null | grep -c deposit- || true)"
say "Records read from the beginning: $n" "처음부터 읽은 레코드 수: $n"
pause

step "Broker $victim comes back" "${victim}번 브로커가 돌아옵니다"
say "Restarted, it registers again, truncates its log to what the new leader confirms, fetches what it missed, and rejoins the ISR. It stays a follower: leadership returns to the preferred replica only with a preferred leader election (auto.leader.rebalance.enable, every 5 minutes)." \
  "다시 시작하면 다시 등록하고, 새 리더가 확인해 주는 지점까지 로그를 자르고, 놓친 레코드를 가져와 ISR 에 다시 들어갑니다. 리더는 아닙니다. 선호 리더 선출 (auto.leader.rebalance.enable, 5분마다) 이 있어야 리더가 선호 복제본으로 돌아갑니다."
broker_ensure_running "$victim"
wait_isr_full "$T"
show topics --describe --topic "$T"
isr_back="$(isr_of "$T" 0)"
leo_back="$(state "$victim" "part('$T', 0)['log_end_offset']" 2>/dev/null || echo "?")"
pause

check "the controller elected a new leader from the ISR [$isr_before] (leader $victim -> $leader_after)" \
  "컨트롤러가 ISR [$isr_before] 에서 새 리더를 뽑았습니다 (리더 $victim -> $leader_after)" \
  test -n "$leader_after" -a "$leader_after" != "$victim" -a "$leader_after" != -1
check "the dead broker left the ISR ($isr_before -> $isr_after)" "죽은 브로커가 ISR 에서 빠졌습니다 ($isr_before -> $isr_after)" \
  test -n "$isr_after" -a "$(tr ',' '\n' <<<"$isr_after" | grep -cx "$victim")" = 0
check "the leader epoch went up ($epoch_before -> $epoch_after)" "리더 에포크가 올라갔습니다 ($epoch_before -> $epoch_after)" \
  test "$epoch_after" -gt "$epoch_before"
check "all 15 acknowledged records are readable (got: $n)" "확인된 레코드 15개를 모두 읽을 수 있습니다 (결과: $n)" test "$n" = 15
check "restarted, broker $victim is back in the ISR ($isr_back) with all 15 records (log end offset: $leo_back)" \
  "다시 시작한 ${victim}번 브로커가 ISR ($isr_back) 에 돌아왔고 15개를 모두 가졌습니다 (로그 끝 오프셋: $leo_back)" \
  test "$(tr ',' '\n' <<<"$isr_back" | grep -c .)/$leo_back" = 3/15
lab_finish
