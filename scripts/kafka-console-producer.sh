#!/usr/bin/env bash
# Produce stdin lines as records, like Kafka's bin/kafka-console-producer.sh.
#
#   scripts/kafka-console-producer.sh --bootstrap-server 127.0.0.1:9092 --topic t1
#   scripts/kafka-console-producer.sh --broker-list 127.0.0.1:9092 --topic t1 --property parse.key=true --property key.separator=: --request-required-acks all
#
# Runs target/release/zkafka (built with `cargo build --release` if missing) as
# `zkafka console-producer "$@"`; the output, messages and exit code are those of the tool.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Build messages go to stderr: stdout carries only the tool's output (its `>` prompts).
ensure_zkafka_binary missing >&2
exec "$ZKAFKA_BIN" console-producer "$@"
