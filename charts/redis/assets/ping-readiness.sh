#!/bin/sh
# Readiness: the server answers PONG, so it serves reads and writes (not while loading the AOF).
# redis-cli logs in as the probe user (PING only); its password reaches redis-cli through
# REDISCLI_AUTH, never an argument.
REDISCLI_AUTH=$(cat "${REDIS_USERS_DIR:-/secrets/users}/${REDIS_PROBE_USER:?}/password")
export REDISCLI_AUTH
response=$(timeout "${1:-2}" redis-cli --no-auth-warning --user "$REDIS_PROBE_USER" -h 127.0.0.1 -p 6379 ping 2>&1)
if [ "$response" != "PONG" ]; then
  echo "$response"
  exit 1
fi
