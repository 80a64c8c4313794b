#!/usr/bin/env bash
# Lab 01: events and the commit log.  An event is a fact ("order 1 placed"); Kafka keeps them
# in an append-only log where each gets the next offset, and reading does not remove them.
set -euo pipefail
# shellcheck source=scripts/labs/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LAB_TITLE_EN="Events and the commit log"
LAB_TITLE_KO="이벤트와 커밋 로그"
lab_init "$@"
T=lab01-events

step "An empty log" "빈 로그"
say "A topic with one partition is one append-only log. We create '$T' with 1 partition." \
  "파티션이 하나인 토픽은 추가만 되는 로그 하나입니다. 파티션 1개짜리 '$T' 토픽을 만듭니다."
fresh_topic "$T" --partitions 1 --replication-factor 3
show topics --describe --topic "$T"
pause

step "Append three events" "이벤트 세 개 추가"
say "Each event is appended at the end of the log and gets the next offset: 0, 1, 2." \
  "이벤트는 로그 끝에 붙고 다음 오프셋을 받습니다: 0, 1, 2."
feed $'order-1 placed\norder-1 paid\norder-1 shipped\n' produce --topic "$T" --request-required-acks all
show consume --topic "$T" --from-beginning --timeout-ms 3000 --property print.offset=true
look "In the live view, topic $T: the bar of partition 0 grows to 3. In the broker's /state (curl http://$(http_of 1)/state) log_end_offset is 3." \
  "라이브 뷰의 $T 토픽: 파티션 0 막대가 3 까지 자랍니다. 브로커 /state (curl http://$(http_of 1)/state) 의 log_end_offset 이 3 입니다."
pause

step "Reading does not remove events" "읽어도 이벤트는 지워지지 않습니다"
say "Unlike a queue, consumers only read. A second reader from the beginning sees the same three events; two more events are appended after them." \
  "큐와 달리 컨슈머는 읽기만 합니다. 처음부터 다시 읽어도 같은 세 이벤트가 보입니다. 새 이벤트 두 개는 그 뒤에 붙습니다."
printf 'order-2 placed\norder-2 cancelled\n' | produce --topic "$T" --request-required-acks all >/dev/null
out="$(consume --topic "$T" --from-beginning --timeout-ms 3000 --property print.offset=true 2>/dev/null)"
printf '%s\n' "$out" | sed 's/^/    /'
offsets="$(printf '%s\n' "$out" | sed -n 's/^Offset:\([0-9]*\).*/\1/p' | paste -sd' ')"
first="$(printf '%s\n' "$out" | head -n1)"
leader="$(leader_of "$T" 0)"
say "On disk the log is a segment file in the leader's log directory (broker $leader). dump-log prints its batches with their offsets." \
  "디스크에서 로그는 리더(브로커 $leader) 로그 디렉터리의 세그먼트 파일입니다. dump-log 가 배치와 오프셋을 보여줍니다."
seg="$ZKAFKA_DATA_DIR/kafka-logs-$leader/$T-0/00000000000000000000.log"
[[ -f "$seg" ]] && show "$ZKAFKA_BIN" dump-log --files "$seg" --print-data-log
pause

check "offsets are 0 1 2 3 4, in order (got: $offsets)" "오프셋이 0 1 2 3 4 순서입니다 (결과: $offsets)" test "$offsets" = "0 1 2 3 4"
check "the first event is still 'order-1 placed' after being read (got: ${first#*	})" \
  "읽은 뒤에도 첫 이벤트는 'order-1 placed' 입니다 (결과: ${first#*	})" grep -q 'order-1 placed$' <<<"$first"
leo="$(state "$leader" "part('$T', 0)['log_end_offset']")"
check "the leader's /state says log_end_offset 5 (got: $leo)" "리더의 /state 에서 log_end_offset 이 5 입니다 (결과: $leo)" test "$leo" = 5
lab_finish
