#!/usr/bin/env bash
# Run preferred or unclean leader elections, like Kafka's bin/kafka-leader-election.sh.
#
#   scripts/kafka-leader-election.sh --bootstrap-server 127.0.0.1:9092 --election-type preferred --all-topic-partitions
#
# Runs target/release/zkafka (built with `cargo build --release` if missing) as
# `zkafka leader-election "$@"`; the output, messages and exit code are those of the tool.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Build messages go to stderr: stdout carries only the tool's output.
ensure_zkafka_binary missing >&2
exec "$ZKAFKA_BIN" leader-election "$@"
