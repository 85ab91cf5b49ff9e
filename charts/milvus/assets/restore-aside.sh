#!/bin/sh
# First restore step for etcd (scripts/restore.sh runs it with etcd stopped and its volume
# mounted): move the current data directory aside, since `etcdutl snapshot restore` writes a new
# one and refuses an existing directory. The old one is kept until the restore is verified.
set -eu
data=${1:?usage: restore-aside.sh DATA_DIR}
if [ -d "$data" ]; then
  aside="$data.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
  mv "$data" "$aside"
  echo "restore: kept the previous data directory as $aside (remove it once the restore is verified)"
fi
