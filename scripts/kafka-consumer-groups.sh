#!/usr/bin/env bash
# List, describe, reset the offsets of, or delete consumer groups, like Kafka's bin/kafka-consumer-groups.sh.
#
#   scripts/kafka-consumer-groups.sh --bootstrap-server 127.0.0.1:9092 --list
#   scripts/kafka-consumer-groups.sh --bootstrap-server 127.0.0.1:9092 --describe --group g1 [--members [--verbose] | --state]
#   scripts/kafka-consumer-groups.sh --bootstrap-server 127.0.0.1:9092 --reset-offsets --group g1 --topic t1 --to-earliest --execute
#   scripts/kafka-consumer-groups.sh --bootstrap-server 127.0.0.1:9092 --delete --group g1
#
# Runs target/release/zkafka (built with `cargo build --release` if missing) as
# `zkafka consumer-groups "$@"`; the output, messages and exit code are those of the tool.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Build messages go to stderr: stdout carries only the tool's output.
ensure_zkafka_binary missing >&2
exec "$ZKAFKA_BIN" consumer-groups "$@"
