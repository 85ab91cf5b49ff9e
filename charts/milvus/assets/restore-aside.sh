#!/bin/sh
# Restore step (scripts/restore.sh runs it with the store stopped and its volume mounted): move
# each directory aside. For etcd, first: `etcdutl snapshot restore` writes a new data directory
# and refuses an existing one. For milvus, Milvus's RocksMQ and cache: they belong to the state
# being replaced. The old ones are kept until the restore is verified.
set -eu
[ "$#" -gt 0 ] || { echo "usage: restore-aside.sh DIR..." >&2; exit 2; }
stamp=$(date -u +%Y%m%dT%H%M%SZ)
for data in "$@"; do
  if [ -d "$data" ]; then
    aside="$data.before-restore-$stamp"
    mv "$data" "$aside"
    echo "restore: kept the previous $data as $aside (remove it once the restore is verified)"
  fi
done
