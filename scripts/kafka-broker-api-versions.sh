#!/usr/bin/env bash
# Print the API versions every broker supports, like Kafka's bin/kafka-broker-api-versions.sh.
#
#   scripts/kafka-broker-api-versions.sh --bootstrap-server 127.0.0.1:9092
#
# Runs target/release/zkafka (built with `cargo build --release` if missing) as
# `zkafka broker-api-versions "$@"`; the output, messages and exit code are those of the tool.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Build messages go to stderr: stdout carries only the tool's output.
ensure_zkafka_binary missing >&2
exec "$ZKAFKA_BIN" broker-api-versions "$@"
