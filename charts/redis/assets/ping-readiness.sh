#!/bin/sh
# Readiness: the server answers PONG, so it serves reads and writes (not while loading the AOF).
# redis-cli authenticates with REDISCLI_AUTH (from the redis-auth Secret), never an argument.
response=$(timeout "${1:-2}" redis-cli --no-auth-warning -h 127.0.0.1 -p 6379 ping 2>&1)
if [ "$response" != "PONG" ]; then
  echo "$response"
  exit 1
fi
