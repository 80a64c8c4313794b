#!/usr/bin/env bash
# Lab 12: the controller.  One broker is the controller: the one that created the ephemeral
# /controller znode.  It watches /brokers/ids and elects partition leaders.  When it dies its
# znode goes with its session, the other brokers race to create /controller again, and the
# winner increments /controller_epoch: requests stamped with an older epoch (a "zombie"
# controller) are refused.
set -euo pipefail
# shellcheck source=scripts/labs/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LAB_TITLE_EN="The controller: kill it, watch the re-election and /controller_epoch"
LAB_TITLE_KO="컨트롤러: 죽이고 재선출과 /controller_epoch 를 봅니다"
lab_init "$@"
need_local_brokers
T=lab12-controlled

controller_in_zk() { zk get /controller | grep -o '"brokerid":[0-9]*' | cut -d: -f2; }
epoch_in_zk() { zk get /controller_epoch | tail -n1; }

step "Who is the controller?" "누가 컨트롤러인가?"
show zk get /controller
show zk get /controller_epoch
old="$(controller_in_zk)"
epoch0="$(epoch_in_zk)"
survivor="$(printf '%s\n' 1 2 3 | grep -vx "$old" | head -n1)"
others="$(printf '%s\n' 1 2 3 | grep -vx "$old" | paste -sd:)"
say "Broker $old is the controller, epoch $epoch0. A topic led by broker $old shows that the next controller also takes over its partitions." \
  "${old}번 브로커가 컨트롤러이고 에포크는 $epoch0 입니다. ${old}번 브로커가 리더인 토픽을 만들어, 다음 컨트롤러가 그 파티션도 맡는 것을 봅니다."
fresh_topic "$T" --replica-assignment "$old:$others"
wait_isr_full "$T"
pause

step "kill -9 the controller" "컨트롤러를 kill -9"
say "After the session timeout (up to 18 s) ZooKeeper deletes /controller; every broker watches it, and the first to create it again wins. The winner bumps /controller_epoch, reads the cluster state from ZooKeeper and elects a leader for the partitions broker $old led." \
  "세션이 만료되면 (최대 18초) ZooKeeper 가 /controller 를 지웁니다. 모든 브로커가 이 노드를 지켜보다가 먼저 다시 만드는 쪽이 이깁니다. 이긴 브로커가 /controller_epoch 를 올리고, ZooKeeper 에서 클러스터 상태를 읽고, ${old}번 브로커가 리더였던 파티션에 새 리더를 뽑습니다."
on_exit broker_ensure_running "$old"
broker_signal "$old" KILL
printf '  $ kill -9 <broker %s>\n' "$old"
look "The live view: the ZooKeeper panel shows /controller change and its epoch go up; the timeline says which broker won the election. The brokers' logs: grep -i controller data/logs/kafka-$survivor.log" \
  "라이브 뷰: ZooKeeper 패널에서 /controller 가 바뀌고 에포크가 올라갑니다. 타임라인이 어느 브로커가 선출되었는지 알려줍니다. 브로커 로그: grep -i controller data/logs/kafka-$survivor.log"
wait_until 90 test_state "$survivor" "s['controller']['id'] not in ($old, -1)" || true
wait_until 30 leader_moved_from "$T" 0 "$old" || true
show zk get /controller
show zk get /controller_epoch
new="$(controller_in_zk)"
epoch1="$(epoch_in_zk)"
show zk get "/brokers/topics/$T/partitions/0/state"
pstate="$(zk get "/brokers/topics/$T/partitions/0/state" | tail -n1)"
pause

step "The old controller comes back as an ordinary broker" "예전 컨트롤러는 평범한 브로커로 돌아옵니다"
say "Restarted, broker $old finds /controller taken and stays a plain broker: there is no preferred controller." \
  "다시 시작한 ${old}번 브로커는 /controller 가 이미 있으므로 평범한 브로커로 남습니다. 선호 컨트롤러는 없습니다."
broker_ensure_running "$old"
wait_isr_full "$T" __consumer_offsets
after="$(controller_in_zk)"
show zk get /controller
pause

check "a new controller took over (broker $old -> ${new:-none})" "새 컨트롤러가 넘겨받았습니다 (브로커 $old -> ${new:-없음})" \
  test -n "$new" -a "$new" != "$old"
check "/controller_epoch went up by one ($epoch0 -> $epoch1)" "/controller_epoch 가 1 올랐습니다 ($epoch0 -> $epoch1)" test "$epoch1" = $((epoch0 + 1))
check "the new controller elected a leader for $T-0 and stamped its epoch ($pstate)" \
  "새 컨트롤러가 $T-0 의 리더를 뽑고 자신의 에포크를 찍었습니다 ($pstate)" \
  grep -q "\"controller_epoch\":$epoch1,\"leader\":[^$old]" <<<"$pstate"
check "the restarted broker $old did not take the controller back (controller: $after)" \
  "다시 시작한 ${old}번 브로커는 컨트롤러를 되찾지 않았습니다 (컨트롤러: $after)" test "$after" = "$new"
lab_finish
