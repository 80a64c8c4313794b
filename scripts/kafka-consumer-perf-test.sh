#!/usr/bin/env bash
# Kafka's bin/kafka-consumer-perf-test.sh, on librdkafka:
#
#   scripts/kafka-consumer-perf-test.sh --broker-list 127.0.0.1:9092 --topic t1 --messages 1000000
#
# Runs `zkafka perf consumer "$@"` from target/release/zkafka, which must be built with the
# optional `perf` feature (librdkafka is compiled from source, so the default build leaves it
# out): built here with `cargo build --release --features perf` when the binary lacks it.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bin="$ZKAFKA_HOME/target/release/zkafka"
if ! "$bin" perf --help >/dev/null 2>&1; then
  ensure_cargo
  info "building the perf tools: cargo build --release --features perf (in $ZKAFKA_HOME)" >&2
  (cd "$ZKAFKA_HOME" && CARGO_TARGET_DIR="$ZKAFKA_HOME/target" cargo build --release --features perf --bin zkafka) >&2 ||
    die "cargo build --release --features perf failed"
fi
exec "$bin" perf consumer "$@"
