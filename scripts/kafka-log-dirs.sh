#!/usr/bin/env bash
# Query log directory usage on the specified brokers, like Kafka's bin/kafka-log-dirs.sh.
#
#   scripts/kafka-log-dirs.sh --bootstrap-server 127.0.0.1:9092 --describe [--broker-list 1,2] [--topic-list t1,t2]
#
# Runs target/release/zkafka (built with `cargo build --release` if missing) as
# `zkafka log-dirs "$@"`; the output, messages and exit code are those of the tool.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Build messages go to stderr: stdout carries only the tool's output.
ensure_zkafka_binary missing >&2
exec "$ZKAFKA_BIN" log-dirs "$@"
