#!/usr/bin/env bash
# Lab 05: producing.  The partitioner sends every record with the same key to the same
# partition (murmur2(key) mod partitions); the producer groups records into batches per
# partition (fewer, bigger requests); acks says when the leader may answer: 0 = no answer,
# 1 = once it wrote the record, all = once every in-sync replica has it.
set -euo pipefail
# shellcheck source=scripts/labs/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LAB_TITLE_EN="Producing: the partitioner, batching, acks"
LAB_TITLE_KO="프로듀싱: 파티셔너, 배치, acks"
lab_init "$@"
T=lab05-clicks
T1=lab05-single-copy

fresh_topic "$T" --partitions 3 --replication-factor 3
step "Same key, same partition" "같은 키는 같은 파티션으로"
say "Twelve clicks of four users (key = user). The default partitioner hashes the key: all of one user's records land in one partition." \
  "사용자 네 명의 클릭 12개를 보냅니다 (키 = 사용자). 기본 파티셔너가 키를 해시하므로 한 사용자의 레코드는 모두 한 파티션에 들어갑니다."
clicks=""
for i in 1 2 3; do
  for u in alice bob carol dave; do clicks+="$u:click-$i"$'\n'; done
done
feed "$clicks" produce --topic "$T" --property parse.key=true --property key.separator=: --request-required-acks all
out="$(consume --topic "$T" --from-beginning --timeout-ms 3000 --property print.key=true --property print.partition=true 2>/dev/null)"
printf '  $ %s\n' "$(lab_cmdline consume --topic "$T" --from-beginning --property print.key=true --property print.partition=true)"
printf '%s\n' "$out" | sed 's/^/    /'
# "Partition:N<TAB>key<TAB>value": how many partitions each key was seen in.
spread="$(awk -F'\t' 'NF >= 3 { seen[$2 " " $1] = 1 } END { for (k in seen) { split(k, a, " "); n[a[1]]++ } for (u in n) printf "%s=%d ", u, n[u] }' <<<"$out")"
count="$(grep -c 'click-' <<<"$out" || true)"
look "The live view: the LEO bars of $T grow unevenly; a partition gets the records of the keys that hash to it." \
  "라이브 뷰: $T 의 LEO 막대가 고르지 않게 자랍니다. 파티션마다 해시가 그쪽으로 가는 키의 레코드만 받습니다."
pause

step "Batching" "배치"
say "The producer collects records for a partition into one batch, sent when it is full or linger.ms has passed. Six records at once make one batch; six records with --sync (one at a time) make six." \
  "프로듀서는 파티션별로 레코드를 모아 배치 하나로 보냅니다. 배치가 차거나 linger.ms 가 지나면 보냅니다. 레코드 6개를 한 번에 보내면 배치 1개, --sync 로 하나씩 보내면 배치 6개입니다."
fresh_topic "$T1" --partitions 1 --replication-factor 1 --config min.insync.replicas=2
feed $'1\n2\n3\n4\n5\n6\n' produce --topic "$T1"
feed $'7\n8\n9\n10\n11\n12\n' produce --topic "$T1" --sync
leader="$(leader_of "$T1" 0)"
seg="$ZKAFKA_DATA_DIR/kafka-logs-$leader/$T1-0/00000000000000000000.log"
dump=""
if [[ -f "$seg" ]]; then
  dump="$("$ZKAFKA_BIN" dump-log --files "$seg" 2>&1 | grep '^baseOffset' | cut -d' ' -f1-6 || true)"
  printf '  $ %s\n' "$(lab_cmdline "$ZKAFKA_BIN" dump-log --files "$seg")"
  printf '%s\n' "$dump" | sed 's/^/    /'
fi
batches="$(awk '{print $6}' <<<"$dump" | paste -sd' ')"
pause

step "acks and min.insync.replicas" "acks 와 min.insync.replicas"
say "'$T1' has a single copy (replication factor 1) but min.insync.replicas=2. acks=1 only needs the leader, so it works; acks=all needs 2 in-sync replicas, so the leader refuses with NOT_ENOUGH_REPLICAS instead of pretending the record is safe." \
  "'$T1' 은 복제본이 하나(복제 계수 1) 인데 min.insync.replicas=2 입니다. acks=1 은 리더만 있으면 되므로 성공합니다. acks=all 은 동기화된 복제본 2개가 필요하므로 리더가 NOT_ENOUGH_REPLICAS 로 거절합니다. 안전하지 않은 기록을 안전하다고 하지 않습니다."
ack1=0
feed $'with acks=1\n' produce --topic "$T1" --request-required-acks 1 || ack1=$?
printf '  $ printf %q | %s\n' $'with acks=all\n' "$(lab_cmdline produce --topic "$T1" --request-required-acks all)"
ackall="$(printf 'with acks=all\n' | produce --topic "$T1" --request-required-acks all 2>&1 >/dev/null || true)"
printf '%s\n' "$ackall" | sed 's/^/    /'
say "acks=0 would not even wait for an answer: the producer never learns about such an error." \
  "acks=0 이면 응답조차 기다리지 않습니다. 프로듀서는 이런 오류를 알 수 없습니다."
pause

check "all 12 clicks were stored (got: $count)" "클릭 12개가 모두 저장되었습니다 (결과: $count)" test "$count" = 12
check "each user's records are in exactly one partition (partitions per key: $spread)" \
  "사용자마다 레코드가 정확히 한 파티션에 있습니다 (키별 파티션 수: $spread)" \
  test "$(tr ' ' '\n' <<<"$spread" | grep -c .)/$(tr ' ' '\n' <<<"$spread" | grep -c '=1$')" = 4/4
check "6 records sent together made 1 batch, 6 sent with --sync made 6 (record counts per batch: $batches)" \
  "함께 보낸 6개는 배치 1개, --sync 로 보낸 6개는 배치 6개가 되었습니다 (배치별 레코드 수: $batches)" test "$batches" = "6 1 1 1 1 1 1"
check "acks=1 succeeded with one in-sync replica (exit status $ack1)" "동기화된 복제본 하나로 acks=1 이 성공했습니다 (종료 코드 $ack1)" test "$ack1" = 0
check "acks=all was refused with NOT_ENOUGH_REPLICAS" "acks=all 은 NOT_ENOUGH_REPLICAS 로 거절되었습니다" grep -q NOT_ENOUGH_REPLICAS <<<"$ackall"
lab_finish
