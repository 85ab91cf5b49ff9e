# shellcheck shell=bash
# Check 8, credentials: each client of Redis and MinIO logs in with its own Secret and gets what
# its grants say, no more; nobody gets in without credentials.
#   Redis (redis-cli inside redis-0, to 127.0.0.1: the ACL does not depend on the source): every
#     user of users.rules (the redis-config ConfigMap) authenticates with its Secret redis-<user>;
#     each is allowed, and refused (NOPERM, the ACL's own refusal), the commands of the table
#     below; no login (the default user) gets NOAUTH, a wrong password WRONGPASS.
#   MinIO (curl with AWS SigV4 from the node to minio-0's pod address, S3 API): milvus's user
#     (Secret minio-milvus) writes, reads and deletes an object in Milvus's bucket and is refused
#     (AccessDenied) a write to the backups bucket; the backup user (minio-backup) reads Milvus's
#     bucket and is refused a write to it; an anonymous request and a wrong secret are refused.
# Each refusal is judged by its reason (the server's error code), not by any failure, and each
# has an allowed counterpart, so the check fails when a grant is too wide or too narrow.

# USER COMMAND... -> "ok" (anything but an error) or the error code Redis must answer.
QY_CRED_REDIS_TABLE=(
  "go-backend ok SET qingyu:verify:cred:go-backend v"
  "go-backend ok GET qingyu:verify:cred:go-backend"
  "go-backend ok DEL qingyu:verify:cred:go-backend"
  "go-backend NOPERM FLUSHALL"
  "go-backend NOPERM CONFIG GET maxmemory"
  "go-backend NOPERM KEYS *"
  "python-ai ok SET qingyu:verify:cred:python-ai v"
  "python-ai ok DEL qingyu:verify:cred:python-ai"
  "python-ai NOPERM FLUSHDB"
  "python-ai NOPERM CONFIG SET maxmemory 1mb"
  "probe ok PING"
  "probe NOPERM GET qingyu:verify:cred:probe"
  "exporter ok INFO server"
  "exporter NOPERM SET qingyu:verify:cred:exporter v"
  "backup ok PING"
  "backup NOPERM GET qingyu:verify:cred:backup"
  "admin ok CONFIG GET maxmemory"
  "admin ok ACL WHOAMI"
)

# _cred_redis_verdict WANT ANSWER: ok when the answer is what WANT says.
_cred_redis_verdict() {
  local want="$1" answer="$2"
  if [[ "$want" == ok ]]; then
    [[ "$answer" != NOPERM* && "$answer" != NOAUTH* && "$answer" != WRONGPASS* && "$answer" != ERR* && "$answer" != "AUTH failed"* && "$answer" != *"Error:"* ]]
  else
    [[ "$answer" == "$want"* ]]
  fi
}

_cred_redis() {
  local fail=0 users user line want answer n=0 tested=" "
  users="$(kc -n "$QY_NS" get configmap redis-config -o jsonpath='{.data.users\.rules}' | awk 'NF { print $1 }' | paste -sd' ')"
  [[ -n "$users" ]] || { echo "  redis: no users in the redis-config ConfigMap's users.rules"; return 1; }
  # Every user of the rules authenticates (WHOAMI names it; every user may run it or PING).
  for user in $users; do
    answer="$(qy_redis_cli "$user" ACL WHOAMI | tail -n 1)"
    if [[ "$answer" == "$user" ]]; then
      n=$((n + 1))
    elif [[ "$answer" == NOPERM* ]]; then
      # A user without ACL WHOAMI: logged in if PING answers (else NOAUTH follows a failed AUTH).
      answer="$(qy_redis_cli "$user" PING | tail -n 1)"
      if [[ "$answer" == PONG ]]; then n=$((n + 1)); else echo "  redis: user $user does not log in with Secret redis-$user: $answer"; fail=1; fi
    else
      echo "  redis: user $user does not log in with Secret redis-$user: $answer"
      fail=1
    fi
  done
  for line in "${QY_CRED_REDIS_TABLE[@]}"; do
    read -r user want _ <<<"$line"
    local -a cmd
    read -r -a cmd <<<"${line#"$user $want "}"
    [[ " $users " == *" $user "* ]] || { echo "  redis: the table names user $user, which users.rules does not have"; fail=1; continue; }
    answer="$(set -f; qy_redis_cli "$user" "${cmd[@]}" | tail -n 1)"
    tested+="$user "
    if _cred_redis_verdict "$want" "$answer"; then
      printf '  ok   redis %-10s %-7s %s -> %s\n' "$user" "$want" "${cmd[*]}" "${answer:0:60}"
    else
      printf '  FAIL redis %-10s want %-7s %s -> %s\n' "$user" "$want" "${cmd[*]}" "${answer:0:100}"
      fail=1
    fi
  done
  for user in $users; do
    [[ "$tested" == *" $user "* ]] || { echo "  redis: user $user of users.rules has no line in the check's table (add what it may and may not do)"; fail=1; }
  done
  # No login: the default user is off.
  answer="$(qy_redis_cli - PING | tail -n 1)"
  if [[ "$answer" == NOAUTH* ]]; then echo "  ok   redis (no login)  NOAUTH  PING -> $answer"; else echo "  FAIL redis (no login) want NOAUTH: PING -> $answer"; fail=1; fi
  answer="$(qy_redis_cli - AUTH default "$(openssl rand -hex 8)" | tail -n 1)"
  if [[ "$answer" == WRONGPASS* ]]; then echo "  ok   redis default     WRONGPASS AUTH default <any> -> $answer"; else echo "  FAIL redis default want WRONGPASS: AUTH -> $answer"; fail=1; fi
  answer="$(qy_redis_cli - AUTH go-backend "$(openssl rand -hex 8)" | tail -n 1)"
  if [[ "$answer" == WRONGPASS* ]]; then echo "  ok   redis go-backend  WRONGPASS AUTH go-backend <wrong> -> $answer"; else echo "  FAIL redis go-backend want WRONGPASS with a wrong password: $answer"; fail=1; fi
  ((fail == 0)) || return 1
  QY_CRED_SUMMARY+="Redis: $n users log in with their Secrets, ${#QY_CRED_REDIS_TABLE[@]} ACL cases as granted, no login and wrong passwords refused; "
}

