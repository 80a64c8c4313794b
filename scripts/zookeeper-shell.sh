#!/usr/bin/env bash
# ZooKeeper command-line client (org.apache.zookeeper.ZooKeeperMain from
# Debian's jars), like Kafka's bin/zookeeper-shell.sh.
#
#   scripts/zookeeper-shell.sh 127.0.0.1:2181                  # interactive
#   scripts/zookeeper-shell.sh 127.0.0.1:2181 ls /brokers/ids  # one command
#   scripts/zookeeper-shell.sh 127.0.0.1:2181/chroot get /controller
#
# With a command it is non-interactive and exits non-zero if the command fails
# (e.g. "Node does not exist").  ZK_SHELL_TIMEOUT_MS sets the session timeout.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if (($# == 0)) || [[ "$1" == -h || "$1" == --help ]]; then
  echo "usage: $ZKAFKA_PROG <host:port[,host:port...][/chroot]> [command [args...]]" >&2
  exit 2
fi
ensure_zookeeper
zk_shell "$@"
