#!/usr/bin/env bash
# Delete records of the given partitions down to the specified offsets, like Kafka's bin/kafka-delete-records.sh.
#
#   scripts/kafka-delete-records.sh --bootstrap-server 127.0.0.1:9092 --offset-json-file offsets.json
#
# Runs target/release/zkafka (built with `cargo build --release` if missing) as
# `zkafka delete-records "$@"`; the output, messages and exit code are those of the tool.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Build messages go to stderr: stdout carries only the tool's output.
ensure_zkafka_binary missing >&2
exec "$ZKAFKA_BIN" delete-records "$@"