# _cred_s3 ACCESS_KEY SECRET_KEY METHOD PATH [DATA_FILE]: one S3 request to minio-0 (anonymous
# when ACCESS_KEY is empty); prints "HTTP_CODE ERROR_CODE" (ERROR_CODE "-" when the body has none)
# and leaves the body in $QY_CRED_BODY. The keys reach curl through a config file on stdin
# (never argv).
_cred_s3() {
  local ak="$1" sk="$2" method="$3" path="$4" data="${5:-}" code err
  local -a args=(-sS -o "$QY_CRED_BODY" -w '%{http_code}' --max-time 10 -X "$method")
  [[ -n "$data" ]] && args+=(--data-binary "@$data" -H 'Content-Type: application/octet-stream')
  if [[ -n "$ak" ]]; then
    # MinIO verifies the payload hash header; curl signs it when it is given.
    local sha
    if [[ -n "$data" ]]; then sha="$(sha256sum "$data" | cut -d' ' -f1)"; else sha="$(printf '' | sha256sum | cut -d' ' -f1)"; fi
    args+=(--aws-sigv4 "aws:amz:us-east-1:s3" -H "x-amz-content-sha256: $sha" --config -)
    code="$(printf 'user = "%s:%s"\n' "$ak" "$sk" | curl "${args[@]}" "http://$QY_CRED_MINIO$path" 2>&1)" || true
  else
    code="$(curl "${args[@]}" "http://$QY_CRED_MINIO$path" 2>&1)" || true
  fi
  err="$(sed -n 's:.*<Code>\([^<]*\)</Code>.*:\1:p' "$QY_CRED_BODY" 2>/dev/null | head -n 1)"
  printf '%s %s\n' "${code:-000}" "${err:--}"
}

# _cred_s3_case WHAT WANT_CODE WANT_ERROR ARGS...: one request judged by its status and error code.
_cred_s3_case() {
  local what="$1" want_code="$2" want_err="$3" got
  shift 3
  got="$(_cred_s3 "$@")"
  if [[ "$got" == "$want_code $want_err" ]]; then
    printf '  ok   minio %-52s -> %s\n' "$what" "$got"
  else
    printf '  FAIL minio %-52s -> %s (want %s %s)\n' "$what" "$got" "$want_code" "$want_err"
    return 1
  fi
}

