#!/usr/bin/env bash
# Kafka's bin/kafka-producer-perf-test.sh, on librdkafka:
#
#   scripts/kafka-producer-perf-test.sh --topic t1 --num-records 1000000 --record-size 100 --throughput -1 \
#       --producer-props acks=1 bootstrap.servers=127.0.0.1:9092
#
# Runs `zkafka perf producer "$@"` from target/release/zkafka, built with the optional `perf`
# feature first when it lacks it (ensure_perf_binary in lib.sh).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_perf_binary
exec "$PERF_BIN" perf producer "$@"
