#!/bin/sh
# The bucket step of the milvus pod (init container `provision`, the MinIO client, as MinIO's
# root: the one administrative use of the root key). It creates the buckets, and each client's
# user with a policy that grants its buckets and nothing else, then proves that Milvus's own key
# reaches Milvus's bucket. Idempotent: buckets are kept; users get their secret key and policy set
# again (a rotated key takes effect at the next start). Retries while MinIO starts.
#
# Environment: MINIO_ENDPOINT (http://host:port), MINIO_BUCKET (Milvus's), MC_CONFIG_DIR (a
# writable, memory-backed emptyDir). Files: /provision/buckets, /provision/users and
# /provision/policy-<client>.json (ConfigMap); /secrets/root/{user,password} (minio-root);
# /secrets/users/<client>/{access-key,secret-key} (minio-<client>). `mc` takes credentials as
# arguments: they are visible only inside this short-lived container's own process namespace.
set -u
files=${PROVISION_DIR:-/provision}
secrets=${SECRETS_DIR:-/secrets}

attempts="${MAX_ATTEMPTS:-60}"
i=0
until mc --quiet alias set root "$MINIO_ENDPOINT" "$(cat "$secrets/root/user")" "$(cat "$secrets/root/password")" >/dev/null 2>&1 &&
  mc --quiet admin info root >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge "$attempts" ]; then
    echo "giving up: MinIO at $MINIO_ENDPOINT did not answer as root after $i attempts" >&2
    exit 1
  fi
  echo "MinIO at $MINIO_ENDPOINT is not ready yet (attempt $i of $attempts); retrying in 5s" >&2
  sleep 5
done

set -e
while read -r bucket; do
  [ -n "$bucket" ] || continue
  mc --quiet mb --ignore-existing "root/$bucket" >/dev/null
  echo "bucket $bucket is ready"
done <"$files/buckets"

while read -r client; do
  [ -n "$client" ] || continue
  key="$(cat "$secrets/users/$client/access-key")"
  mc --quiet admin user add root "$key" "$(cat "$secrets/users/$client/secret-key")" >/dev/null
  mc --quiet admin policy create root "qingyu-$client" "$files/policy-$client.json" >/dev/null
  if ! out=$(mc --quiet admin policy attach root "qingyu-$client" --user "$key" 2>&1); then
    # Already attached, as the pinned release words it (XMinioPolicyAlreadyAttached, HTTP 409:
    # every start after the first) or as later ones do.
    case "$out" in
      *"already attached"* | *"already in effect"*) ;;
      *) echo "attaching policy qingyu-$client: $out" >&2; exit 1 ;;
    esac
  fi
  echo "user $client has policy qingyu-$client"
done <"$files/users"

mc --quiet alias set milvus "$MINIO_ENDPOINT" "$(cat "$secrets/users/milvus/access-key")" "$(cat "$secrets/users/milvus/secret-key")" >/dev/null
mc --quiet ls "milvus/$MINIO_BUCKET" >/dev/null
echo "Milvus's own key reaches bucket $MINIO_BUCKET"
