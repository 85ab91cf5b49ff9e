#!/bin/sh
# Restore step for milvus (scripts/restore.sh runs it with Milvus stopped): make the bucket
# exactly the snapshot's copy: every object written back, every object the copy does not have
# removed (segments written after the backup, which the restored metadata does not know).
set -eu
: "${S3_URL:?}" "${S3_BUCKET:?}"
src=/scratch/restore/bucket
test -d "$src" || { echo "restore: $src is missing" >&2; exit 1; }
# The backup's own key only reads: write with the key of /secrets/restore (Milvus's) when there is one.
keys=/secrets/bucket
[ -f /secrets/restore/access-key ] && keys=/secrets/restore
mc --quiet alias set target "$S3_URL" "$(cat "$keys/access-key")" "$(cat "$keys/secret-key")" >/dev/null
# The bucket is there unless the object store lost it (Milvus's provision step makes it at each
# start). Made here only then: Milvus's key may not create buckets (its policy grants the
# bucket's objects), and mc mb --ignore-existing asks to create it even when it exists.
if ! mc --quiet ls "target/$S3_BUCKET" >/dev/null 2>&1; then
  mc --quiet mb "target/$S3_BUCKET" >/dev/null ||
    { echo "restore: bucket $S3_BUCKET is missing and this key cannot make it: create it as MinIO's root (as Milvus's provision step does), then restore again" >&2; exit 1; }
fi
mc --quiet mirror --overwrite --remove "$src" "target/$S3_BUCKET"
echo "restore: bucket $S3_BUCKET holds $(mc --quiet ls --recursive "target/$S3_BUCKET" | wc -l) objects"
