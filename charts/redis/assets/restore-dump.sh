#!/bin/sh
# Restore step for redis (scripts/restore.sh runs it with Redis stopped and its volume at /data):
# the snapshot's dump.rdb becomes the base of a fresh append-only file. Redis 7 with
# `appendonly yes` loads only the AOF, never a dump.rdb beside it, so the RDB is installed as the
# AOF's base (an RDB-format base is what an AOF rewrite writes) with a manifest naming it.
set -eu
src=/scratch/restore/dump.rdb
test -s "$src" || { echo "restore: $src is missing or empty" >&2; exit 1; }
aof=/data/appendonlydir
stamp=$(date -u +%Y%m%dT%H%M%SZ)
if [ -d "$aof" ]; then
  mv "$aof" "/data/appendonlydir.before-restore-$stamp"
  echo "restore: kept the previous AOF as /data/appendonlydir.before-restore-$stamp (remove it once the restore is verified)"
fi
mkdir -p "$aof"
cp "$src" "$aof/appendonly.aof.1.base.rdb"
printf 'file appendonly.aof.1.base.rdb seq 1 type b\n' >"$aof/appendonly.aof.manifest"
rm -f /data/dump.rdb
echo "restore: $(wc -c <"$aof/appendonly.aof.1.base.rdb") bytes installed as the AOF base"
