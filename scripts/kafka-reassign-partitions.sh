#!/usr/bin/env bash
# Move partitions between brokers, like Kafka's bin/kafka-reassign-partitions.sh.
#
#   scripts/kafka-reassign-partitions.sh --bootstrap-server 127.0.0.1:9092 --execute --reassignment-json-file plan.json
#
# Runs target/release/zkafka (built with `cargo build --release` if missing) as
# `zkafka reassign-partitions "$@"`; the output, messages and exit code are those of the tool.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Build messages go to stderr: stdout carries only the tool's output.
ensure_zkafka_binary missing >&2
exec "$ZKAFKA_BIN" reassign-partitions "$@"
