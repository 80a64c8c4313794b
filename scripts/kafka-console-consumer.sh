#!/usr/bin/env bash
# Print a topic's records on stdout, like Kafka's bin/kafka-console-consumer.sh.
#
#   scripts/kafka-console-consumer.sh --bootstrap-server 127.0.0.1:9092 --topic t1 --from-beginning
#   scripts/kafka-console-consumer.sh --bootstrap-server 127.0.0.1:9092 --topic t1 --group g1 --property print.key=true --max-messages 100 --timeout-ms 20000
#   scripts/kafka-console-consumer.sh --bootstrap-server 127.0.0.1:9092 --topic t1 --partition 0 --offset earliest
#
# Runs target/release/zkafka (built with `cargo build --release` if missing) as
# `zkafka console-consumer "$@"`; the output, messages and exit code are those of the tool.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Build messages go to stderr: stdout carries only the records.
ensure_zkafka_binary missing >&2
exec "$ZKAFKA_BIN" console-consumer "$@"
