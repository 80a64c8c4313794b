#!/usr/bin/env bash
# Add, remove and list ACLs, like Kafka's bin/kafka-acls.sh.
#
#   scripts/kafka-acls.sh --authorizer-properties zookeeper.connect=127.0.0.1:2181 --add --allow-principal User:alice --operation Write --topic orders
#   scripts/kafka-acls.sh --bootstrap-server 127.0.0.1:9092 --add --allow-principal User:bob --consumer --topic orders --group app
#   scripts/kafka-acls.sh --bootstrap-server 127.0.0.1:9092 --list --topic orders --resource-pattern-type match
#   scripts/kafka-acls.sh --authorizer-properties zookeeper.connect=127.0.0.1:2181 --remove --force --topic orders
#   scripts/kafka-acls.sh --bootstrap-server 127.0.0.1:9093 --command-config admin.properties --list
#     (admin.properties: security.protocol=SASL_PLAINTEXT, sasl.mechanism=SCRAM-SHA-512 and a
#     sasl.jaas.config with username and password; PLAIN works the same way)
#
# Runs target/release/zkafka (built with `cargo build --release` if missing) as
# `zkafka acls "$@"`; the output, messages and exit code are those of the tool.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Build messages go to stderr: stdout carries only the tool's output.
ensure_zkafka_binary missing >&2
exec "$ZKAFKA_BIN" acls "$@"
