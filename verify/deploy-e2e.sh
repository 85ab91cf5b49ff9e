#!/usr/bin/env bash
# End-to-end test of scripts/deploy.sh and scripts/rollback.sh against a real, throwaway
# Kubernetes (npm run verify:deploy):
#
#   etcd + kube-apiserver (as verify/cluster.sh) on 127.0.0.1 with the CRDs, then
#   kube-controller-manager, kube-scheduler and KWOK fake nodes (as QINGYU_VERIFY_ROLLOUT=1), so
#   Deployments and StatefulSets really roll out; the prerequisites a cluster brings (IngressClass
#   nginx, a default StorageClass with static volumes); scripts/create-secrets.sh and a
#   self-signed TLS Secret; then, for QINGYU_E2E_ENV (default development):
#     1. deploy --tag v1.0.0                         release 1, must be healthy
#     2. deploy --tag v1.0.1                         release 2, the app Deployments run v1.0.1
#     3. rollback                                    re-applies release 1: apps back on v1.0.0
#     4. rollback --apps-only                        rollout undo: apps on v1.0.1 again
#     5. deploy --release-dir (release 1 minus a ConfigMap and a PVC)
#                                                    the ConfigMap is pruned, no PVC is deleted
#
# Not proved here (no kubelet, no CNI, no operator, no metrics-server): images, probes, traffic.
# The metrics-server check is a warning in development (no APIService can be Available without
# a server behind it); the public /health check is skipped (--no-public-check: the Ingress host
# has no DNS and no ingress controller runs). Services whose Pods an operator makes (Prometheus)
# get a stand-in Pod so that the endpoint check sees what a real cluster would.
#
# Everything it starts is stopped on exit; QINGYU_RELEASES and KUBECONFIG point into its temp
# dir (~/.qingyu and ~/.kube are never touched). QINGYU_VERIFY_KEEP=1 keeps the temp dir and logs.
set -euo pipefail
QY_LOG_NAME=verify:deploy
# shellcheck source=verify/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=verify/lib/apiserver.sh
source "$QY_VERIFY_REPO/verify/lib/apiserver.sh"
# shellcheck source=verify/lib/e2e.sh
source "$QY_VERIFY_REPO/verify/lib/e2e.sh"

E2E_ENV="${QINGYU_E2E_ENV:-development}"
CONTEXT="qingyu-dev-e2e"
[[ $E2E_ENV == development ]] || CONTEXT="qingyu-$E2E_ENV-e2e"
started=$SECONDS

for tool in node openssl; do
  command -v "$tool" >/dev/null || qy_die "$tool is required"
done
[[ -d "$QY_VERIFY_SHARED/crds" ]] || qy_die "no CRDs at $QY_VERIFY_SHARED/crds (set QINGYU_SHARED)"

