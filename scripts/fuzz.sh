#!/usr/bin/env bash
# Runs the cargo-fuzz targets under tests/fuzz for a bounded time each:
#
#   scripts/fuzz.sh [TARGET...]        FUZZ_SECONDS (default 60) per target
#
# Targets: request_decode, record_batch, znode_codecs, checkpoints_and_indexes (all when
# none are named). Installs cargo-fuzz from crates.io when it is missing. libFuzzer needs
# nightly compiler flags; the stable toolchain accepts them with RUSTC_BOOTSTRAP=1. Corpora
# and crash artifacts stay in tests/fuzz/{corpus,artifacts} (ignored by git).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_cargo
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] ||
  targets=(request_decode record_batch znode_codecs checkpoints_and_indexes)
cd "$ZKAFKA_HOME"
for t in "${targets[@]}"; do
  info "fuzzing $t for ${FUZZ_SECONDS:-60} s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir tests/fuzz -O "$t" -- \
    -max_total_time="${FUZZ_SECONDS:-60}" -rss_limit_mb=1024 -max_len=65536 ||
    die "fuzz target $t failed (crash input in tests/fuzz/artifacts/$t)"
done
