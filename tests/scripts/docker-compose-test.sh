#!/usr/bin/env bash
# docker/ tested the way a user runs it, with podman and podman-compose (no registry needed):
#   1. podman, podman-compose and debootstrap installed (root), and in CI the
#      /etc/containers/containers.conf this machine type needs, written only if absent;
#   2. the base image docker.io/library/debian:bookworm-slim made with debootstrap
#      --variant=minbase + podman import when it is missing (the rootfs tarball is cached
#      in $ZKAFKA_DOCKER_CACHE, default /var/cache/zkafka-docker);
#   3. the image built from docker/Dockerfile with the host's zkafka binary
#      ($ZKAFKA_DOCKER_BINARY, default target/debug/zkafka, built if missing);
#   4. `podman-compose up -d` of docker/docker-compose.yml; waits for 3 brokers in kcat -L
#      from the host and for /controller; creates a topic with the image's zkafka topics,
#      produces and consumes with kcat from the host;
#   5. `podman-compose down -v -t 60`, then checks that no container, pod or volume of the project
#      is left.
# Uses the quickstart's host ports (2181-2183, 9092-9094): skips (exit 0) if one is taken.
#
#   tests/scripts/docker-compose-test.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/../../scripts/lib.sh"
cd "$ZKAFKA_HOME"

COMPOSE_FILE="$ZKAFKA_HOME/docker/docker-compose.yml"
PROJECT=zkafka
IMAGE=localhost/zkafka:latest
BASE_IMAGE=docker.io/library/debian:bookworm-slim
CACHE="${ZKAFKA_DOCKER_CACHE:-/var/cache/zkafka-docker}"
BINARY="${ZKAFKA_DOCKER_BINARY:-target/debug/zkafka}"
WAIT_SECS="${ZKAFKA_WAIT_SECS:-180}"
TOPIC=docker-compose-test
# podman build, podman-compose and debootstrap output goes here (run_logged in lib.sh).
ZKAFKA_SETUP_LOG="${ZKAFKA_SETUP_LOG:-$(mktemp /tmp/zkafka-docker-compose-test.XXXXXX.log)}"
export ZKAFKA_SETUP_LOG
started=$SECONDS

step() { printf '%s: [%3ds] %s\n' "$ZKAFKA_PROG" $((SECONDS - started)) "$*"; }
compose() { podman-compose -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; }
# container SERVICE: the name of the project's container for SERVICE.
container() {
  podman ps --filter "label=io.podman.compose.project=$PROJECT" \
    --filter "label=com.docker.compose.service=$1" --format '{{.Names}}' | head -n1
}

