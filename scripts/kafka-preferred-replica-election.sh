#!/usr/bin/env bash
# Deprecated preferred replica election, like Kafka's bin/kafka-preferred-replica-election.sh.
#
#   scripts/kafka-preferred-replica-election.sh --zookeeper 127.0.0.1:2181
#
# Runs target/release/zkafka (built with `cargo build --release` if missing) as
# `zkafka preferred-replica-election "$@"`; the output, messages and exit code are those of the tool.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Build messages go to stderr: stdout carries only the tool's output.
ensure_zkafka_binary missing >&2
exec "$ZKAFKA_BIN" preferred-replica-election "$@"
