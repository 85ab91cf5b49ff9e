# shellcheck shell=bash
# Check 4, gRPC spread: go-backend's calls to python-ai over AI_SERVICE_URL (dns:/// of the
# headless python-ai-grpc Service, round_robin) reach every python-ai pod, from every go-backend
# pod. Each go-backend pod is asked (GET /api/v1/spread?calls=30, through the API server's pod
# proxy) to make 30 calls over its one client; the calls themselves are pod-to-pod, under the
# NetworkPolicies.
# A go-backend pod that started while fewer python-ai pods were ready resolved fewer addresses,
# and gRPC resolves again only when a connection ends: python-ai's server closes each connection
# after its MaxConnectionAge (the stand-in's STANDIN_GRPC_MAX_CONNECTION_AGE, 5 min, + 30 s grace:
# the contract's "~5 min"), so the check retries every 10 s until that long after the last
# python-ai pod became Ready, and says how long the spread took. Never spreading fails.

QY_SPREAD_REFRESH_SECONDS="${QY_SPREAD_REFRESH_SECONDS:-340}"

# _spread_ready_since PODS...: seconds since the last of these pods became Ready.
_spread_ready_since() {
  local pod t latest=0 now
  now="$(date +%s)"
  for pod in "$@"; do
    t="$(kc -n "$QY_NS" get pod "$pod" -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastTransitionTime}')"
    t="$(date -d "$t" +%s 2>/dev/null || echo "$now")"
    ((t > latest)) && latest=$t
  done
  echo $((now - latest))
}

# _spread_once: one round over the caller's backend_pods and ai_pods; an "ok" or "FAIL" line per
# go-backend pod.
_spread_once() {
  local pod body verdict
  for pod in "${backend_pods[@]}"; do
    body="$(qy_api_get "/api/v1/namespaces/$QY_NS/pods/$pod:8080/proxy/api/v1/spread?calls=30" 2>&1)" || {
      echo "  $pod -> FAIL /api/v1/spread failed: $body"
      continue
    }
    # shellcheck disable=SC2016 # JavaScript, not shell
    verdict="$(printf '%s' "$body" | qy_json '(() => {
      const want = process.argv[2].split(" ");
      const got = Object.keys(j.pods ?? {}).sort();
      const ok = j.errors === 0 && want.every((p) => got.includes(p)) && got.length === want.length;
      return (ok ? "ok " : "FAIL ") + `calls=${j.calls} errors=${j.errors} distinct=${j.distinct} by_pod=` + got.map((p) => `${p}:${j.pods[p]}`).join(",") + (j.first_error ? ` first_error=${j.first_error}` : "");
    })()' "${ai_pods[*]}")"
    echo "  $pod -> $verdict"
  done
}

check_grpc_spread() {
  local ai_pods backend_pods n_ai url out since waited=0 t0=$SECONDS
  qy_platform_settled || return 1
  url="$(kc -n "$QY_NS" get configmap go-backend-config -o jsonpath='{.data.AI_SERVICE_URL}')"
  mapfile -t ai_pods < <(kc -n "$QY_NS" get pods -l 'app.kubernetes.io/name=python-ai,!qingyu.verify/role' --field-selector=status.phase=Running -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort)
  mapfile -t backend_pods < <(kc -n "$QY_NS" get pods -l 'app.kubernetes.io/name=go-backend,!qingyu.verify/role' --field-selector=status.phase=Running -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort)
  n_ai="${#ai_pods[@]}"
  ((n_ai == QY_PLATFORM_APP_REPLICAS)) || { echo "$n_ai python-ai pods Running, want $QY_PLATFORM_APP_REPLICAS"; return 1; }
  since="$(_spread_ready_since "${ai_pods[@]}")"
  while :; do
    out="$(_spread_once)"
    ! grep -q -- '-> FAIL' <<<"$out" && break
    if ((since + SECONDS - t0 >= QY_SPREAD_REFRESH_SECONDS)); then
      printf '%s\n' "$out"
      echo "go-backend's gRPC calls do not reach all $n_ai python-ai pods ${QY_SPREAD_REFRESH_SECONDS}s after the last became Ready (python-ai's MaxConnectionAge + grace should have made every client resolve again)"
      return 1
    fi
    waited=1
    sleep 10
  done
  printf '%s\n' "$out"
  if ((waited)); then
    echo "every go-backend pod's 30 calls over $url reached all $n_ai python-ai pods, 0 errors (after $((SECONDS - t0))s of retries, until the clients that had resolved fewer pods resolved again; the last python-ai pod Ready $((since + SECONDS - t0))s before, bound ${QY_SPREAD_REFRESH_SECONDS}s)"
  else
    echo "every go-backend pod's 30 calls over $url reached all $n_ai python-ai pods, 0 errors"
  fi
}
qy_check 40 "4-grpc-spread" check_grpc_spread
