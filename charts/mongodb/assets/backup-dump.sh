#!/bin/sh
# Backup step of the mongodb-backup CronJob (the MongoDB image's mongodump): a dump of every
# database from a secondary (the primary when it is the only member), with the oplog written
# during the dump (--oplog), so that the restore replays it to one consistent point in time.
# The `backup` user (built-in role backup) reads; its password goes through a config file, never
# the command line.
set -eu
: "${MEMBER_HOSTS:?}" "${REPLICA_SET_NAME:?}"
umask 077
printf 'password: "%s"\n' "$(cat /secrets/mongodb/password)" >/tmp/mongodump.yaml
mongodump \
  --uri "mongodb://${MEMBER_HOSTS}/?replicaSet=${REPLICA_SET_NAME}&authSource=admin&readPreference=secondaryPreferred" \
  --username "$(cat /secrets/mongodb/username)" --config /tmp/mongodump.yaml \
  --oplog --gzip --archive=/scratch/mongodb.archive.gz
rm -f /tmp/mongodump.yaml
echo "backup: mongodb.archive.gz, $(wc -c </scratch/mongodb.archive.gz) bytes"
