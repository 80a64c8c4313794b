#!/usr/bin/env bash
# Lab 02: topics, partitions and segments.  A topic is split into partitions (independent logs
# spread over the brokers); each partition's log is a series of segment files on disk, a new one
# rolled when the active segment is full (segment.bytes).
set -euo pipefail
# shellcheck source=scripts/labs/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LAB_TITLE_EN="Topics, partitions and segments"
LAB_TITLE_KO="토픽, 파티션, 세그먼트"
lab_init "$@"
T=lab02-orders

step "A topic with three partitions" "파티션 세 개짜리 토픽"
say "We create '$T' with 3 partitions and a tiny segment.bytes=1024 (the default is 1 GiB) so that segments roll while you watch." \
  "파티션 3개, segment.bytes=1024 (기본값은 1 GiB) 인 '$T' 토픽을 만듭니다. 세그먼트가 바뀌는 것을 바로 볼 수 있습니다."
fresh_topic "$T" --partitions 3 --replication-factor 2 --config segment.bytes=1024
show topics --describe --topic "$T"
say "Each partition has its own leader and replicas. In ZooKeeper the assignment is one znode:" \
  "파티션마다 리더와 복제본이 따로 있습니다. ZooKeeper 에는 배치 정보가 znode 하나로 있습니다:"
show zk get "/brokers/topics/$T"
pause

step "Fill partition 0 past several segments" "파티션 0 에 세그먼트 여러 개 분량 쓰기"
say "kcat writes 40 records to partition 0 (-p 0), at most 4 per batch: about three batches fit in one 1 KiB segment." \
  "kcat 으로 파티션 0 (-p 0) 에 레코드 40개를 배치당 최대 4개씩 씁니다. 1 KiB 세그먼트에 배치가 세 개쯤 들어갑니다."
lines="$(for i in $(seq 1 40); do printf 'event %02d of partition zero, padded to about fifty bytes\n' "$i"; done)"
feed "$lines"$'\n' kcat -P -b "$BOOTSTRAP" -t "$T" -p 0 -X batch.num.messages=4 -X linger.ms=0
leader="$(leader_of "$T" 0)"
dir="$ZKAFKA_DATA_DIR/kafka-logs-$leader/$T-0"
say "Partition 0 lives in its leader's log directory (broker $leader): one .log, .index and .timeindex per segment, named after the segment's first offset." \
  "파티션 0 은 리더(브로커 $leader) 의 로그 디렉터리에 있습니다. 세그먼트마다 .log, .index, .timeindex 파일이 있고 이름은 세그먼트의 첫 오프셋입니다."
[[ -d "$dir" ]] && show ls "$dir"
look "The live view's segment list of $T-0, or /state: curl http://$(http_of "$leader")/state  (\"segments\": base offsets)." \
  "라이브 뷰의 $T-0 세그먼트 목록, 또는 /state: curl http://$(http_of "$leader")/state  (\"segments\": 시작 오프셋들)."
pause

segs="$(state "$leader" "part('$T', 0)['segments']")"
total=0
for p in 0 1 2; do
  n="$(state "$(leader_of "$T" "$p")" "part('$T', $p)['log_end_offset']")"
  total=$((total + n))
done
nparts="$(topics --describe --topic "$T" | grep -c 'Partition:')"
p0="$(state "$leader" "part('$T', 0)['log_end_offset']")"
check "the topic has 3 partitions (got: $nparts)" "토픽 파티션이 3개입니다 (결과: $nparts)" test "$nparts" = 3
check "the 40 records are all in partition 0 (sum of the log end offsets: $total)" \
  "레코드 40개가 모두 파티션 0 에 있습니다 (로그 끝 오프셋 합: $total)" test "$total/$p0" = 40/40
check "partition 0 has rolled into more than one segment (base offsets: $segs)" \
  "파티션 0 에 세그먼트가 두 개 이상 있습니다 (시작 오프셋: $segs)" test "$(tr ',' '\n' <<<"$segs" | grep -c .)" -gt 1
lab_finish
