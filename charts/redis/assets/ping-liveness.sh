#!/bin/sh
# Liveness: the server process answers. PONG counts, and so do LOADING (replaying the AOF after
# a restart, which can take a while) and MASTERDOWN: restarting would not fix either.
# redis-cli logs in as the probe user (PING only); its password reaches redis-cli through
# REDISCLI_AUTH, never an argument.
REDISCLI_AUTH=$(cat "${REDIS_USERS_DIR:-/secrets/users}/${REDIS_PROBE_USER:?}/password")
export REDISCLI_AUTH
response=$(timeout "${1:-4}" redis-cli --no-auth-warning --user "$REDIS_PROBE_USER" -h 127.0.0.1 -p 6379 ping 2>&1)
case "$response" in
  PONG | LOADING* | MASTERDOWN*) exit 0 ;;
  *)
    echo "$response"
    exit 1
    ;;
esac
