#!/usr/bin/env bash
# The project's test command:
#
#   scripts/test.sh [cargo test arguments...]     e.g. scripts/test.sh --test cluster -- --nocapture
#
# Makes sure the integration tests' prerequisites are there -- Debian's
# zookeeper (jars + JRE), kcat, prometheus and chromium -- installing them with apt-get when run as
# root, otherwise failing with the command to run; then runs `cargo test`
# with the given arguments and exits with its status.
#
# Node.js clients: tests/js/package.json (kafkajs, and playwright-core for the browser test
# of the live view, which also needs Debian's chromium) is installed with npm ci.
#
# Python clients (hook): if tests/python/requirements.txt exists, or
# ZKAFKA_TEST_PYTHON=1 (then kafka-python is installed), python3 + pip and
# those packages are installed too.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_python_clients() {
  local req="$ZKAFKA_HOME/tests/python/requirements.txt"
  local -a pkgs=()
  if [[ -f "$req" ]]; then
    pkgs=(-r "$req")
  elif [[ "${ZKAFKA_TEST_PYTHON:-}" == 1 ]]; then
    pkgs=(kafka-python)
  else
    return 0
  fi
  command -v python3 >/dev/null 2>&1 || apt_install python3 python3-pip
  python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
  if [[ -f "$req" ]] && python3 - "$req" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import distribution
for line in open(sys.argv[1]):
    name = line.split("#")[0].strip().split("==")[0].split(">=")[0].strip()
    if name:
        distribution(name)
PY
    return 0
  fi
  info "installing Python test clients: pip install ${pkgs[*]}"
  python3 -m pip install --quiet "${pkgs[@]}" ||
    python3 -m pip install --quiet --break-system-packages "${pkgs[@]}" ||
    die "pip install ${pkgs[*]} failed"
}

# Node.js clients (kafkajs): tests/js/package.json, installed with npm ci from its lock file.
ensure_node_clients() {
  local dir="$ZKAFKA_HOME/tests/js"
  [[ -f "$dir/package.json" ]] || return 0
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then apt_install nodejs npm; fi
  [[ -d "$dir/node_modules/kafkajs" && -d "$dir/node_modules/playwright-core" ]] && return 0
  info "installing Node.js test clients: npm ci (in $dir)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in $dir failed"
}

ensure_zookeeper
ensure_kcat
ensure_prometheus
ensure_chromium
ensure_python_clients
ensure_node_clients
ensure_cargo

cd "$ZKAFKA_HOME"
exec cargo test "$@"