_cred_minio() {
  local fail=0 ip bucket mak msk bak bsk obj tmp got
  ip="$(kc -n "$QY_NS" get pod minio-0 -o jsonpath='{.status.podIP}')"
  [[ -n "$ip" ]] || { echo "  minio: no minio-0 pod address"; return 1; }
  QY_CRED_MINIO="$ip:9000"
  bucket="$(kc -n "$QY_NS" get statefulset milvus -o jsonpath='{.spec.template.spec.initContainers[*].env[?(@.name=="MINIO_BUCKET")].value}')"
  [[ -n "$bucket" ]] || { echo "  minio: cannot tell Milvus's bucket (MINIO_BUCKET of the milvus pod's init container)"; return 1; }
  mak="$(kc -n "$QY_NS" get secret minio-milvus -o jsonpath='{.data.access-key}' | base64 -d)"
  msk="$(kc -n "$QY_NS" get secret minio-milvus -o jsonpath='{.data.secret-key}' | base64 -d)"
  bak="$(kc -n "$QY_NS" get secret minio-backup -o jsonpath='{.data.access-key}' | base64 -d)"
  bsk="$(kc -n "$QY_NS" get secret minio-backup -o jsonpath='{.data.secret-key}' | base64 -d)"
  [[ -n "$mak" && -n "$msk" && -n "$bak" && -n "$bsk" ]] || { echo "  minio: Secrets minio-milvus / minio-backup incomplete"; return 1; }
  tmp="$(mktemp -d)"
  QY_CRED_BODY="$tmp/body"
  obj="qingyu-verify/cred-$(openssl rand -hex 6)"
  openssl rand -hex 64 >"$tmp/data"
  _cred_s3_case "milvus   PUT $bucket/$obj" 200 - "$mak" "$msk" PUT "/$bucket/$obj" "$tmp/data" || fail=1
  got="$(_cred_s3 "$mak" "$msk" GET "/$bucket/$obj")"
  if [[ "$got" == "200 -" ]] && cmp -s "$QY_CRED_BODY" "$tmp/data"; then
    echo "  ok   minio milvus   GET $bucket/$obj (the bytes written)       -> $got"
  else
    echo "  FAIL minio milvus   GET $bucket/$obj -> $got (want 200 and the bytes written)"
    fail=1
  fi
  got="$(_cred_s3 "$mak" "$msk" GET "/$bucket?list-type=2&prefix=qingyu-verify%2F")"
  if [[ "$got" == "200 -" ]] && grep -qF "<Key>$obj</Key>" "$QY_CRED_BODY"; then
    echo "  ok   minio milvus   GET $bucket?list-type=2 (lists the object)     -> $got"
  else
    echo "  FAIL minio milvus   GET $bucket?list-type=2 -> $got (want 200 and $obj listed)"
    fail=1
  fi
  _cred_s3_case "backup   GET $bucket/$obj (read-only grant)" 200 - "$bak" "$bsk" GET "/$bucket/$obj" || fail=1
  _cred_s3_case "backup   PUT $bucket/$obj-b (no write grant)" 403 AccessDenied "$bak" "$bsk" PUT "/$bucket/$obj-b" "$tmp/data" || fail=1
  _cred_s3_case "milvus   PUT backups/$obj (another client's bucket)" 403 AccessDenied "$mak" "$msk" PUT "/backups/$obj" "$tmp/data" || fail=1
  # ListBuckets: MinIO answers a user without s3:ListAllMyBuckets with the buckets its policy
  # reaches: Milvus's, not the backups.
  got="$(_cred_s3 "$mak" "$msk" GET "/")"
  if [[ "$got" == "200 -" ]] && grep -qF "<Name>$bucket</Name>" "$QY_CRED_BODY" && ! grep -qF "<Name>backups</Name>" "$QY_CRED_BODY"; then
    echo "  ok   minio milvus   GET / (ListBuckets: $bucket only, not backups) -> $got"
  else
    echo "  FAIL minio milvus   GET / -> $got, buckets: $(sed -n 's:<Name>\([^<]*\)</Name>:\1 :gp' "$QY_CRED_BODY" | tr -d '\n') (want $bucket only)"
    fail=1
  fi
  _cred_s3_case "anonymous GET $bucket/$obj" 403 AccessDenied "" "" GET "/$bucket/$obj" || fail=1
  _cred_s3_case "anonymous GET $bucket (list)" 403 AccessDenied "" "" GET "/$bucket?list-type=2" || fail=1
  _cred_s3_case "anonymous PUT $bucket/$obj-a" 403 AccessDenied "" "" PUT "/$bucket/$obj-a" "$tmp/data" || fail=1
  _cred_s3_case "milvus's key, wrong secret: GET $bucket/$obj" 403 SignatureDoesNotMatch "$mak" "wrong-$msk" GET "/$bucket/$obj" || fail=1
  _cred_s3_case "milvus   DELETE $bucket/$obj" 204 - "$mak" "$msk" DELETE "/$bucket/$obj" || fail=1
  rm -rf "$tmp"
  ((fail == 0)) || return 1
  QY_CRED_SUMMARY+="MinIO: milvus writes/reads/deletes in $bucket and is refused backups, backup only reads $bucket, anonymous and wrong-secret requests refused"
}

check_credentials() {
  qy_platform_settled || return 1
  local fail=0
  QY_CRED_SUMMARY=""
  _cred_redis || fail=1
  _cred_minio || fail=1
  ((fail == 0)) || { echo "credentials: a login or a grant is not as the platform defines it (FAIL lines above)"; return 1; }
  echo "$QY_CRED_SUMMARY"
}
qy_check 15 "8-credentials" check_credentials
