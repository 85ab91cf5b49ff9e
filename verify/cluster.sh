#!/usr/bin/env bash
# Prove the synthesized YAML of every environment against a real Kubernetes API server.
#
#   bash verify/cluster.sh            (npm run verify:cluster)
#
# Per environment, on a fresh etcd + kube-apiserver (built from source by
# verify/build-apiserver.sh, cached), listening on 127.0.0.1 only, with the CRDs from
# ../shared/crds installed and Established:
#   1. the namespaces made for real, the dist's own Namespace objects applied as a deploy applies
#      them (with their Pod Security labels: restricted), and a probe: a Deployment that breaks
#      Pod Security restricted must draw the server's warning in each of them;
#      then a server-side dry run of all files, in file order, with strict field validation,
#      so that Pod Security judges every pod template under the dist's own labels;
#   2. server-side apply for real, every object read back, a second apply that changes no
#      object, a third that writes nothing (resourceVersions stay), an empty `kubectl diff`;
#   3. with QINGYU_VERIFY_ROLLOUT=1: controllers, scheduler and KWOK fake nodes, every
#      Deployment and StatefulSet rolled out and restarted (lib/rollout.sh).
# Any rejection, and any "Warning:" from the server (deprecated API, PodSecurity on a pod
# template, unknown field...), fails the run. Everything it starts is stopped on exit.
#
# Environment: QINGYU_CACHE (binaries; default ~/.cache/qingyu), QINGYU_SHARED (default
# ../shared), QINGYU_VERIFY_ENVS (default "production staging development"),
# QINGYU_VERIFY_DIST (check this YAML instead of synthesizing; see lib/common.sh),
# QINGYU_VERIFY_KEEP=1 (keep the work dir and logs for a post-mortem),
# QINGYU_VERIFY_ROLLOUT=1 (also run controllers, scheduler and KWOK fake nodes and wait for every
# Deployment and StatefulSet to roll out: see lib/rollout.sh).
set -euo pipefail
QY_LOG_NAME=verify:cluster
# shellcheck source=verify/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=verify/lib/apiserver.sh
source "$QY_VERIFY_REPO/verify/lib/apiserver.sh"

# The deploy's field manager (scripts/lib/common.sh), so the proof applies the way a deploy does.
FIELD_MANAGER="$QY_FIELD_MANAGER"
started=$SECONDS

for tool in node openssl diff; do
  command -v "$tool" >/dev/null || qy_die "$tool is required"
done
[[ -d "$QY_VERIFY_SHARED/crds" ]] || qy_die "no CRDs at $QY_VERIFY_SHARED/crds (set QINGYU_SHARED)"

