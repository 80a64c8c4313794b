#!/usr/bin/env bash
# Describe or alter topic, broker, client and user configs, like Kafka's bin/kafka-configs.sh.
#
#   scripts/kafka-configs.sh --bootstrap-server 127.0.0.1:9092 --entity-type topics --entity-name t1 --alter --add-config retention.ms=60000,cleanup.policy=[compact,delete]
#   scripts/kafka-configs.sh --bootstrap-server 127.0.0.1:9092 --entity-type brokers --entity-default --alter --add-config log.retention.ms=3600000
#   scripts/kafka-configs.sh --bootstrap-server 127.0.0.1:9092 --entity-type brokers --entity-name 1 --describe --all
#   scripts/kafka-configs.sh --zookeeper 127.0.0.1:2181 --entity-type users --entity-name alice --alter --add-config producer_byte_rate=1024
#
# Runs target/release/zkafka (built with `cargo build --release` if missing) as
# `zkafka configs "$@"`; the output, messages and exit code are those of the tool.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Build messages go to stderr: stdout carries only the tool's output.
ensure_zkafka_binary missing >&2
exec "$ZKAFKA_BIN" configs "$@"
