# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034,SC2016,SC2001 # pki, pids come from cluster.sh, which reads rollout_summary; node -e scripts are single-quoted on purpose
# The optional rollout check of verify/cluster.sh (QINGYU_VERIFY_ROLLOUT=1), sourced by it: on the
# running API server, start kube-controller-manager, kube-scheduler and KWOK (fake nodes: no
# kubelet, no containers), give the cluster fake nodes in three zones and static volumes, and wait
# for every Deployment and StatefulSet to roll out, then to roll out again after
# `kubectl rollout restart` (an update fits: surge Pods within the quota, disruption budgets).
# This proves what the API server alone cannot:
# the controllers can create the Pods (Pod Security "enforce", ResourceQuota, LimitRange are
# applied to real Pods), the scheduler can place them (requests, anti-affinity, topology spread),
# and the claims bind. Images never run: readiness is KWOK's.
#
# Uses from cluster.sh: kc, pids, pki, qy_free_port, qy_log, and the binaries' directories.

ROLLOUT_NODES=6        # two per zone
ROLLOUT_VOLUMES=40     # static PersistentVolumes for the claims
ROLLOUT_STORAGE_CLASS="" # their class: none binds to claims that name none (and no default class)
ROLLOUT_TIMEOUT=180    # seconds for all rollouts of one environment
# Pod IPs KWOK hands out: not loopback, which EndpointSlices reject (Services would get no
# endpoints). Nothing listens on them; no packet is sent.
ROLLOUT_POD_CIDR=10.244.0.1/16

# kube_controller_manager DIR CTL_BIN LOGNAME CONTROLLERS
kube_controller_manager() {
  "$2/kube-controller-manager" --kubeconfig "$KUBECONFIG" \
    --bind-address 127.0.0.1 --secure-port "$(qy_free_port)" \
    --authentication-kubeconfig "$KUBECONFIG" --authorization-kubeconfig "$KUBECONFIG" \
    --leader-elect=false --use-service-account-credentials=false \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --controllers "$4" >"$1/$3.log" 2>&1 &
  pids+=("$!")
}

# start_controllers DIR CTL_BIN KWOK_BIN
start_controllers() {
  local dir="$1" ctl="$2" kwok="$3"
  # An explicit (default) config, so that KWOK never reads ~/.kwok.
  printf 'apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions: {}\n' >"$dir/kwok.yaml"

  # A ResourceQuota constrains nothing until the quota controller has written its status, and
  # the workload controllers would create every Pod before that: so first the quota controller
  # alone, until each quota has a status, then everything.
  kube_controller_manager "$dir" "$ctl" quota-controller resourcequota
  local quota_pid="${pids[-1]}" deadline=$((SECONDS + 60))
  until kc get resourcequotas -A -o json 2>/dev/null | node -e '
      const items = JSON.parse(require("fs").readFileSync(0, "utf8")).items;
      process.exit(items.every((q) => q.status?.hard && q.status?.used) ? 0 : 1)'; do
    ((SECONDS < deadline)) || { qy_log "the quota controller did not fill in the ResourceQuotas' status"; return 1; }
    sleep 1
  done
  kill "$quota_pid"
  wait "$quota_pid" 2>/dev/null || true
  unset 'pids[-1]'

  kube_controller_manager "$dir" "$ctl" controller-manager '*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route'
  "$ctl/kube-scheduler" --kubeconfig "$KUBECONFIG" \
    --bind-address 127.0.0.1 --secure-port "$(qy_free_port)" \
    --authentication-kubeconfig "$KUBECONFIG" --authorization-kubeconfig "$KUBECONFIG" \
    --leader-elect=false >"$dir/scheduler.log" 2>&1 &
  pids+=("$!")
  # Node leases that KWOK renews: without them the node lifecycle controller marks the fake
  # nodes (and so every Pod) NotReady 40 s after they are created, and a slow rollout never ends.
  "$kwok/kwok" --kubeconfig "$KUBECONFIG" --config "$dir/kwok.yaml" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-ip 127.0.0.1 --cidr "$ROLLOUT_POD_CIDR" --server-address 127.0.0.1:"$(qy_free_port)" \
    --node-lease-duration-seconds 40 \
    >"$dir/kwok.log" 2>&1 &
  pids+=("$!")
}

