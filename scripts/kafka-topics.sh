#!/usr/bin/env bash
# Create, delete, describe, or change a topic, like Kafka's bin/kafka-topics.sh (through
# ZooKeeper, or through the brokers with --bootstrap-server and an optional --command-config).
#
#   scripts/kafka-topics.sh --zookeeper 127.0.0.1:2181 --create --topic t1 --partitions 3 --replication-factor 3
#   scripts/kafka-topics.sh --zookeeper 127.0.0.1:2181 --list
#   scripts/kafka-topics.sh --bootstrap-server 127.0.0.1:9093 --command-config client.properties --describe --topic t1
#
# Runs target/release/zkafka (built with `cargo build --release` if missing) as
# `zkafka topics "$@"`; the output, messages and exit code are those of the tool.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Build messages go to stderr: stdout carries only the tool's output.
ensure_zkafka_binary missing >&2
exec "$ZKAFKA_BIN" topics "$@"
