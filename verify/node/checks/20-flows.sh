# shellcheck shell=bash
# Check 2, flows: the NetworkPolicies as kube-network-policies enforces them, judged from probe
# pods that wear a source's labels (in the source's namespace), 3 s connect timeout:
#   - every intended flow (the FlowTable's qingyu.io/flows annotations) connects;
#   - for every component, one flow it must not have as a source, and one as a destination, is
#     refused: the connection times out (dropped by the enforcer), to a port that listens;
#   - flows to the Kubernetes API server (the node's own address: not policed by this enforcer)
#     and to the internet (nothing leaves this machine) are reported UNPROVEN, not passed.
# A destination whose image is absent (MongoDB, Grafana) gets a listener pod wearing its labels
# on the ports of its flows (not Ready, so no Service sends it traffic), removed afterwards.
# Probe pods carry qingyu.verify/role (client|listener) and are deleted at the end.

QY_FLOWS_TIMEOUT="${QY_FLOWS_TIMEOUT:-3s}"
QY_FLOWS_PARALLEL="${QY_FLOWS_PARALLEL:-6}"

_flows_pod_name() { printf 'qy-flow-%s-%s\n' "$1" "$(printf '%s' "$2" | tr -c 'a-z0-9' '-' | sed 's/-\{2,\}/-/g; s/-$//' | cut -c1-30)"; }

# _flows_ip LABELS NAMESPACE: the IP of a Running pod with those labels: a platform pod, else
# the listener stand-in.
_flows_ip() {
  local ip
  ip="$(kc -n "$2" get pods -l "$1,!qingyu.verify/role" --field-selector=status.phase=Running \
    -o jsonpath='{range .items[?(@.status.podIP)]}{.status.podIP}{"\n"}{end}' | head -n 1)"
  [[ -n "$ip" ]] || ip="$(kc -n "$2" get pods -l "$1,qingyu.verify/role=listener" \
    -o jsonpath='{range .items[?(@.status.podIP)]}{.status.podIP}{"\n"}{end}' | head -n 1)"
  printf '%s\n' "$ip"
}

# _flows_try WANT SRC DST PORT IP CLIENT_NS CLIENT_POD: one connect from the source's probe pod;
# prints a result line "ok|FAIL WANT src -> dst:port (ip) detail".
_flows_try() {
  local want="$1" src="$2" dst="$3" port="$4" ip="$5" cns="$6" cpod="$7" out rc=0 verdict
  out="$(kc -n "$cns" exec "$cpod" -c probe -- /probe tcp "$ip:$port" --timeout "$QY_FLOWS_TIMEOUT" 2>/dev/null)" || rc=$?
  out="$(tail -n 1 <<<"$out")"
  [[ -n "$out" ]] || out="(no output: kubectl exec exit $rc)"
  if [[ "$want" == allow ]]; then
    if ((rc == 0)); then verdict=ok; else verdict=FAIL; fi
  else
    # Refused by the policy: the packets are dropped, so the connect times out. A "connection
    # refused" means the packet got through to a port without a listener: not a proof.
    if ((rc == 2)) && [[ "$out" == *timeout* ]]; then verdict=ok; else verdict=FAIL; fi
  fi
  printf '%s\t%s\t%s -> %s:%s (%s)\t%s\n' "$verdict" "$want" "$src" "$dst" "$port" "$ip" "$out"
}

# _flows_headroom: how many more pods the platform namespace's ResourceQuota admits (minus one
# for a rollout surge; 8 at most: the probe pods are made in batches of that size).
_flows_headroom() {
  local hard used
  read -r hard used < <(kc -n "$QY_NS" get resourcequota -o jsonpath='{range .items[*]}{.status.hard.pods} {.status.used.pods}{"\n"}{end}' | awk 'NF == 2' | sort -n | head -n 1)
  if [[ -z "$hard" ]]; then echo 8; return; fi
  local n=$((hard - used - 1))
  ((n > 8)) && n=8
  ((n < 1)) && n=1
  echo "$n"
}