# fake_nodes_and_volumes: nodes in zones a, b, c; ROLLOUT_VOLUMES PersistentVolumes of the class
# ROLLOUT_STORAGE_CLASS (none by default: they bind to claims that name no class).
fake_nodes_and_volumes() {
  local i zones=(a b c) manifest=""
  for ((i = 0; i < ROLLOUT_NODES; i++)); do
    manifest+="apiVersion: v1
kind: Node
metadata:
  name: fake-$i
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: \"0\"}
  labels:
    kubernetes.io/hostname: fake-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
    topology.kubernetes.io/zone: zone-${zones[i % 3]}
    topology.kubernetes.io/region: verify
status:
  allocatable: {cpu: \"32\", memory: 128Gi, pods: \"110\", ephemeral-storage: 1Ti}
  capacity: {cpu: \"32\", memory: 128Gi, pods: \"110\", ephemeral-storage: 1Ti}
---
"
  done
  for ((i = 0; i < ROLLOUT_VOLUMES; i++)); do
    manifest+="apiVersion: v1
kind: PersistentVolume
metadata: {name: fake-pv-$i}
spec:${ROLLOUT_STORAGE_CLASS:+
  storageClassName: $ROLLOUT_STORAGE_CLASS}
  capacity: {storage: 4Ti}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Delete
  hostPath: {path: /nonexistent/fake-pv-$i}
---
"
  done
  kc apply --server-side --field-manager=qingyu-verify -f - <<<"$manifest" >/dev/null
}

# rollout ENV DIR: wait until every Deployment and StatefulSet has all its replicas updated and
# ready; 0 when they do. Fails at once when a controller could not create a Pod (FailedCreate:
# Pod Security, quota, limit range...), else after ROLLOUT_TIMEOUT. A FailedCreate that is only
# a write conflict ("the object has been modified": two controllers charged the same
# ResourceQuota at once) is retried by the controller, so it is no verdict: if it never
# resolves, the timeout says so.
rollout() {
  local env="$1" dir="$2"
  local deadline=$((SECONDS + ROLLOUT_TIMEOUT)) waiting="" failed="" since
  since="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  while :; do
    waiting="$(kc get deployments,statefulsets -A -o json 2>/dev/null | node -e '
      const items = JSON.parse(require("fs").readFileSync(0, "utf8")).items;
      for (const o of items) {
        const want = o.spec.replicas ?? 1, s = o.status ?? {};
        const done = (s.observedGeneration ?? 0) >= o.metadata.generation &&
          (s.updatedReplicas ?? 0) >= want && (s.readyReplicas ?? 0) >= want;
        if (!done) console.log(`${o.kind}/${o.metadata.name}: ${s.readyReplicas ?? 0}/${want} ready`);
      }')" || waiting="(could not read the workloads)"
    failed="$(kc get events -A --field-selector reason=FailedCreate --no-headers \
      -o custom-columns=OBJECT:.involvedObject.name,MESSAGE:.message 2>/dev/null |
      { grep -v 'the object has been modified; please apply your changes' || true; } | sort -u)"
    [[ -z "$waiting" || -n "$failed" ]] && break
    ((SECONDS < deadline)) || break
    sleep 2
  done
  if [[ -n "$waiting" || -n "$failed" ]]; then
    qy_log "$env: the workloads did not roll out:"
    [[ -z "$waiting" ]] || sed 's/^/    /' <<<"$waiting" >&2
    # The reasons: Pods that could not be created or scheduled, in this rollout (not the
    # "no nodes available" of the Pods that came before the fake nodes, nor an earlier rollout's).
    # The scheduler's events have an eventTime and no lastTimestamp.
    kc get events -A --field-selector type=Warning -o json 2>/dev/null | SINCE="$since" node -e '
      let items = [];
      try { items = JSON.parse(require("fs").readFileSync(0, "utf8")).items; } catch {}
      for (const e of items) {
        const last = e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? "";
        if (new Date(last) >= new Date(process.env.SINCE) && !/metrics/.test(e.message))
          console.log(`${(e.involvedObject?.name ?? "").padEnd(37)} ${(e.reason ?? "").padEnd(18)} ${e.message ?? ""}`);
      }' | sort -u | head -n 30 | sed 's/^/    /' >&2
    kc get nodes,pv,pvc -A --no-headers >"$dir/state.txt" 2>&1 || true
    return 1
  fi
}

# rollout_and_restart ENV DIR: roll out, then restart every Deployment and StatefulSet and roll
# out again: an update must fit too (surge Pods within the quota, disruption budgets).
rollout_and_restart() {
  local env="$1" dir="$2"
  rollout "$env" "$dir" || return 1
  local pods ns
  pods="$(kc get pods -A --field-selector status.phase=Running --no-headers 2>/dev/null | wc -l)"
  while IFS= read -r ns; do
    kc rollout restart deployments,statefulsets -n "$ns" >/dev/null 2>&1 || true
  done < <(kc get deployments,statefulsets -A --no-headers -o custom-columns=NS:.metadata.namespace | sort -u)
  sleep 1
  rollout "$env" "$dir" || { qy_log "$env: (after kubectl rollout restart)"; return 1; }
  local workloads
  workloads="$(kc get deployments,statefulsets -A --no-headers 2>/dev/null | wc -l)"
  rollout_summary="$workloads workloads rolled out and restarted, $pods pods Running on $ROLLOUT_NODES fake nodes"
}
