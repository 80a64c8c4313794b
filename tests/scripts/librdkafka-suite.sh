#!/usr/bin/env bash
# librdkafka's own broker test suite against a 3-broker zkafka cluster
# (tests/librdkafka_suite.rs: quick mode `-Q -E`, TEST_KAFKA_VERSION=2.8.0, failures
# compared with tests/librdkafka/expected-failures.txt).
#
#   tests/scripts/librdkafka-suite.sh [TESTS]     e.g. tests/scripts/librdkafka-suite.sh 0033,0019
#   LIBRDKAFKA_REPEAT=20 tests/scripts/librdkafka-suite.sh 0115   (20 runs, one cluster)
#
# librdkafka and its test-runner are built from the sources bundled in the rdkafka-sys
# crate (the version Cargo.lock pins; cargo fetches it from crates.io) into
# target/librdkafka-suite/<version>/, once; the C toolchain and headers it needs are
# installed with apt-get when run as root.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

# ensure_librdkafka_build_deps: a C/C++ toolchain and the headers of the codecs and TLS
# library librdkafka's tests exercise (gzip, zstd, SSL; lz4 and snappy are bundled).
ensure_librdkafka_build_deps() {
  local missing=0 c h
  for c in gcc g++ make pkg-config python3; do
    command -v "$c" >/dev/null 2>&1 || missing=1
  done
  for h in /usr/include/zlib.h /usr/include/zstd.h /usr/include/openssl/ssl.h; do
    [[ -f "$h" ]] || missing=1
  done
  if ((missing)); then
    apt_install build-essential pkg-config python3 zlib1g-dev libzstd-dev libssl-dev
  fi
}

# rdkafka_sys_dir: the rdkafka-sys crate's source directory (fetched if needed).
rdkafka_sys_dir() {
  (cd "$ZKAFKA_HOME" && cargo metadata --format-version 1 --features perf --locked) |
    python3 -c '
import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "rdkafka-sys":
        print(os.path.dirname(p["manifest_path"]))
        break
'
}

# build_suite SRC OUT: copy librdkafka from SRC to OUT, configure, build the library and
# test-runner; the build log goes to OUT.log.
build_suite() {
  local src="$1" out="$2" log="$2.log" jobs
  jobs="$(nproc)"
  rm -rf "$out"
  mkdir -p "$(dirname "$out")"
  cp -a "$src" "$out"
  info "building librdkafka and its test-runner in $out (log: $log)"
  if ! (
    cd "$out" &&
      ./configure --disable-gssapi --disable-curl --disable-lz4-ext &&
      make -j"$jobs" libs &&
      make -C tests -j"$jobs" build
  ) >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "building librdkafka's test suite failed; see $log"
  fi
  touch "$out/.zkafka-built"
}

ensure_librdkafka_build_deps
ensure_zookeeper
ensure_kcat
ensure_cargo

sys_dir="$(rdkafka_sys_dir)"
[[ -n "$sys_dir" && -d "$sys_dir/librdkafka/tests" ]] ||
  die "librdkafka's sources not found in the rdkafka-sys crate (${sys_dir:-not in cargo metadata})"
out="$ZKAFKA_HOME/target/librdkafka-suite/$(basename "$sys_dir")"
[[ -f "$out/.zkafka-built" ]] || build_suite "$sys_dir/librdkafka" "$out"

info "running librdkafka's test suite ($(basename "$sys_dir"), quick mode) against a 3-broker cluster"
cd "$ZKAFKA_HOME"
LIBRDKAFKA_TESTS_DIR="$out/tests" LIBRDKAFKA_TESTS="${1:-}" \
  exec cargo test --test librdkafka_suite -- --ignored --nocapture