rollout_check=false
[[ "${QINGYU_VERIFY_ROLLOUT:-}" == 1 ]] && rollout_check=true
build_args=()
$rollout_check && build_args=(--controllers)
mapfile -t bins < <(bash "$QY_VERIFY_REPO/verify/build-apiserver.sh" "${build_args[@]}")
[[ ${#bins[@]} -ge 2 ]] || qy_die "verify/build-apiserver.sh failed"
kube_apiserver="${bins[0]}/kube-apiserver"
kubectl_bin="${bins[0]}/kubectl"
etcd_bin="${bins[1]}/etcd"
if $rollout_check; then
  [[ ${#bins[@]} -eq 4 ]] || qy_die "verify/build-apiserver.sh --controllers failed"
  # shellcheck source=verify/lib/rollout.sh
  source "$QY_VERIFY_REPO/verify/lib/rollout.sh"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/qingyu-cluster.XXXXXX")"
pids=()

trap cleanup_work EXIT
trap 'exit 130' INT TERM

# Never read or write the user's kubeconfig or kubectl cache.
export KUBECONFIG="$work/kubeconfig"
export KUBECACHEDIR="$work/kubecache"
kc() { "$kubectl_bin" --request-timeout=60s "$@"; }

pki="$work/pki"
make_pki "$pki" qingyu-verify

# pod_security_probe LOGDIR NAMESPACE: the premise of the dry run, proved: a Deployment whose pod
# template breaks Pod Security restricted (no securityContext at all) draws the server's warning in
# NAMESPACE. Retried for up to 10 s: admission reads namespaces from a cache that can lag the
# labels just written.
pod_security_probe() {
  local log="$1/pod-security-probe-$2" n
  for ((n = 0; n < 20; n++)); do
    kc create --dry-run=server -n "$2" -f - >"$log.out" 2>"$log.err" <<'EOF' || true
apiVersion: apps/v1
kind: Deployment
metadata:
  name: qingyu-verify-pod-security-probe
spec:
  selector:
    matchLabels:
      app: qingyu-verify-pod-security-probe
  template:
    metadata:
      labels:
        app: qingyu-verify-pod-security-probe
    spec:
      containers:
        - name: probe
          image: registry.invalid/probe:0
EOF
    grep -q 'would violate PodSecurity "restricted' "$log.err" && return 0
    sleep 0.5
  done
  qy_log "namespace $2: a pod template that breaks Pod Security restricted drew no warning:"
  sed 's/^/    /' "$log.err" "$log.out" >&2
  return 1
}

# checked LOGFILE KUBECTL-ARGS...: run kubectl; fail on a non-zero exit or any warning.
checked() {
  local log="$1"
  shift
  local rc=0
  kc "$@" >"$log.out" 2>"$log.err" || rc=$?
  if ((rc != 0)) || grep -q 'Warning:' "$log.err"; then
    printf '  kubectl %s\n' "$*" >&2
    sed 's/^/    /' "$log.err" "$log.out" >&2
    return 1
  fi
}

# prove ENV: synth and prove one environment; returns non-zero on the first failure.
prove() {
  local env="$1" t0=$SECONDS
  local dir="$work/$env"
  local dist="$dir/dist"
  mkdir -p "$dir/logs"
  qy_synth "$env" "$dist"
  qy_verify_facts "$dist" "$dir/facts.tsv"
  local count
  count="$(qy_facts object name | wc -l)"
  ((count > 0)) || { qy_log "$env: no objects"; return 1; }

  export KUBECONFIG="$dir/cluster/kubeconfig"
  start_cluster "$dir/cluster" "$pki" verify

  # Namespaces first, for real: every namespace the objects name must exist before a dry run,
  # and a dry run persists nothing, so a Namespace dry-run with the rest would leave its Pod
  # Security labels unset and nothing would be judged. The dist's own Namespace objects are
  # applied as written, as a deploy applies them before the rest (scripts/lib/apply.sh); a
  # namespace the objects only name is created with enforce=restricted. warn=<enforce level> is
  # added where the dist sets none: warn makes the server judge pod templates (Deployments,
  # StatefulSets), which enforce alone does not (it judges Pods, and no controller makes Pods
  # here). The platform enforces restricted: the live labels must say so, and a probe proves
  # that the server judges pod templates under them before the dry run counts.
  local ssa=(apply --server-side "--field-manager=$FIELD_MANAGER" --validate=strict)
  qy_manifests namespace "$dist" >"$dir/namespaces.yaml" || return 1
  if [[ -s "$dir/namespaces.yaml" ]]; then
    checked "$dir/logs/namespaces" "${ssa[@]}" -f "$dir/namespaces.yaml" ||
      { qy_log "$env: the dist's Namespaces were rejected"; return 1; }
  fi
  local ns declared enforce warn live name
  while IFS= read -r ns; do
    declared='' enforce=- warn=-
    while IFS=$'\t' read -r name enforce warn; do
      [[ $name == "$ns" ]] && declared=yes && break
    done < <(qy_facts pod-security namespace enforce warn)
    [[ -n $declared ]] || enforce=- warn=-
    [[ -n "$declared" ]] || kc create namespace "$ns" >/dev/null || return 1
    if [[ -z "$declared" || "$enforce" == - ]]; then
      enforce=restricted
      kc label namespace "$ns" pod-security.kubernetes.io/enforce=restricted >/dev/null || return 1
    fi
    if [[ -z "$declared" || "$warn" == - ]]; then
      kc label namespace "$ns" "pod-security.kubernetes.io/warn=$enforce" >/dev/null || return 1
    fi
    live="$(kc get namespace "$ns" \
      -o 'jsonpath={.metadata.labels.pod-security\.kubernetes\.io/enforce} {.metadata.labels.pod-security\.kubernetes\.io/warn}')" ||
      return 1
    if [[ "$live" != "restricted restricted" ]]; then
      qy_log "$env: namespace $ns has Pod Security enforce and warn '$live'; the platform requires restricted for both"
      return 1
    fi
    pod_security_probe "$dir/logs" "$ns" || return 1
  done < <(qy_facts namespace name)

  # One kubectl call per step over the whole directory: kubectl reads a directory's files in
  # name order, which is the apply order the file numbers give.
  local apply=("${ssa[@]}" -f "$dist")
  checked "$dir/logs/dry-run" "${apply[@]}" --dry-run=server ||
    { qy_log "$env: rejected by the server dry run (Pod Security restricted judges every pod template)"; return 1; }
  checked "$dir/logs/apply-1" "${apply[@]}" ||
    { qy_log "$env: rejected on apply"; return 1; }

  local columns='-o=custom-columns=KIND:.kind,NAMESPACE:.metadata.namespace,NAME:.metadata.name,RV:.metadata.resourceVersion'
  checked "$dir/logs/get-1" get "$columns" --no-headers -f "$dist" ||
    { qy_log "$env: reading the objects back failed"; return 1; }
  local listed
  listed="$(wc -l <"$dir/logs/get-1.out")"
  ((listed == count)) || { qy_log "$env: $count objects in the files, $listed read back"; return 1; }

  # Idempotency. Apply 2 may not change any object's content (a field the server keeps
  # rewriting, a default the YAML fights); apply 3 may not write at all (resourceVersions stay).
  # Apply 2 may still bump a resourceVersion with no visible change: the API server re-encodes a
  # PersistentVolumeClaim on its first update after create (seen on 1.30), so the strict
  # resourceVersion check is made on apply 3.
  dump() { kc get -f "$dist" -o yaml --show-managed-fields >"$1" 2>"$1.err"; }
  normalized() { grep -Ev '^ *(resourceVersion: "[0-9]+"|(- )?time: "[0-9T:Z-]+")$' "$1"; }
  dump "$dir/logs/after-1.yaml" || { qy_log "$env: reading the objects back failed"; return 1; }
  local pass
  for pass in 2 3; do
    checked "$dir/logs/apply-$pass" "${apply[@]}" ||
      { qy_log "$env: rejected on apply $pass"; return 1; }
    dump "$dir/logs/after-$pass.yaml" || { qy_log "$env: reading the objects back failed"; return 1; }
    checked "$dir/logs/get-$pass" get "$columns" --no-headers -f "$dist" || return 1
  done
  if ! diff -u <(normalized "$dir/logs/after-1.yaml") <(normalized "$dir/logs/after-2.yaml") >"$dir/logs/content.diff"; then
    qy_log "$env: a second apply of the same YAML changed objects:"
    sed -n '3,80s/^/    /p' "$dir/logs/content.diff" >&2
    return 1
  fi
  if ! diff -u "$dir/logs/get-2.out" "$dir/logs/get-3.out" >"$dir/logs/rv.diff"; then
    qy_log "$env: a third apply of the same YAML still wrote objects (resourceVersion moved):"
    sed 's/^/    /' "$dir/logs/rv.diff" >&2
    return 1
  fi

  local rc=0
  kc diff --server-side "--field-manager=$FIELD_MANAGER" -f "$dist" >"$dir/logs/diff.out" 2>"$dir/logs/diff.err" || rc=$?
  if ((rc != 0)) || [[ -s "$dir/logs/diff.out" ]] || grep -q 'Warning:' "$dir/logs/diff.err"; then
    qy_log "$env: kubectl diff after apply is not empty (exit $rc):"
    sed 's/^/    /' "$dir/logs/diff.err" "$dir/logs/diff.out" >&2
    return 1
  fi

  local rolled=""
  if $rollout_check; then
    start_controllers "$dir/cluster" "${bins[2]}" "${bins[3]}" || return 1
    fake_nodes_and_volumes || { qy_log "$env: could not create the fake nodes and volumes"; return 1; }
    rollout_and_restart "$env" "$dir" || return 1
    rolled="; $rollout_summary"
  fi

  stop_cluster
  summary+=("$(printf '%-12s %3d objects accepted: dry run under Pod Security restricted, apply, read back, re-apply unchanged, diff empty%s (%ds)' \
    "$env" "$count" "$rolled" $((SECONDS - t0)))")
}

summary=()
failed=()
for env in "${QY_VERIFY_ENVS[@]}"; do
  qy_log "$env: synth and prove"
  if ! prove "$env"; then
    failed+=("$env")
    summary+=("$(printf '%-12s FAILED (see above)' "$env")")
    stop_cluster
  fi
done

printf '\nverify:cluster (kube-apiserver %s, %ds)\n' "$("$kubectl_bin" version --client -o json | node -pe 'JSON.parse(require("fs").readFileSync(0)).clientVersion.gitVersion')" \
  $((SECONDS - started))
printf '  %s\n' "${summary[@]}"
((${#failed[@]} == 0)) || qy_die "rejected: ${failed[*]}"
