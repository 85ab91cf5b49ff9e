#!/bin/sh
# Starts redis-server with /etc/redis/redis.conf and the password of the redis-auth Secret.
#
# The password arrives in REDIS_PASSWORD and is handed to Redis on standard input (the trailing
# `-` argument), so it is written to no file and appears in no command line (`ps`, /proc/*/cmdline).
# `exec` makes redis-server PID 1, so it receives SIGTERM and shuts down cleanly.
set -eu

: "${REDIS_PASSWORD:?REDIS_PASSWORD must be set from the redis-auth Secret}"
case "$REDIS_PASSWORD" in
  *'
'*)
    echo "the Redis password must be a single line" >&2
    exit 1
    ;;
esac

# Inside double quotes redis.conf reads \" and \\ as escapes; escape those two characters.
escaped=$(printf '%s' "$REDIS_PASSWORD" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')

# Files Redis creates (the AOF) are readable by its own user only.
umask 0077
exec redis-server /etc/redis/redis.conf - <<EOF_CONFIG
requirepass "$escaped"
EOF_CONFIG