mapfile -t bins < <(bash "$QY_VERIFY_REPO/verify/build-apiserver.sh" --controllers)
[[ ${#bins[@]} -eq 4 ]] || qy_die "verify/build-apiserver.sh --controllers failed"
kube_apiserver="${bins[0]}/kube-apiserver"
kubectl_bin="${bins[0]}/kubectl"
etcd_bin="${bins[1]}/etcd"
# shellcheck source=verify/lib/rollout.sh
source "$QY_VERIFY_REPO/verify/lib/rollout.sh"

work="$(mktemp -d "${TMPDIR:-/tmp}/qingyu-deploy-e2e.XXXXXX")"
pids=()

trap cleanup_work EXIT
trap 'exit 130' INT TERM

# The scripts run with the kubectl built with the API server, this kubeconfig, and releases kept
# in the temp dir.
export PATH="${bins[0]}:$PATH"
export KUBECONFIG="$work/kubeconfig"
export KUBECACHEDIR="$work/kubecache"
export QINGYU_RELEASES="$work/releases"
export NO_COLOR=1
export QY_POLL_SECONDS=2
# Every `prompt` key of the catalogue (scripts/create-secrets.sh --help) gets a placeholder from
# the environment, as automation would give it (no URL resolves: .invalid).
qy_prompt_placeholders "$E2E_ENV" "https://e2e.invalid" "e2e-not-a-real-"
kc() { "$kubectl_bin" --request-timeout=60s "$@"; }
pki="$work/pki"

summary=()
# step NAME COMMAND...: runs COMMAND with its output in $work/logs/<n>.log, records the time;
# on failure shows the end of the log and exits.
step_number=0
step() {
  local name="$1" t0=$SECONDS rc=0 log
  shift
  step_number=$((step_number + 1))
  log="$work/logs/$(printf '%02d' "$step_number")-${name// /-}.log"
  mkdir -p "$work/logs"
  qy_log "[$step_number] $name"
  # In a background subshell, so that errexit holds inside COMMAND (it is off in an `||` list).
  (
    set -e
    "$@"
  ) >"$log" 2>&1 &
  wait "$!" || rc=$?
  if ((rc != 0)); then
    sed 's/^/    | /' "$log" | tail -n 80 >&2
    # For a post-mortem with QINGYU_VERIFY_KEEP=1: the namespace's workloads as the server has them.
    kc get deployments,replicasets,statefulsets,pods,endpointslices -n "${NS:-default}" -o yaml >"$work/logs/state.yaml" 2>&1 || true
    summary+=("$(printf '%-52s FAILED (exit %d, %ds)' "$name" "$rc" $((SECONDS - t0)))")
    print_summary
    qy_die "$name failed (exit $rc); its log is above${QINGYU_VERIFY_KEEP:+ and in $log}"
  fi
  summary+=("$(printf '%-52s ok %4ds' "$name" $((SECONDS - t0)))")
}

print_summary() {
  printf '\nverify:deploy (%s, kube-apiserver %s, %ds)\n' "$E2E_ENV" \
    "$("$kubectl_bin" version --client -o json | node -pe 'JSON.parse(require("fs").readFileSync(0)).clientVersion.gitVersion')" \
    $((SECONDS - started))
  printf '  %s\n' "${summary[@]}"
}

deploy() { bash "$QY_VERIFY_REPO/scripts/deploy.sh" --env "$E2E_ENV" --yes --no-public-check --timeout "${QINGYU_E2E_TIMEOUT:-3m}" "$@"; }
rollback() { bash "$QY_VERIFY_REPO/scripts/rollback.sh" --env "$E2E_ENV" --yes --no-public-check --timeout "${QINGYU_E2E_TIMEOUT:-3m}" "$@"; }

# ---- the cluster ----------------------------------------------------------------------------
setup_cluster() {
  # step runs this in a subshell: hand the ids of what it started to the main shell (the trap
  # of cleanup stops them), also when it fails half-way.
  trap 'printf "%s\n" "${pids[@]}" >"$work/pids"' EXIT
  make_pki "$pki" qingyu-e2e
  start_cluster "$work/cluster" "$pki" "$CONTEXT"
  start_controllers "$work/cluster" "${bins[2]}" "${bins[3]}"
  ROLLOUT_VOLUMES=20 ROLLOUT_STORAGE_CLASS=standard fake_nodes_and_volumes
  e2e_prerequisites
}

# The environment's rendered YAML (for its namespace and the stand-in Pods).
render() {
  qy_synth "$E2E_ENV" "$work/dist"
  qy_verify_facts "$work/dist" "$work/facts.tsv"
}

# A new environment: create-secrets.sh creates the namespace as the manifests define it (the
# deploy then takes it over) and the Secrets. The TLS Secret of the Ingress: self-signed.
prepare_namespace() {
  bash "$QY_VERIFY_REPO/scripts/create-secrets.sh" --env "$E2E_ENV" --release-dir "$work"
  kc get namespace "$NS" -o jsonpath='{.metadata.labels.pod-security\.kubernetes\.io/enforce}' | grep -qx restricted ||
    { echo "create-secrets.sh did not create namespace $NS with its Pod Security labels"; return 1; }
  # The stand-in Pods below run as the namespace's default ServiceAccount.
  local deadline=$((SECONDS + 60))
  until kc get serviceaccount default -n "$NS" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "no default ServiceAccount in $NS"; return 1; }
    sleep 0.5
  done
  local name type source host
  host="$(qy_facts ingress-host host | sed -n 1p)"
  while IFS=$'\t' read -r name type source; do
    [[ $type == kubernetes.io/tls && $source != cert-manager ]] || continue
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=${host:-localhost}" \
      -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
    kc create secret tls "$name" -n "$NS" --cert "$work/tls.crt" --key "$work/tls.key"
    rm -f "$work/tls.key" "$work/tls.crt"
  done < <(qy_facts secret name type source)
  e2e_standin_pods "$NS" "$work/dist"
}

release_status() { sed -n 's/^status=//p' "$QINGYU_RELEASES/$E2E_ENV/$1/release.env" | tail -1; }
live_release() { kc get namespace "$NS" -o jsonpath='{.metadata.annotations.qingyu\.io/release}'; }

# check_release ID STATUS TAG: release ID is recorded with STATUS, is live, the apps run TAG.
check_release() {
  local id="$1" status="$2" tag="$3" got
  got="$(release_status "$id")"
  [[ $got == "$status" ]] || { echo "release $id has status '$got', expected $status"; return 1; }
  got="$(live_release)"
  [[ $got == "$id" ]] || { echo "live release is '$got', expected $id"; return 1; }
  e2e_expect_tag "$NS" "$tag" "${APPS[@]}"
  echo "release $id $status and live; $(e2e_images "$NS")"
}

deploy_and_check() {
  local tag="$1" id="$2"
  deploy --tag "$tag"
  check_release "$id" succeeded "$tag"
}

rollback_and_check() {
  rollback
  local got
  got="$(live_release)"
  [[ $got == 1 ]] || { echo "live release is '$got' after the rollback, expected 1"; return 1; }
  [[ $(release_status 2) == rolled-back ]] || { echo "release 2 is not marked rolled-back"; return 1; }
  e2e_expect_tag "$NS" v1.0.0 "${APPS[@]}"
  echo "release 1 live again; $(e2e_images "$NS")"
}

apps_only_and_check() {
  rollback --apps-only
  e2e_expect_tag "$NS" v1.0.1 "${APPS[@]}"
  kc get namespace "$NS" -o jsonpath='{.metadata.annotations.qingyu\.io/drift}' | grep -q 'rollout undo' ||
    { echo "the namespace has no drift annotation after rollout undo"; return 1; }
  echo "apps back on the previous revision; $(e2e_images "$NS")"
}

# A release rendered from release 1 without one ConfigMap and one standalone PVC: the deploy must
# prune the ConfigMap (an ApplySet member) and must not delete any PVC (never pruned).
PRUNE_CONFIGMAP=''
PRUNE_PVC=''
prune_and_check() {
  local dir="$work/release-pruned" before after
  mkdir -p "$dir"
  cp -R "$QINGYU_RELEASES/$E2E_ENV/1/dist" "$dir/dist"
  cp "$QINGYU_RELEASES/$E2E_ENV/1/release.env" "$dir/release.env"
  read -r PRUNE_CONFIGMAP PRUNE_PVC < <(node -e '
    const fs = require("fs"), path = require("path"), YAML = require(process.argv[2]);
    const dir = process.argv[1];
    let cm = "", pvc = "";
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();
    for (const f of files) {
      const docs = fs.readFileSync(path.join(dir, f), "utf8").split(/^---$/m);
      const kept = docs.filter((text) => {
        const o = YAML.parse(text);
        if (!o) return true;
        if (!cm && o.kind === "ConfigMap" && o.metadata.namespace && !o.metadata.name.startsWith("qingyu-")) { cm = o.metadata.name; return false; }
        if (!pvc && o.kind === "PersistentVolumeClaim") { pvc = o.metadata.name; return false; }
        return true;
      });
      fs.writeFileSync(path.join(dir, f), kept.join("---"));
    }
    console.log(cm || "-", pvc || "-");' "$dir/dist" "$QY_VERIFY_REPO/node_modules/yaml")
  [[ $PRUNE_CONFIGMAP != - ]] || { echo "release 1 has no ConfigMap to remove"; return 1; }
  kc get configmap "$PRUNE_CONFIGMAP" -n "$NS" -o name
  before="$(kc get pvc -n "$NS" -o name | sort)"
  # Step 4's `kubectl rollout undo` owns the app images now: the deploy must see the drift and
  # take them back by itself (no --force-conflicts here).
  deploy --release-dir "$dir"
  if kc get configmap "$PRUNE_CONFIGMAP" -n "$NS" -o name 2>/dev/null; then
    echo "ConfigMap $PRUNE_CONFIGMAP is still in the cluster: it was not pruned"
    return 1
  fi
  after="$(kc get pvc -n "$NS" -o name | sort)"
  if [[ $before != "$after" ]]; then
    echo "PVCs changed: before:"$'\n'"$before"$'\n'"after:"$'\n'"$after"
    return 1
  fi
  e2e_expect_tag "$NS" v1.0.0 "${APPS[@]}"
  local live
  live="$(live_release)"
  [[ $(release_status "$live") == succeeded ]] || { echo "release $live is not succeeded"; return 1; }
  echo "ConfigMap $PRUNE_CONFIGMAP pruned; $(grep -c . <<<"$after") PVCs kept (including ${PRUNE_PVC}, no longer in the manifests); release $live live"
}

step "start the cluster, controllers, KWOK nodes" setup_cluster
mapfile -t pids <"$work/pids"
step "render $E2E_ENV" render
QY_FACTS="$work/facts.tsv"
NS="$(qy_facts namespace name | sed -n 1p)"
mapfile -t APPS < <(qy_facts app-deployment name)
[[ -n $NS && ${#APPS[@]} -gt 0 ]] || qy_die "cannot tell the namespace and the app Deployments of $E2E_ENV"
step "namespace, create-secrets.sh, TLS Secret" prepare_namespace
step "deploy.sh --tag v1.0.0 (release 1)" deploy_and_check v1.0.0 1
step "deploy.sh --tag v1.0.1 (release 2)" deploy_and_check v1.0.1 2
step "rollback.sh (re-apply release 1)" rollback_and_check
step "rollback.sh --apps-only (rollout undo)" apps_only_and_check
step "deploy.sh --release-dir (prune one ConfigMap)" prune_and_check

print_summary
qy_log "passed"