ensure_podman() {
  local pkgs=()
  command -v podman >/dev/null 2>&1 || pkgs+=(podman runc)
  command -v podman-compose >/dev/null 2>&1 || pkgs+=(podman-compose)
  command -v debootstrap >/dev/null 2>&1 || pkgs+=(debootstrap)
  # Container names resolve on the compose network through CNI's dnsname plugin.
  [[ -x /usr/lib/cni/dnsname ]] || pkgs+=(golang-github-containernetworking-plugin-dnsname)
  ((${#pkgs[@]} == 0)) || apt_install "${pkgs[@]}"
  local conf=/etc/containers/containers.conf
  if [[ ! -f "$conf" ]]; then
    if [[ -n "${CI:-}" ]]; then
      info "writing $conf (runc, ulimits) for this machine type"
      mkdir -p "$(dirname "$conf")"
      printf '%s\n' '[containers]' 'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]' \
        '' '[engine]' 'runtime = "runc"' >"$conf"
    else
      warn "$conf is absent; if containers fail to start, set runtime = \"runc\" and default_ulimits there"
    fi
  fi
}

ensure_base_image() {
  podman image exists "$BASE_IMAGE" && return 0
  local tarball="$CACHE/debian-bookworm-minbase.tar" root
  if [[ ! -s "$tarball" ]]; then
    root="$(mktemp -d /tmp/zkafka-debootstrap.XXXXXX)"
    mkdir -p "$CACHE"
    if ! run_logged "debootstrap --variant=minbase bookworm" \
      debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian; then
      rm -rf "$root"
      die "debootstrap failed"
    fi
    tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
  fi
  step "podman import $tarball as $BASE_IMAGE"
  podman import -q "$tarball" "$BASE_IMAGE" >/dev/null
}

build_image() {
  if [[ ! -x "$BINARY" ]]; then
    ensure_cargo
    run_logged "cargo build --bin zkafka" cargo build --bin zkafka || die "cargo build failed"
  fi
  run_logged "podman build -f docker/Dockerfile --build-arg ZKAFKA_BINARY=$BINARY -t $IMAGE ." \
    podman build -f docker/Dockerfile --build-arg "ZKAFKA_BINARY=$BINARY" -t "$IMAGE" . ||
    die "podman build failed"
}

show_logs() {
  local c
  for c in $(podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}}'); do
    echo "---- podman logs --tail 30 $c ----"
    podman logs --tail 30 "$c" 2>&1 || true
  done
}

cleanup() {
  local rc=$?
  ((rc == 0)) || show_logs
  compose down -v -t 60 >>"$ZKAFKA_SETUP_LOG" 2>&1 || true
  exit "$rc"
}

# registered_brokers: broker ids in kcat -L from the host, one per line.
registered_brokers() {
  { timeout 10 kcat -b 127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094 -L -J 2>/dev/null || true; } |
    python3 -c 'import json,sys
try: print("\n".join(str(b["id"]) for b in json.load(sys.stdin)["brokers"]))
except Exception: pass'
}

controller() {
  podman exec "$(container zookeeper-1)" zookeeper-shell.sh 127.0.0.1:2181 get /controller 2>/dev/null |
    grep -o '"brokerid":[0-9]*' || true
}

wait_for_cluster() {
  local deadline=$((SECONDS + WAIT_SECS)) ids ctl
  while :; do
    ids="$(registered_brokers | sort | tr '\n' ' ')"
    ctl=""
    [[ "$ids" == "1 2 3 " ]] && ctl="$(controller)"
    if [[ -n "$ctl" ]]; then
      step "brokers 1 2 3 in kcat -L from the host; controller $ctl"
      return 0
    fi
    ((SECONDS < deadline)) || die "after ${WAIT_SECS}s: brokers in kcat -L: '${ids}', /controller: '${ctl}'"
    sleep 2
  done
}

produce_and_consume() {
  local kafka1 want got
  kafka1="$(container kafka-1)"
  step "zkafka topics --create --topic $TOPIC (in $kafka1)"
  podman exec "$kafka1" zkafka topics --zookeeper zookeeper-1:2181,zookeeper-2:2181 \
    --create --topic "$TOPIC" --partitions 3 --replication-factor 3
  want="$(seq 1 100 | sed 's/^/key-/;s/$/:value/')"
  step "kcat produces 100 records (acks=all) to 127.0.0.1:9092"
  printf '%s\n' "$want" | kcat -b 127.0.0.1:9092 -P -t "$TOPIC" -K: -X acks=all
  got="$(timeout 60 kcat -b 127.0.0.1:9093 -C -t "$TOPIC" -o beginning -e -q -f '%k:%s\n' | sort -V)"
  [[ "$got" == "$(printf '%s\n' "$want" | sort -V)" ]] ||
    die "consumed records differ from the produced ones; got $(printf '%s\n' "$got" | wc -l) lines"
  step "kcat consumed the 100 records back from 127.0.0.1:9093"
}

# check_clean_stop: every container exited by itself (not SIGKILL), and brokers 3 and 2, which
# stop while others live, moved their leaderships away by controlled shutdown.
check_clean_stop() {
  local c code log
  for c in $(podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}}'); do
    code="$(podman inspect --format '{{.State.ExitCode}}' "$c")"
    [[ "$code" == 0 || "$code" == 143 ]] || die "$c exited with $code after podman-compose stop -t 60"
  done
  for c in kafka-3 kafka-2; do
    log="$(podman logs "$(podman ps -a --filter "label=com.docker.compose.service=$c" --format '{{.Names}}')" 2>&1)"
    [[ "$log" == *"Controlled shutdown request returned successfully"* ]] ||
      die "$c did not complete a controlled shutdown"
  done
  step "every container stopped cleanly; kafka-3 and kafka-2 by controlled shutdown"
}

check_nothing_left() {
  local left
  left="$(podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}}')"
  [[ -z "$left" ]] || die "containers left after down: $left"
  left="$(podman volume ls --format '{{.Name}}' | grep "^${PROJECT}_" || true)"
  [[ -z "$left" ]] || die "volumes left after down -v: $left"
  left="$(podman pod ls --format '{{.Name}}' | grep "$PROJECT" || true)"
  [[ -z "$left" ]] || die "pods left after down: $left"
}

for p in 2181 2182 2183 9092 9093 9094; do
  if port_open "$p"; then
    echo "docker-compose-test: port $p is in use; skipping the docker compose test"
    exit 0
  fi
done

ensure_kcat
ensure_podman
ensure_base_image
build_image
trap cleanup EXIT
run_logged "podman-compose up -d" compose up -d || die "podman-compose up failed"
wait_for_cluster
produce_and_consume
# Stopped in reverse order (brokers 3, 2, 1, then ZooKeeper), each given 60 s for its
# controlled shutdown (podman-compose down's default is 1 s, then SIGKILL).
run_logged "podman-compose stop -t 60" compose stop -t 60 || die "podman-compose stop failed"
check_clean_stop
run_logged "podman-compose down -v -t 60" compose down -v -t 60 || die "podman-compose down failed"
trap - EXIT
check_nothing_left
step "passed: nothing of project $PROJECT is left (log: $ZKAFKA_SETUP_LOG)"
