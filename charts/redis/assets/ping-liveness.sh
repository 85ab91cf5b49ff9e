#!/bin/sh
# Liveness: the server process answers. PONG counts, and so do LOADING (replaying the AOF after
# a restart, which can take a while) and MASTERDOWN: restarting would not fix either.
# redis-cli authenticates with REDISCLI_AUTH (from the redis-auth Secret), never an argument.
response=$(timeout "${1:-4}" redis-cli --no-auth-warning -h 127.0.0.1 -p 6379 ping 2>&1)
case "$response" in
  PONG | LOADING* | MASTERDOWN*) exit 0 ;;
  *)
    echo "$response"
    exit 1
    ;;
esac
