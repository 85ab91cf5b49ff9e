#!/usr/bin/env bash
# Probes of the mongod container. mongosh connects without credentials: `ping` and `hello` need
# none, also with authorization enabled.
#
#   probe.sh live  [TIMEOUT]   mongod answers db.adminCommand('ping')      (startup, liveness)
#   probe.sh ready [TIMEOUT]   the member is PRIMARY or SECONDARY (db.hello())   (readiness)
#
# TIMEOUT (seconds, default 8) stops a hung mongosh before the kubelet gives up on the probe,
# so no stray mongosh process is left behind.
set -euo pipefail

case "${1:-}" in
  live)
    check="db.adminCommand('ping')"
    ;;
  ready)
    check="const h = db.hello(); if (!(h.isWritablePrimary || h.secondary)) { print('not ready: the member is not PRIMARY or SECONDARY'); quit(1); }"
    ;;
  *)
    echo "usage: $0 live|ready [TIMEOUT_SECONDS]" >&2
    exit 2
    ;;
esac

# mongosh writes a log file per run under $HOME/.mongodb/mongosh and keeps them for 30 days; at
# a probe every few seconds that would fill the scratch volume. Keep the last hour.
find "${HOME:-/tmp}/.mongodb/mongosh" -maxdepth 1 -type f -name '*_log' -mmin +60 -delete 2>/dev/null || true

exec timeout "${2:-8}" mongosh --quiet --norc --host 127.0.0.1 --port "${MONGODB_PORT:-27017}" --eval "$check"
