#!/usr/bin/env bash
# Lab 10: replication, partition leaders, hot spots and rack awareness.  Each partition has
# replication-factor copies on different brokers; one of them, the leader, serves all produce
# and fetch requests, so leaders are spread over the brokers.  A broker leading too much is
# a hot spot.  With broker.rack set, topic creation puts a partition's copies on different
# racks, so losing a whole rack loses no partition.
set -euo pipefail
# shellcheck source=scripts/labs/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LAB_TITLE_EN="Replication, partition leaders, hot spots and rack awareness"
LAB_TITLE_KO="복제, 파티션 리더, 핫스팟, 랙 인식"
lab_init "$@"
need_local_brokers
TB=lab10-balanced
TH=lab10-hot
TR=lab10-racks

# leader_counts TOPIC: "broker=partitions led" for brokers 1-3.
leader_counts() {
  local id out=""
  for id in 1 2 3; do
    out+="$id=$(topics --describe --topic "$1" | grep -c "Leader: $id"$'\t' || true) "
  done
  printf '%s\n' "${out% }"
}

# set_racks "ID=RACK ...": a rolling restart, one broker at a time (each back in the ISR of
# every partition before the next stops), with broker.rack set (or unset for an empty RACK).
set_racks() {
  local kv id rack
  for kv in $1; do
    id="${kv%%=*}"
    rack="${kv#*=}"
    if [[ -n "$rack" ]]; then broker_restart "$id" "broker.rack=$rack"; else broker_restart "$id"; fi
    wait_isr_full __consumer_offsets
  done
}

# rack_of ID: the rack in /brokers/ids/ID, or "none".
rack_of() { zk get "/brokers/ids/$1" | grep -o '"rack":"[^"]*"' | cut -d'"' -f4 | grep . || echo none; }

fresh_topic "$TB" --partitions 6 --replication-factor 2
step "Replicas and leaders are spread over the brokers" "복제본과 리더는 브로커들에 고르게 퍼집니다"
say "6 partitions, 2 copies each. The first broker of each replica list is the preferred leader; the assignment rotates it so each broker leads 2 partitions." \
  "파티션 6개, 복제본 2개씩입니다. 복제본 목록의 첫 브로커가 선호 리더이고, 배치가 이것을 돌려서 브로커마다 파티션 2개씩 리더가 됩니다."
show topics --describe --topic "$TB"
balanced="$(leader_counts "$TB")"
say "Partitions led per broker: $balanced" "브로커별 리더 파티션 수: $balanced"
pause

step "A hot spot" "핫스팟"
say "A manual assignment (--replica-assignment) that puts broker 1 first everywhere: broker 1 leads every partition and serves all of the topic's traffic, while 2 and 3 only copy." \
  "수동 배치 (--replica-assignment) 에서 모든 파티션의 첫 브로커를 1로 두면 1번 브로커가 모든 파티션의 리더가 되어 토픽의 트래픽을 혼자 받고, 2와 3은 복사만 합니다."
fresh_topic "$TH" --replica-assignment 1:2,1:3,1:2
show topics --describe --topic "$TH"
hot="$(leader_counts "$TH")"
look "The live view: broker 1 is leader (bold) for every partition of $TH. Keys can make hot spots too (lab 07): one busy key is one busy partition." \
  "라이브 뷰: $TH 의 모든 파티션에서 1번 브로커가 리더입니다. 키도 핫스팟을 만듭니다 (실습 07): 바쁜 키 하나는 바쁜 파티션 하나입니다."
pause

step "Racks: broker.rack" "랙: broker.rack"
say "We restart the brokers one by one with broker.rack: broker 1 in rack-a, brokers 2 and 3 in rack-b. Each registers its rack in /brokers/ids/<id>." \
  "브로커를 하나씩 broker.rack 을 주고 다시 시작합니다. 1번 브로커는 rack-a, 2번 브로커와 3 은 rack-b 입니다. 각자 /brokers/ids/<id> 에 랙을 등록합니다."
on_exit set_racks "1= 2= 3="
set_racks "1=rack-a 2=rack-b 3=rack-b"
show zk get /brokers/ids/1
racks="1=$(rack_of 1) 2=$(rack_of 2) 3=$(rack_of 3)"
say "A rack-aware assignment of 6 partitions with 2 copies: every partition gets one copy in each rack, so every replica list holds broker 1, the only broker of rack-a. Losing rack-b keeps a copy of everything." \
  "랙을 고려해 파티션 6개를 복제본 2개로 배치하면 파티션마다 랙마다 하나씩 복제본이 갑니다. 그래서 모든 복제본 목록에 rack-a 의 유일한 1번 브로커가 들어갑니다. rack-b 가 통째로 죽어도 모든 데이터의 복사본이 남습니다."
fresh_topic "$TR" --partitions 6 --replication-factor 2
show topics --describe --topic "$TR"
with1="$(topics --describe --topic "$TR" | grep -cE 'Replicas: (1,[23]|[23],1)'$'\t' || true)"
pause
step "Back to no racks" "랙 설정 되돌리기"
say "The brokers are restarted once more without broker.rack." "브로커를 broker.rack 없이 한 번 더 다시 시작합니다."
lab_undo
racks_after="1=$(rack_of 1) 2=$(rack_of 2) 3=$(rack_of 3)"

check "each broker leads 2 of the 6 partitions of $TB (got: $balanced)" "$TB 의 파티션 6개 중 브로커마다 2개씩 리더입니다 (결과: $balanced)" \
  test "$balanced" = "1=2 2=2 3=2"
check "broker 1 leads all 3 partitions of $TH (got: $hot)" "$TH 의 파티션 3개 모두 1번 브로커가 리더입니다 (결과: $hot)" test "$hot" = "1=3 2=0 3=0"
check "the brokers registered their racks (got: $racks)" "브로커들이 랙을 등록했습니다 (결과: $racks)" test "$racks" = "1=rack-a 2=rack-b 3=rack-b"
check "every partition of $TR has a copy in both racks ($with1 of 6 include broker 1)" \
  "$TR 의 모든 파티션이 두 랙에 복제본이 있습니다 (6개 중 ${with1}개가 브로커 1 포함)" test "$with1" = 6
check "the racks are gone again after the last restart (got: $racks_after)" "마지막 재시작 뒤 랙 설정이 없어졌습니다 (결과: $racks_after)" \
  test "$racks_after" = "1=none 2=none 3=none"
lab_finish
