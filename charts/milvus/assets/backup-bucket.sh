#!/bin/sh
# Backup step of the milvus-backup CronJob (the MinIO client): copy Milvus's bucket into the
# scratch volume, after the etcd snapshot of the step before. Segments are immutable and Milvus
# deletes dropped ones only after dataCoord.gc.dropTolerance (3 h by default), so every segment
# the snapshot names is still in the bucket while this copy reads it: the pair is consistent.
#
# Environment: S3_URL (scheme://host:port), S3_BUCKET, MC_CONFIG_DIR (the pod's temp directory);
# the store's access key in /secrets/bucket (access-key, secret-key).
set -eu
: "${S3_URL:?}" "${S3_BUCKET:?}"
mc --quiet alias set source "$S3_URL" "$(cat /secrets/bucket/access-key)" "$(cat /secrets/bucket/secret-key)" >/dev/null
# The directory first: mirroring an empty bucket makes none, and a restore needs it.
mkdir -p /scratch/bucket
mc --quiet mirror "source/$S3_BUCKET" /scratch/bucket
# Counted by mc itself: the mc image (ubi-minimal 8.7 and the tools of minio/mc#4475) has no
# find (minio/mc#4469).
echo "backup: bucket $S3_BUCKET, $(mc --quiet ls --recursive /scratch/bucket | wc -l) objects"