# _flows_wait_running NS POD...: the probe pods' containers started (never Ready, on purpose).
_flows_wait_running() {
  local ns="$1" pod
  shift
  for pod in "$@"; do
    qy_wait 90 kc -n "$ns" wait --for=jsonpath='{.status.phase}'=Running "pod/$pod" --timeout=5s >/dev/null ||
      { echo "pod $pod did not start"; kc -n "$ns" describe pod "$pod" | tail -n 15; return 1; }
  done
}

check_flows() {
  local flows comps
  # The platform's pods settled first, so that a destination without a Running pod is one whose
  # image is absent.
  qy_platform_settled || return 1
  flows="$(node "$QY_PIMG_SRC/lib/platform.mjs" flows "$QY_DIST")" || return 1
  comps="$(node "$QY_PIMG_SRC/lib/platform.mjs" components "$QY_DIST")" || return 1
  local -A labels=() nsof=() podof=()
  local name ns lab src dst port purpose d p
  while IFS=$'\t' read -r name ns lab; do
    labels[$name]="$lab"
    nsof[$name]="$ns"
    podof[$name]="$(_flows_pod_name probe "$name")"
  done <<<"$comps"
  local extra_ns
  for extra_ns in $(printf '%s\n' "${nsof[@]}" | sort -u); do
    [[ "$extra_ns" == "$QY_NS" ]] && continue
    kc create namespace "$extra_ns" --dry-run=client -o yaml | kc apply -f - >/dev/null || return 1
  done

  # Destinations (component, ports) that listen; an absent one gets a listener pod wearing its
  # labels (kept for the whole check; it is also that component's client).
  local -A dports=() listen=()
  while IFS=$'\t' read -r src dst port purpose; do
    [[ -n "${labels[$dst]:-}" ]] && dports[$dst]+="$port "
  done <<<"$flows"
  local dir="$QY_NODE_WORK/manifests/flows"
  rm -rf "$dir" && mkdir -p "$dir"
  for d in "${!dports[@]}"; do
    dports[$d]="$(tr ' ' '\n' <<<"${dports[$d]}" | grep . | sort -un | paste -sd' ')"
    if [[ -z "$(_flows_ip "${labels[$d]}" "${nsof[$d]}")" ]]; then
      listen[$d]="${dports[$d]}"
      # shellcheck disable=SC2086 # the ports, one argument each
      qy_probe_pod listener "${podof[$d]}" "${nsof[$d]}" "${labels[$d]}" ${listen[$d]} >"$dir/listen-$d.yaml"
      echo "  listener stand-in for $d (absent) on ${listen[$d]// /, }"
    fi
  done
  if compgen -G "$dir/listen-*.yaml" >/dev/null; then
    cat "$dir"/listen-*.yaml | kc apply -f - >/dev/null || return 1
    for d in "${!listen[@]}"; do _flows_wait_running "${nsof[$d]}" "${podof[$d]}" || return 1; done
    sleep 1 # (their servers listening)
  fi

  # The tests: the intended flows, then the denied ones.
  local tests="$QY_NODE_WORK/flow-tests.tsv" unproven=() ip
  : >"$tests"
  while IFS=$'\t' read -r src dst port purpose; do
    if [[ -z "${labels[$src]:-}" ]]; then
      unproven+=("$src -> $dst:$port ($purpose): no pod of the source to test from")
      continue
    fi
    case "$dst" in
      "Kubernetes API server")
        unproven+=("$src -> $dst:$port ($purpose): the API server is the node's own address, which kube-network-policies does not police (it queues in postrouting only)")
        continue ;;
    esac
    if [[ -z "${labels[$dst]:-}" ]]; then
      unproven+=("$src -> $dst:$port ($purpose): outside the cluster, and nothing may leave this machine (the node drops forwarding off its bridge)")
      continue
    fi
    ip="$(_flows_ip "${labels[$dst]}" "${nsof[$dst]}")"
    printf 'allow\t%s\t%s\t%s\t%s\n' "$src" "$dst" "$port" "$ip" >>"$tests"
  done <<<"$flows"
  # Denied: for each component, the first (destination, port) it must not reach, and a source
  # that must not reach it (tried from the next name on, so that they vary), among destinations
  # that listen.
  local -A intended=() chosen=()
  while IFS=$'\t' read -r src dst port purpose; do intended["$src|$dst|$port"]=1; done <<<"$flows"
  local names=() c s i=0 j
  mapfile -t names < <(printf '%s\n' "${!labels[@]}" | sort)
  for c in "${names[@]}"; do
    for d in "${names[@]}"; do
      [[ "$d" == "$c" || -z "${dports[$d]:-}" ]] && continue
      for p in ${dports[$d]}; do
        if [[ -z "${intended["$c|$d|$p"]:-}" ]]; then
          chosen["$c|$d|$p"]=1
          break 2
        fi
      done
    done
    i=$((i + 1))
    [[ -n "${dports[$c]:-}" ]] || continue
    p="${dports[$c]%% *}"
    for ((j = 0; j < ${#names[@]}; j++)); do
      s="${names[$(((i + j) % ${#names[@]}))]}"
      [[ "$s" == "$c" ]] && continue
      if [[ -z "${intended["$s|$c|$p"]:-}" ]]; then
        chosen["$s|$c|$p"]=1
        break
      fi
    done
  done
  while IFS='|' read -r s d p; do
    [[ -n "$s" ]] || continue
    printf 'deny\t%s\t%s\t%s\t%s\n' "$s" "$d" "$p" "$(_flows_ip "${labels[$d]}" "${nsof[$d]}")" >>"$tests"
  done < <(printf '%s\n' "${!chosen[@]}" | sort)

  # Run them source by source, the client pods made in batches that the pod quota admits.
  local results="$QY_NODE_WORK/flow-results.tsv" sources=() batch=() want n size
  : >"$results"
  mapfile -t sources < <(cut -f2 "$tests" | sort -u)
  size="$(_flows_headroom)"
  local k=0
  while ((k < ${#sources[@]})); do
    batch=("${sources[@]:k:size}")
    k=$((k + size))
    local made=()
    for s in "${batch[@]}"; do
      [[ -n "${listen[$s]:-}" ]] && continue
      qy_probe_pod client "${podof[$s]}" "${nsof[$s]}" "${labels[$s]}" >"$dir/client-${podof[$s]}.yaml"
      kc apply -f "$dir/client-${podof[$s]}.yaml" >/dev/null || return 1
      made+=("$s")
    done
    for s in "${made[@]}"; do _flows_wait_running "${nsof[$s]}" "${podof[$s]}" || return 1; done
    n=0
    while IFS=$'\t' read -r want src dst port ip; do
      [[ " ${batch[*]} " == *" $src "* ]] || continue
      _flows_try "$want" "$src" "$dst" "$port" "${ip:-no-pod}" "${nsof[$src]}" "${podof[$src]}" >>"$results" &
      n=$((n + 1))
      if ((n % QY_FLOWS_PARALLEL == 0)); then wait; fi
    done < <(awk -F'\t' '{ print }' "$tests")
    wait
    for s in "${made[@]}"; do
      kc -n "${nsof[$s]}" delete pod "${podof[$s]}" --wait=true --timeout=60s >/dev/null 2>&1 || true
    done
  done
  for d in "${!listen[@]}"; do kc -n "${nsof[$d]}" delete pod "${podof[$d]}" --wait=false >/dev/null 2>&1 || true; done

  local verdict line detail n_allow n_deny n_bad
  while IFS=$'\t' read -r verdict want line detail; do
    printf '  %-4s %-5s %s  %s\n' "$verdict" "$want" "$line" "$detail"
  done < <(sort -t$'\t' -k2,2 -k3,3 "$results")
  local u
  for u in "${unproven[@]}"; do echo "  UNPROVEN $u"; done
  n_allow="$(awk -F'\t' '$1 == "ok" && $2 == "allow"' "$results" | grep -c . || true)"
  n_deny="$(awk -F'\t' '$1 == "ok" && $2 == "deny"' "$results" | grep -c . || true)"
  n_bad="$(awk -F'\t' '$1 != "ok"' "$results" | grep -c . || true)"
  ((n_bad == 0)) || { echo "$n_bad flow test(s) failed: $n_allow intended flows connected, $n_deny denied flows refused"; return 1; }
  echo "$n_allow intended flows connect, $n_deny flows the components must not have are refused (timeout $QY_FLOWS_TIMEOUT), ${#unproven[@]} unproven (API server, outside the cluster); client pods in batches of $size (pod quota)"
}
qy_check 20 "2-flows" check_flows
