#!/bin/sh
# Restore step for mongodb (scripts/restore.sh runs it with the applications stopped): replace
# every collection of the dump (--drop) and replay the dump's oplog (--oplogReplay), through the
# primary, as root (the Secret mongodb-root at /secrets/restore). The admin and config databases
# are left as they are: the users keep the passwords of today's Secrets, not the dump's.
set -eu
: "${MEMBER_HOSTS:?}" "${REPLICA_SET_NAME:?}"
src=/scratch/restore/mongodb.archive.gz
test -s "$src" || { echo "restore: $src is missing or empty" >&2; exit 1; }
umask 077
printf 'password: "%s"\n' "$(cat /secrets/restore/password)" >/tmp/mongorestore.yaml
mongorestore \
  --uri "mongodb://${MEMBER_HOSTS}/?replicaSet=${REPLICA_SET_NAME}&authSource=admin" \
  --username "$(cat /secrets/restore/username)" --config /tmp/mongorestore.yaml \
  --nsExclude 'admin.*' --nsExclude 'config.*' \
  --drop --oplogReplay --gzip --archive="$src"
rm -f /tmp/mongorestore.yaml
echo "restore: done"
