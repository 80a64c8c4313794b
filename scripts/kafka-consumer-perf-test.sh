#!/usr/bin/env bash
# Kafka's bin/kafka-consumer-perf-test.sh, on librdkafka:
#
#   scripts/kafka-consumer-perf-test.sh --broker-list 127.0.0.1:9092 --topic t1 --messages 1000000
#
# Runs `zkafka perf consumer "$@"` from target/release/zkafka, built with the optional `perf`
# feature first when it lacks it (ensure_perf_binary in lib.sh).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_perf_binary
exec "$PERF_BIN" perf consumer "$@"
