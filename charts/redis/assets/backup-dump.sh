#!/bin/sh
# Backup step of the redis-backup CronJob (the Redis image's redis-cli): ask Redis for an RDB
# snapshot of every key, as a replica's first sync receives it, consistent at one instant.
# It logs in as the backup user (replication only); the password comes from the Secret's file
# into REDISCLI_AUTH, which redis-cli reads (never argv).
set -eu
: "${REDIS_HOST:?}" "${REDIS_PORT:?}"
REDISCLI_AUTH="$(cat /secrets/redis/password)"
export REDISCLI_AUTH
redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" --user "${REDISCLI_USER:?}" --no-auth-warning --rdb /scratch/dump.rdb
test -s /scratch/dump.rdb
echo "backup: dump.rdb, $(wc -c </scratch/dump.rdb) bytes"
