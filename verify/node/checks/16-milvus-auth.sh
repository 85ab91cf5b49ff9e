# shellcheck shell=bash
# Check 9, Milvus authentication (when the YAML turns it on: COMMON_SECURITY_AUTHORIZATIONENABLED
# =true on Milvus and a milvus-auth Job; otherwise SKIP, saying so):
#   - the milvus-auth Job (grpcurl + busybox sh, charts/milvus/assets/milvus-auth.sh) completed,
#     and its log ends with its own verdict;
#   - gRPC without credentials, with a wrong password, and as root with Milvus's default
#     password `Milvus` is refused for its credentials ("auth check failure": the reason, not a
#     timeout); root with milvus-root's password is accepted (the refusals are not of everyone);
#   - the python-ai user (MILVUS_USERNAME of python-ai-config, the password of Secret
#     milvus-python-ai, as python-ai gets them) creates a collection, inserts, flushes, indexes,
#     loads and searches (pymilvus), and is refused an administrative call (listing the users).
# From the node to milvus-0's pod address (lib/milvus-client.py).

# _mauth_rpc WHO: "accepted" or "refused-auth" or "other: ..." for one raw ShowCollections call
# as WHO ("" anonymous; "USER:PASSWORD" given through the environment).
_mauth_rpc() {
  local who="$1" ip out rc=0
  ip="$(kc -n "$QY_NS" get pod milvus-0 -o jsonpath='{.status.podIP}')"
  out="$(MILVUS_USER="${who%%:*}" MILVUS_PASSWORD="${who#*:}" PYTHONPATH="$(qy_pimg_pymilvus_dir)/site" \
    timeout 60 python3 "$QY_PIMG_SRC/lib/milvus-client.py" "$ip" rpc 2>&1)" || rc=$?
  out="$(tail -n 1 <<<"$out")"
  case "$rc" in
    0) echo "accepted ($out)" ;;
    3) echo "refused-auth ($out)" ;;
    *) echo "other: exit $rc $out" ;;
  esac
}

check_milvus_auth() {
  qy_platform_settled || return 1
  local job fail=0 log user password root got
  job="$(kc -n "$QY_NS" get jobs -l app.kubernetes.io/name=milvus-auth -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | head -n 1)"
  if ! qy_milvus_auth_on; then
    [[ -z "$job" ]] || { echo "a milvus-auth Job ($job) runs, but Milvus has authorization off"; return 1; }
    echo "Milvus runs without authentication in this output (no COMMON_SECURITY_AUTHORIZATIONENABLED=true, no milvus-auth Job): nothing to check"
    return "$QY_CHECK_SKIP"
  fi
  [[ -n "$job" ]] || { echo "Milvus has authorization on, but no Job app.kubernetes.io/name=milvus-auth sets its users"; return 1; }
  # The Job: complete (it retries while Milvus starts; the pods settled does not wait for it).
  if ! kc -n "$QY_NS" wait --for=condition=complete "job/$job" --timeout=300s >/dev/null 2>&1; then
    echo "  job $job not complete: $(kc -n "$QY_NS" get "job/$job" -o jsonpath='{.status}')"
    kc -n "$QY_NS" logs "job/$job" --tail=15 2>&1 | sed 's/^/    /'
    return 1
  fi
  log="$(kc -n "$QY_NS" logs "job/$job" 2>&1)"
  echo "  job $job complete ($(kc -n "$QY_NS" get "job/$job" -o jsonpath='{.status.succeeded}') pod succeeded, $(kc -n "$QY_NS" get "job/$job" -o jsonpath='{.status.failed}') failed before)"
  grep -E '^(root|user|role) ' <<<"$log" | sed 's/^/    /'
  [[ "$(tail -n 1 <<<"$log")" == "Milvus authentication is as configured"* ]] ||
    { echo "  its log does not end with its verdict: $(tail -n 1 <<<"$log")"; fail=1; }
  user="$(kc -n "$QY_NS" get configmap python-ai-config -o jsonpath='{.data.MILVUS_USERNAME}')"
  password="$(kc -n "$QY_NS" get secret milvus-python-ai -o jsonpath='{.data.password}' | base64 -d)"
  root="$(kc -n "$QY_NS" get secret milvus-root -o jsonpath='{.data.password}' | base64 -d)"
  [[ -n "$user" && -n "$password" && -n "$root" ]] || { echo "no MILVUS_USERNAME in python-ai-config, or Secret milvus-python-ai / milvus-root without a password"; return 1; }
  local -a cases=(
    "anonymous|:|refused-auth"
    "$user with a wrong password|$user:wrong-$password|refused-auth"
    "root with the default password Milvus|root:Milvus|refused-auth"
    "root with milvus-root's password|root:$root|accepted"
    "$user with milvus-python-ai's password|$user:$password|accepted"
  )
  local c what who want
  for c in "${cases[@]}"; do
    IFS='|' read -r what who want <<<"$c"
    got="$(_mauth_rpc "$who")"
    if [[ "$got" == "$want"* ]]; then
      echo "  ok   gRPC $what: $got"
    else
      echo "  FAIL gRPC $what: $got (want $want)"
      fail=1
    fi
  done
  # The application's user does its work, and no administration.
  got="$(qy_milvus_client "$user:milvus-python-ai" create)"
  if [[ "$got" == ok* ]]; then echo "  ok   $user: $got"; else echo "  FAIL $user create/insert/flush/index/load/search: $got"; fail=1; fi
  got="$(qy_milvus_client "$user:milvus-python-ai" admin)"
  if [[ "$got" == refused:*PERMISSION_DENIED* || "$got" == refused:*"permission deny"* ]]; then
    echo "  ok   $user listing Milvus's users: ${got:0:120}"
  else
    echo "  FAIL $user listing Milvus's users: $got (want a permission refusal)"
    fail=1
  fi
  ((fail == 0)) || { echo "Milvus authentication is not as the platform defines it"; return 1; }
  echo "Job $job complete; anonymous, wrong-password and default-root gRPC refused for their credentials; $user creates, inserts, indexes and searches, and is refused administration"
}
qy_check 16 "9-milvus-auth" check_milvus_auth
