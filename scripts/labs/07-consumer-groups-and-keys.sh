#!/usr/bin/env bash
# Lab 07: consumer groups, several groups, ordering per key, key cardinality.  Each group
# reads the whole topic on its own (its own offsets); order is kept within a partition, so
# records with the same key are read in the order they were written; and a key lives in one
# partition, so a few keys use only a few partitions however many consumers there are.
set -euo pipefail
# shellcheck source=scripts/labs/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LAB_TITLE_EN="Consumer groups, several groups, ordering per key, key cardinality"
LAB_TITLE_KO="컨슈머 그룹, 여러 그룹, 키별 순서, 키의 카디널리티"
lab_init "$@"
T=lab07-orders
TM=lab07-orders-many-keys
GA=lab07-audit
GB=lab07-shipping

fresh_topic "$T" --partitions 6 --replication-factor 2
fresh_group "$GA"
fresh_group "$GB"
step "Two tenants, ten ordered events each" "테넌트 둘, 순서 있는 이벤트 10개씩"
say "Keys tenant-a and tenant-b, values step-01 .. step-10, interleaved, into a topic with 6 partitions." \
  "키 tenant-a, tenant-b 에 값 step-01 .. step-10 을 번갈아 파티션 6개짜리 토픽에 보냅니다."
recs=""
for i in $(seq -w 1 10); do recs+="tenant-a:step-$i"$'\n'"tenant-b:step-$i"$'\n'; done
feed "$recs" produce --topic "$T" --property parse.key=true --property key.separator=: --request-required-acks all
pause

step "Two groups read the same records independently" "두 그룹이 같은 레코드를 따로 읽습니다"
say "Group '$GA' and group '$GB' each read the topic. A record is not 'taken' by one group: each group has its own committed offsets." \
  "그룹 '$GA' 와 '$GB' 가 각각 토픽을 읽습니다. 한 그룹이 레코드를 '가져가는' 것이 아닙니다. 그룹마다 커밋된 오프셋이 따로 있습니다."
a="$(consume --topic "$T" --group "$GA" --from-beginning --timeout-ms 3000 --property print.key=true --property print.partition=true 2>/dev/null)"
b="$(consume --topic "$T" --group "$GB" --from-beginning --timeout-ms 3000 --property print.key=true 2>/dev/null)"
printf '  $ %s\n' "$(lab_cmdline consume --topic "$T" --group "$GA" --from-beginning --property print.key=true --property print.partition=true)"
printf '%s\n' "$a" | sed 's/^/    /'
na="$(grep -c 'step-' <<<"$a" || true)"
nb="$(grep -c 'step-' <<<"$b" || true)"
show groups --describe --group "$GB"
pause

step "Order per key" "키별 순서"
say "Across partitions there is no order, but within one partition there is: each tenant's steps arrive 01, 02, ... 10." \
  "파티션 사이에는 순서가 없지만 한 파티션 안에서는 순서가 지켜집니다. 테넌트마다 단계가 01, 02, ... 10 순서로 도착합니다."
order_a="$(awk -F'\t' '$2 == "tenant-a" { print $3 }' <<<"$a" | paste -sd' ')"
order_b="$(awk -F'\t' '$2 == "tenant-b" { print $3 }' <<<"$a" | paste -sd' ')"
say "tenant-a: $order_a" "tenant-a: $order_a"
say "tenant-b: $order_b" "tenant-b: $order_b"
used="$({ grep -o '^Partition:[0-9]*' <<<"$a" || true; } | sort -u | wc -l)"
pause

step "Key cardinality" "키의 카디널리티"
say "Two keys can fill at most 2 of the 6 partitions ($used used here): in a group of 6 consumers, 4 would sit idle, and one busy tenant makes a hot partition. With many distinct keys (60 users) the records spread over all partitions." \
  "키가 둘이면 파티션 6개 중 최대 2개만 씁니다 (여기서는 ${used}개). 컨슈머 6개 그룹이면 4개는 놀고, 바쁜 테넌트 하나가 핫 파티션이 됩니다. 서로 다른 키가 많으면 (사용자 60명) 레코드가 모든 파티션에 퍼집니다."
fresh_topic "$TM" --partitions 6 --replication-factor 2
recs="$(for i in $(seq 0 59); do printf 'user-%d:login\n' "$i"; done)"
feed "$recs"$'\n' produce --topic "$TM" --property parse.key=true --property key.separator=: --request-required-acks all
many="$(consume --topic "$TM" --from-beginning --timeout-ms 3000 --property print.partition=true 2>/dev/null |
  { grep -o '^Partition:[0-9]*' || true; } | sort | uniq -c | awk '{ sub(/^Partition:/, "", $2); printf "%s=%s ", $2, $1 }')"
say "records per partition (partition=count): $many" "파티션별 레코드 수 (파티션=개수): $many"
used_many="$(wc -w <<<"$many")"
look "The live view: $T has 2 growing bars and 4 empty ones; $TM has 6 growing bars." \
  "라이브 뷰: $T 는 막대 2개만 자라고 4개는 비어 있습니다. $TM 는 막대 6개가 모두 자랍니다."
pause

check "group $GA read all 20 records (got: $na) and group $GB too (got: $nb)" \
  "그룹 $GA 가 20개 모두 (결과: $na), 그룹 $GB 도 모두 (결과: $nb) 읽었습니다" test "$na/$nb" = 20/20
want="$(seq -f 'step-%02g' 1 10 | paste -sd' ')"
check "tenant-a's steps came in order (got: $order_a)" "tenant-a 의 단계가 순서대로 왔습니다 (결과: $order_a)" test "$order_a" = "$want"
check "tenant-b's steps came in order (got: $order_b)" "tenant-b 의 단계가 순서대로 왔습니다 (결과: $order_b)" test "$order_b" = "$want"
check "2 keys used at most 2 of 6 partitions (got: $used)" "키 2개는 파티션 6개 중 최대 2개만 썼습니다 (결과: $used)" test "$used" -le 2
check "60 keys used all 6 partitions (got: $used_many)" "키 60개는 파티션 6개를 모두 썼습니다 (결과: $used_many)" test "$used_many" = 6
lab_finish
