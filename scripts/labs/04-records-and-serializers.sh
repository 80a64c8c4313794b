#!/usr/bin/env bash
# Lab 04: the record and serializers.  A record is a key, a value, headers and a timestamp;
# the broker stores them as bytes.  Turning objects into bytes (serializing) is the client's
# job, so producer and consumer must agree on the format.
set -euo pipefail
# shellcheck source=scripts/labs/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LAB_TITLE_EN="The record: key, value, headers, timestamp; serializers"
LAB_TITLE_KO="레코드: 키, 값, 헤더, 타임스탬프 그리고 직렬화"
lab_init "$@"
T=lab04-records
work="$(mktemp -d "${TMPDIR:-/tmp}/zkafka-lab04.XXXXXX")"
on_exit rm -rf "$work"

fresh_topic "$T" --partitions 1 --replication-factor 3
step "A record with a key, headers and a value" "키, 헤더, 값이 있는 레코드"
say "kcat sends one record: key 'user-7', headers source=web and trace=abc, value a JSON text. -K: splits key from value." \
  "kcat 으로 레코드 하나를 보냅니다. 키 'user-7', 헤더 source=web 와 trace=abc, 값은 JSON 텍스트입니다. -K: 가 키와 값을 나눕니다."
feed $'user-7:{"item":"book","qty":1}\n' kcat -P -b "$BOOTSTRAP" -t "$T" -p 0 -K: -H source=web -H trace=abc
pause

step "Serializers: the broker only sees bytes" "직렬화: 브로커는 바이트만 봅니다"
say "The number 42 serialized two ways: as text it is the 2 bytes '4' '2' (StringSerializer), as a 32-bit integer it is the 4 bytes 00 00 00 2a (IntegerSerializer). The broker stores both without looking inside." \
  "숫자 42 를 두 가지로 직렬화합니다. 텍스트로는 '4' '2' 2바이트(StringSerializer), 32비트 정수로는 00 00 00 2a 4바이트(IntegerSerializer) 입니다. 브로커는 내용을 보지 않고 그대로 저장합니다."
cd "$work"
printf '42' >as-string
printf '\x00\x00\x00\x2a' >as-int32
show od -An -tx1 as-string
show od -An -tx1 as-int32
say "kcat sends each file given on its command line as one record." "kcat 은 명령줄에 준 파일 하나를 레코드 하나로 보냅니다."
show kcat -P -b "$BOOTSTRAP" -t "$T" -p 0 as-string as-int32
cd "$ZKAFKA_HOME"
pause

step "Read the records back" "레코드 다시 읽기"
say "The console consumer prints each record's timestamp, key, headers and value. The int32 value is not printable text: a consumer must use the matching deserializer." \
  "콘솔 컨슈머가 레코드마다 타임스탬프, 키, 헤더, 값을 보여줍니다. int32 값은 글자가 아닙니다. 컨슈머는 같은 형식의 역직렬화기를 써야 합니다."
out="$(consume --topic "$T" --from-beginning --timeout-ms 3000 --property print.key=true \
  --property print.headers=true --property print.timestamp=true 2>/dev/null | cat -v)"
printf '  $ %s\n' "$(lab_cmdline consume --topic "$T" --from-beginning --property print.key=true --property print.headers=true --property print.timestamp=true)"
printf '%s\n' "$out" | sed 's/^/    /'
leader="$(leader_of "$T" 0)"
seg="$ZKAFKA_DATA_DIR/kafka-logs-$leader/$T-0/00000000000000000000.log"
say "On disk (broker $leader), dump-log shows each record's key and value sizes and its headers." \
  "디스크(브로커 $leader) 에서 dump-log 가 레코드마다 키와 값의 크기, 헤더를 보여줍니다."
dump=""
if [[ -f "$seg" ]]; then
  dump="$("$ZKAFKA_BIN" dump-log --files "$seg" --print-data-log 2>&1 | cat -v)"
  printf '  $ %s\n' "$(lab_cmdline "$ZKAFKA_BIN" dump-log --files "$seg" --print-data-log)"
  printf '%s\n' "$dump" | sed 's/^/    /'
fi
pause

first="$(head -n1 <<<"$out")"
check "the first record came back with its key and headers (got: $first)" "첫 레코드가 키와 헤더와 함께 돌아왔습니다 (결과: $first)" \
  grep -q 'source:web,trace:abc.*user-7.*{"item":"book","qty":1}' <<<"$first"
check "the first record has a CreateTime timestamp" "첫 레코드에 CreateTime 타임스탬프가 있습니다" grep -q '^CreateTime:[0-9]\{13\}' <<<"$first"
sizes="$({ grep -o 'valuesize: [0-9]*' <<<"$dump" || true; } | awk '{print $2}' | paste -sd' ')"
check "the values on disk are 23, 2 and 4 bytes long (got: $sizes)" "디스크의 값 크기가 23, 2, 4 바이트입니다 (결과: $sizes)" test "$sizes" = "23 2 4"
lab_finish
