#!/usr/bin/env bash
# Lab 03: brokers and ZooKeeper.  Each broker registers itself with an ephemeral znode
# /brokers/ids/<id> (it lives as long as the broker's ZooKeeper session); a client needs only
# one "bootstrap server" to learn about every broker from the metadata it returns.
set -euo pipefail
# shellcheck source=scripts/labs/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LAB_TITLE_EN="Brokers, ZooKeeper registration and bootstrap servers"
LAB_TITLE_KO="브로커, ZooKeeper 등록, 부트스트랩 서버"
lab_init "$@"

step "Who is in the cluster: /brokers/ids" "클러스터 구성원: /brokers/ids"
say "Every live broker has a child under /brokers/ids. Its data says where clients can reach it." \
  "살아 있는 브로커마다 /brokers/ids 아래에 자식 노드가 있습니다. 데이터에는 클라이언트가 접속할 주소가 있습니다."
show zk ls /brokers/ids
show zk get /brokers/ids/1
ids="$(zk ls /brokers/ids | tail -n1)"
pause

step "Ephemeral znodes" "임시(ephemeral) znode"
say "The znode is ephemeral: 'ephemeralOwner' is the broker's ZooKeeper session. When the session ends, ZooKeeper deletes the znode and the controller learns that the broker is gone." \
  "이 znode 는 임시 노드입니다. 'ephemeralOwner' 가 브로커의 ZooKeeper 세션입니다. 세션이 끝나면 ZooKeeper 가 노드를 지우고, 컨트롤러는 브로커가 사라진 것을 압니다."
owner="$(zk stat /brokers/ids/1 | sed -n 's/^ephemeralOwner = //p')"
show zk stat /brokers/ids/1
pause

step "One bootstrap server is enough" "부트스트랩 서버 하나면 충분합니다"
say "We give kcat only broker 2's address. Its metadata answer lists all brokers and the controller." \
  "kcat 에 2번 브로커의 주소만 줍니다. 메타데이터 응답에 모든 브로커와 컨트롤러가 나옵니다."
b2="$(tr ',' '\n' <<<"$BOOTSTRAP" | sed -n 2p)"
meta="$(kcat -b "${b2:-${BOOTSTRAP%%,*}}" -L -m 5 2>&1 | sed -n '/brokers:/,/topics:/p')"
printf '  $ kcat -b %s -L\n' "${b2:-${BOOTSTRAP%%,*}}"
printf '%s\n' "$meta" | sed 's/^/    /'
nbrokers="$(grep -c '^ *broker [0-9]* at ' <<<"$meta" || true)"
pause

gone="skipped"
back="skipped"
if broker_pid 3 >/dev/null; then
  step "A broker leaves, its znode goes" "브로커가 떠나면 znode 도 사라집니다"
  say "We stop broker 3 (a clean shutdown) and list /brokers/ids again, then start it again." \
    "3번 브로커를 정상 종료하고 /brokers/ids 를 다시 봅니다. 그리고 다시 시작합니다."
  on_exit broker_ensure_running 3
  broker_stop 3
  show zk ls /brokers/ids
  gone="$(zk ls /brokers/ids | tail -n1)"
  broker_start 3
  show zk ls /brokers/ids
  back="$(zk ls /brokers/ids | tail -n1)"
  look "The live view's ZooKeeper panel: /brokers/ids/3 disappears and comes back; the timeline narrates both." \
    "라이브 뷰의 ZooKeeper 패널: /brokers/ids/3 이 사라졌다가 돌아옵니다. 타임라인이 두 사건을 설명합니다."
  pause
fi

check "/brokers/ids lists the three brokers (got: $ids)" "/brokers/ids 에 브로커 셋이 있습니다 (결과: $ids)" test "$ids" = "[1, 2, 3]"
check "/brokers/ids/1 is ephemeral (ephemeralOwner: $owner)" "/brokers/ids/1 은 임시 노드입니다 (ephemeralOwner: $owner)" \
  test -n "$owner" -a "$owner" != 0x0
check "one bootstrap address gave metadata of $nbrokers brokers" "부트스트랩 주소 하나로 브로커 ${nbrokers}개의 메타데이터를 받았습니다" test "$nbrokers" = 3
if [[ "$gone" != skipped ]]; then
  check "after broker 3 stopped: $gone; after its restart: $back" "브로커 3 종료 후: $gone, 재시작 후: $back" \
    test "$gone|$back" = "[1, 2]|[1, 2, 3]"
fi
lab_finish
