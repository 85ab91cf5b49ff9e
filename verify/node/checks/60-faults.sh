# shellcheck shell=bash
# Check 6, faults, four PASS/FAIL lines:
#   6a redis-aof      a key written, redis-0 deleted: the key is there when it returns (AOF,
#                     SHUTDOWN on SIGTERM)
#   6b milvus-stop    a collection flushed, indexed and loaded (pymilvus from the host), then
#                     milvus-0 deleted: Milvus must exit on its own before its grace period
#                     (not SIGKILLed at the end of it), and the data is searchable again after
#   6c etcd-milvus    etcd-0 deleted: Milvus is healthy again within its probe budget (its
#                     liveness probe's periodSeconds x failureThreshold, counted from etcd-0
#                     Ready again), and it was not restarted
#   6d rollout-load   go-backend and python-ai restarted (rollout) under continuous request
#                     load through their Services from the edge's probe pod (a new connection
#                     per request, so kube-proxy picks a pod each time): failed requests
#                     counted, target 0 (preStop pause, readiness and maxUnavailable: 0 together)

# _fault_uid POD: the pod's uid (empty when it does not exist).
_fault_uid() { kc -n "$QY_NS" get pod "$1" -o jsonpath='{.metadata.uid}' 2>/dev/null; }
_fault_ready() { # POD OLD_UID: a new pod (other uid) is Ready
  local uid
  uid="$(_fault_uid "$1")"
  [[ -n "$uid" && "$uid" != "$2" ]] || return 1
  [[ "$(kc -n "$QY_NS" get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]]
}
# _fault_why POD: why the pod is not Ready: each container's state, and the last log lines of
# any container waiting (crashing) or terminated with an error.
_fault_why() {
  local pod="$1" name
  # shellcheck disable=SC2016 # JavaScript, not shell
  kc -n "$QY_NS" get pod "$pod" -o json 2>/dev/null | qy_json '[...(j.status.initContainerStatuses ?? []).map((c) => ["init", c]), ...(j.status.containerStatuses ?? []).map((c) => ["", c])].map(([k, c]) => `${k}${k ? ":" : ""}${c.name} restarts=${c.restartCount} ${JSON.stringify(c.state)}`).join("\n")' | sed 's/^/    /'
  while IFS= read -r name; do
    [[ -n "$name" ]] || continue
    echo "    last log lines of $name (previous run):"
    kc -n "$QY_NS" logs "$pod" -c "$name" --previous --tail=3 2>&1 | sed 's/^/      /'
  done < <(kc -n "$QY_NS" get pod "$pod" -o jsonpath='{range .status.initContainerStatuses[?(@.restartCount>0)]}{.name}{"\n"}{end}{range .status.containerStatuses[?(@.restartCount>0)]}{.name}{"\n"}{end}' 2>/dev/null)
}
_fault_restarts() { kc -n "$QY_NS" get pod "$1" -o jsonpath='{range .status.containerStatuses[*]}{.restartCount}{" "}{end}' | awk '{ for (i = 1; i <= NF; i++) n += $i } END { print n + 0 }'; }

check_redis_aof() {
  qy_platform_settled || return 1
  local key="qingyu:verify:aof" value uid got t0
  value="$(openssl rand -hex 16)"
  # As go-backend's own Redis user (the default user is off).
  got="$(qy_redis_cli go-backend SET "$key" "$value")"
  [[ "$got" == OK ]] || { echo "SET: $got"; return 1; }
  uid="$(_fault_uid redis-0)"
  t0=$SECONDS
  kc -n "$QY_NS" delete pod redis-0 --wait=true --timeout=120s >/dev/null || { echo "redis-0 was not deleted in 120s"; return 1; }
  local t_gone=$((SECONDS - t0))
  qy_wait 120 _fault_ready redis-0 "$uid" >/dev/null || { echo "redis-0 not Ready again within 120s"; kc -n "$QY_NS" describe pod redis-0 | tail -n 20; return 1; }
  got="$(qy_redis_cli go-backend GET "$key")"
  local aof
  aof="$(qy_redis_cli admin INFO persistence | grep -E '^(aof_enabled|loading_loaded_perc|aof_last_write_status):' | paste -sd' ')"
  [[ "$got" == "$value" ]] || { echo "after the restart $key is '$got', want the value written before ($aof)"; return 1; }
  qy_redis_cli go-backend DEL "$key" >/dev/null 2>&1 || true
  echo "the key written before the delete is back after the restart (stopped in ${t_gone}s, Ready again at $((SECONDS - t0))s; $aof)"
}

# _fault_milvus_client MODE: lib/milvus-client.py against milvus-0's address, as python-ai
# (qy_milvus_client).
_fault_milvus_client() { qy_milvus_client app "$1"; }

check_milvus_stop() {
  qy_platform_settled || return 1
  local grace before after uid t0 t_stop logs="$QY_NODE_WORK/logs/milvus-stop.log" lp
  grace="$(node "$QY_PIMG_SRC/lib/platform.mjs" grace "$QY_DIST" StatefulSet milvus)"
  before="$(_fault_milvus_client create)"
  [[ "$before" == ok* ]] || { echo "collection: $before"; return 1; }
  echo "  before: $before"
  uid="$(_fault_uid milvus-0)"
  kc -n "$QY_NS" logs -f milvus-0 -c milvus >"$logs" 2>&1 &
  lp=$!
  t0="$(_qy_node_now)"
  kc -n "$QY_NS" delete pod milvus-0 --wait=false >/dev/null || { kill "$lp"; return 1; }
  # The pod object goes when its container has exited (on its own, or SIGKILLed at the grace
  # period's end).
  while [[ "$(_fault_uid milvus-0)" == "$uid" ]]; do sleep 0.5; done
  t_stop="$(_qy_node_since "$t0")"
  kill "$lp" 2>/dev/null
  wait "$lp" 2>/dev/null
  local graceful
  graceful="$(grep -c 'graceful stop done' "$logs" || true)"
  echo "  milvus-0 stopped after ${t_stop}s (grace period ${grace}s); 'graceful stop done' logged: $graceful; log lines during the stop: $(awk '/Get signal to exit/ { f = 1 } f' "$logs" | grep -c .)"
  if ((graceful == 0)); then
    echo "  while stopping (most frequent): $(awk '/Get signal to exit/ { f = 1 } f' "$logs" | sed -E 's/^\[[^]]*\] //' | cut -c1-110 | sort | uniq -c | sort -rn | head -n 1)"
  fi
  local deadline=$((SECONDS + 300)) loops=""
  until _fault_ready milvus-0 "$uid"; do
    loops="$(qy_crashlooping milvus-0)"
    [[ -z "$loops" && $SECONDS -lt $deadline ]] || break
    sleep 1
  done
  if ! _fault_ready milvus-0 "$uid"; then
    echo "  milvus-0 after its restart:"
    _fault_why milvus-0
    if [[ -n "$loops" ]]; then echo "milvus-0 does not come back: crash-looping ($loops)"; else echo "milvus-0 not Ready again within 300s"; fi
    return 1
  fi
  after="$(_fault_milvus_client search)"
  echo "  after: $after"
  [[ "$after" == ok* && "${after##*nearest ids }" == "${before##*nearest ids }" ]] || { echo "the collection did not come back as it was"; return 1; }
  if ((graceful == 0)) || awk -v t="$t_stop" -v g="$grace" 'BEGIN { exit !(t >= g - 1) }'; then
    echo "Milvus did not finish its SIGTERM shutdown: killed at the end of its ${grace}s grace period (its QueryNode waits common.gracefulStopTimeout, 1800 s, for a segment handoff that cannot happen in standalone; set COMMON_GRACEFULSTOPTIMEOUT below the grace period)"
    return 1
  fi
  echo "Milvus exited on its own ${t_stop}s after SIGTERM (grace ${grace}s) with a loaded collection, which was searchable again after the restart"
}

# _fault_milvus_sampler OUT: every second, "SECONDS health ready restarts" of milvus-0, until
# killed.
_fault_milvus_sampler() {
  local h r
  while :; do
    h="$(qy_api_get "/api/v1/namespaces/$QY_NS/pods/milvus-0:9091/proxy/healthz" 2>/dev/null | tail -n 1)" || h=""
    r="$(kc -n "$QY_NS" get pod milvus-0 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.containerStatuses[0].restartCount}' 2>/dev/null)" || r="? ?"
    printf '%s %s %s\n' "$SECONDS" "${h:-down}" "$r" >>"$1"
    sleep 1
  done
}

check_etcd_milvus() {
  qy_platform_settled || return 1
  local budget uid t0 t_etcd restarts0 restarts1 samples="$QY_NODE_WORK/milvus-samples.txt" sampler
  budget="$(node "$QY_PIMG_SRC/lib/platform.mjs" probe-budget "$QY_DIST" StatefulSet milvus milvus livenessProbe)"
  restarts0="$(_fault_restarts milvus-0)"
  uid="$(_fault_uid etcd-0)"
  : >"$samples"
  _fault_milvus_sampler "$samples" &
  sampler=$!
  t0=$SECONDS
  kc -n "$QY_NS" delete pod etcd-0 --wait=true --timeout=120s >/dev/null || { kill "$sampler"; echo "etcd-0 was not deleted in 120s"; return 1; }
  local t_gone=$((SECONDS - t0))
  qy_wait 180 _fault_ready etcd-0 "$uid" >/dev/null || { kill "$sampler"; echo "etcd-0 not Ready again within 180s"; return 1; }
  t_etcd=$((SECONDS - t0))
  # Milvus healthy (its /healthz, and Ready) for 10 s in a row, within its budget (+30 s to see).
  local t_ok="" n_ok=0 deadline=$((SECONDS + budget + 30)) line
  while ((SECONDS < deadline)); do
    sleep 1
    line="$(tail -n 1 "$samples")"
    if [[ "$line" == *" OK True "* ]]; then
      n_ok=$((n_ok + 1))
      [[ -n "$t_ok" ]] || t_ok=$((${line%% *} - t0 - t_etcd))
      ((n_ok >= 10)) && break
    else
      n_ok=0
      t_ok=""
    fi
  done
  kill "$sampler" 2>/dev/null
  wait "$sampler" 2>/dev/null
  restarts1="$(_fault_restarts milvus-0)"
  local bad_first bad_last n_bad
  n_bad="$(awk '$2 != "OK" || $3 != "True"' "$samples" | grep -c . || true)"
  bad_first="$(awk -v t="$t0" '$2 != "OK" || $3 != "True" { print $1 - t; exit }' "$samples")"
  bad_last="$(awk -v t="$t0" '$2 != "OK" || $3 != "True" { l = $1 - t } END { print l }' "$samples")"
  echo "  etcd-0 deleted (gone at ${t_gone}s) and Ready again at ${t_etcd}s; Milvus unhealthy or unready in $n_bad of $(grep -c . "$samples") samples${bad_first:+ (from ${bad_first}s to ${bad_last}s)}; restarts $restarts0 -> $restarts1"
  [[ -n "$t_ok" && "$n_ok" -ge 10 ]] || { echo "Milvus not healthy ${budget}s (+30s) after etcd-0 returned: $(tail -n 1 "$samples")"; kc -n "$QY_NS" logs milvus-0 --tail=15 2>&1 | sed 's/^/    /'; return 1; }
  ((t_ok <= budget)) || { echo "Milvus healthy again ${t_ok}s after etcd-0 returned, over its probe budget of ${budget}s"; return 1; }
  ((restarts1 == restarts0)) || { echo "Milvus was restarted ($restarts0 -> $restarts1) on the way"; return 1; }
  echo "Milvus healthy ${t_ok}s after etcd-0 returned (budget ${budget}s: its liveness period x failureThreshold), not restarted"
}

# _fault_no_terminating_apps: no go-backend or python-ai pod is terminating.
_fault_no_terminating_apps() {
  ! kc -n "$QY_NS" get pods -l 'app.kubernetes.io/name in (go-backend,python-ai),!qingyu.verify/role' \
    -o jsonpath='{.items[*].metadata.deletionTimestamp}' | grep -q .
}

QY_LOAD_SECONDS="${QY_LOAD_SECONDS:-100}"
QY_LOAD_RPS="${QY_LOAD_RPS:-20}"

check_rollout_load() {
  qy_platform_settled || return 1
  local ns pod t0 fail=0 app
  read -r ns pod < <(qy_edge_client) || { echo "no edge client pod"; return 1; }
  local -A url=([go-backend]="http://go-backend.$QY_NS.svc.cluster.local:8080/" [python-ai]="http://python-ai.$QY_NS.svc.cluster.local:8081/")
  local out_dir="$QY_NODE_WORK/load"
  mkdir -p "$out_dir"
  t0=$SECONDS
  for app in go-backend python-ai; do
    kc -n "$ns" exec "$pod" -c probe -- /probe load "${url[$app]}" --duration "${QY_LOAD_SECONDS}s" --rps "$QY_LOAD_RPS" \
      --max-failures 0 --no-keepalive >"$out_dir/$app.out" 2>"$out_dir/$app.err" &
  done
  sleep 5
  kc -n "$QY_NS" rollout restart deployment/go-backend deployment/python-ai >/dev/null || { wait; return 1; }
  for app in go-backend python-ai; do
    kc -n "$QY_NS" rollout status "deployment/$app" --timeout=300s >/dev/null || { echo "$app did not roll out"; fail=1; }
  done
  local t_rolled=$((SECONDS - t0))
  # ... and the old pods gone (they serve until their preStop pause and drain are over).
  qy_wait 180 _fault_no_terminating_apps >/dev/null ||
    { echo "old pods still terminating"; fail=1; }
  local t_done=$((SECONDS - t0))
  wait
  ((t_done + 3 < QY_LOAD_SECONDS)) || { echo "the load (${QY_LOAD_SECONDS}s) ended before the rollouts were over (${t_done}s): raise QY_LOAD_SECONDS"; fail=1; }
  local summary line
  for app in go-backend python-ai; do
    summary="$(grep -E '^(ok|fail|unreachable|usage) load' "$out_dir/$app.out" | tail -n 1)"
    line="$(grep -oE 'sent=[0-9]+|ok=[0-9]+|failed=[0-9]+|dropped=[0-9]+|p99=[^ ]+|pods=[0-9]+' <<<"$summary" | paste -sd' ')"
    echo "  $app: $line"
    grep -E '^error ' "$out_dir/$app.out" | head -n 5 | sed 's/^/    /'
    [[ "$summary" == ok* ]] || fail=1
  done
  ((fail == 0)) || { echo "requests failed during the rollouts"; return 1; }
  echo "both Deployments rolled (${t_rolled}s, old pods gone at ${t_done}s) under ${QY_LOAD_RPS} rps each through their Services: 0 failed requests"
}
qy_check 61 "6a-redis-aof" check_redis_aof
qy_check 67 "6b-milvus-stop" check_milvus_stop
qy_check 63 "6c-etcd-milvus" check_etcd_milvus
qy_check 64 "6d-rollout-load" check_rollout_load
