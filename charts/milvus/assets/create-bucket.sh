#!/bin/sh
# Creates Milvus's bucket in MinIO before Milvus starts (init container `create-bucket` of the
# milvus pod). Idempotent: an existing bucket is left as it is. Retries while MinIO starts.
#
# Environment: MINIO_ENDPOINT (http://host:port), MINIO_BUCKET, MINIO_ROOT_USER and
# MINIO_ROOT_PASSWORD (from the minio-root Secret), MC_CONFIG_DIR (a writable emptyDir).
# `mc alias set` takes the credentials as arguments: they are visible only inside this
# short-lived container's own process namespace, and the alias file lives on a memory-backed
# emptyDir that disappears with the pod.
set -u

attempts="${MAX_ATTEMPTS:-60}"
i=0
while :; do
  if mc --config-dir "$MC_CONFIG_DIR" --quiet alias set qingyu "$MINIO_ENDPOINT" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null &&
    mc --config-dir "$MC_CONFIG_DIR" --quiet mb --ignore-existing "qingyu/$MINIO_BUCKET"; then
    echo "bucket $MINIO_BUCKET is ready at $MINIO_ENDPOINT"
    exit 0
  fi
  i=$((i + 1))
  if [ "$i" -ge "$attempts" ]; then
    echo "giving up: MinIO at $MINIO_ENDPOINT did not create bucket $MINIO_BUCKET after $i attempts" >&2
    exit 1
  fi
  echo "MinIO at $MINIO_ENDPOINT is not ready yet (attempt $i of $attempts); retrying in 5s" >&2
  sleep 5
done
