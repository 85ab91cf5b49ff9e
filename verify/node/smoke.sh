#!/usr/bin/env bash
# Smoke test of the real single node (verify/node/lib/node.sh): brings it up and proves, with
# real containers, that
#   - a restricted pod (uid 10001, runAsNonRoot, read-only root, drop ALL, RuntimeDefault
#     seccomp, emptyDir, HTTP + exec probes, a PVC on the default StorageClass) becomes Ready in
#     a namespace that enforces Pod Security "restricted";
#   - DNS resolves a Service name from a pod; a ClusterIP Service routes;
#   - a NetworkPolicy default-deny refuses a connection that was allowed, and an allow policy
#     re-admits it (from a client pod, 3 s connect timeout);
#   - a pod whose image is missing fails fast (ErrImagePull/ImagePullBackOff) with no packet out;
# then tears the node down and checks that nothing is left (processes, mounts, cgroups, rules,
# bridges, sysctls, files).
#
#   bash verify/node/smoke.sh            # needs root; QINGYU_VERIFY_KEEP=1 keeps the work dir
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=verify/node/lib/node.sh
source "$here/lib/node.sh"
QY_LOG_NAME=node-smoke
log() { printf 'node-smoke: %s\n' "$*" >&2; }

((EUID == 0)) || { log "needs root"; exit 1; }

results=()
failed=0
# check NAME FUNCTION: run it, print PASS/FAIL with its time and the detail it printed last.
check() {
  local name="$1" t0 out rc=0
  t0="$(_qy_node_now)"
  out="$("$2" 2>&1)" || rc=$?
  local dt
  dt="$(_qy_node_since "$t0")"
  local detail
  detail="$(tail -n 1 <<<"$out")"
  if ((rc == 0)); then
    results+=("PASS $name ${dt}s")
    printf 'PASS  %-28s %6ss  %s\n' "$name" "$dt" "$detail"
  else
    failed=$((failed + 1))
    results+=("FAIL $name ${dt}s")
    printf 'FAIL  %-28s %6ss\n' "$name" "$dt"
    while IFS= read -r line; do printf '      %s\n' "$line"; done <<<"$out"
  fi
}

work="$(mktemp -d "${TMPDIR:-/tmp}/qingyu-node-smoke.XXXXXX")"
EGRESS_TEST_LINK=qy-egress-test # (a check's stand-in for "the outside"; removed by the trap too)
cleanup() {
  local rc=$?
  ip link del "$EGRESS_TEST_LINK" 2>/dev/null || true
  node_down || rc=1
  if [[ "${QINGYU_VERIFY_KEEP:-}" == 1 ]]; then
    log "kept $work"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

kc() { qy_node_kubectl "$@"; }

# What the machine looks like before: the leftover check compares against it.
snapshot() {
  echo "## links"
  ip -o link show | awk -F': ' '{ print $2 }' | cut -d@ -f1 | sort
  echo "## nftables (iptables-nft included)"
  nft list ruleset 2>/dev/null | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'
  echo "## sysctls"
  local k
  for k in "${QY_NODE_SYSCTLS[@]}"; do printf '%s=%s\n' "$k" "$(sysctl -n "$k" 2>/dev/null)"; done
  echo "## mounts"
  awk '{ print $5 }' /proc/self/mountinfo | sort
  echo "## cgroups"
  find /sys/fs/cgroup -maxdepth 2 -type d -name 'qingyu-node*' 2>/dev/null | sort
  echo "## files"
  find /run /var/lib /var/log /etc /opt -maxdepth 2 2>/dev/null | sort
  find "$HOME" -maxdepth 2 -name '.*' 2>/dev/null | sort
}
# Processes of ours still alive: in a cgroup of the node's (daemons, shims, containers), naming
# the work dir or /run/qingyu-node, or recorded by node_up (same pid and start time).
our_processes() {
  local p cmd
  for p in /proc/[0-9]*; do
    cmd="$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" || continue
    if grep -q 'qingyu-node' "$p/cgroup" 2>/dev/null; then
      printf '%s %s\n' "${p#/proc/}" "$cmd"
      continue
    fi
    case "$cmd" in
      *"$work"* | *"$QY_NODE_RUN"*) printf '%s %s\n' "${p#/proc/}" "$cmd" ;;
    esac
  done | grep -v "^$$ " || true
  [[ -s "$work/record" ]] || return 0
  local _ name pid start
  while read -r _ name pid start; do
    [[ "$(_qy_node_starttime "$pid")" == "$start" ]] && printf '%s %s (recorded)\n' "$pid" "$name"
  done < <(awk '$1 == "pid"' "$work/record")
}

log "work dir $work"
t="$(_qy_node_now)"
build_log="$work/build.log"
bash "$here/build.sh" >"$work/build.out" 2>"$build_log" || { cat "$build_log" >&2; exit 1; }
build_time="$(_qy_node_since "$t")"
if grep -q 'built in' "$build_log"; then build_kind=cold; else build_kind=cached; fi
grep -E 'built in|installed in' "$build_log" >&2 || true

qy_node_reap_stale # (a node left by a killed run: gone before the snapshot)
snapshot >"$work/before.txt"
t="$(_qy_node_now)"
node_up "$work/node" || { printf 'FAIL  %-28s\n' node-up; exit 1; }
up_time="$(_qy_node_since "$t")"
results+=("PASS node-up ${up_time}s")
printf 'PASS  %-28s %6ss  %s\n' node-up "$up_time" "${QY_NODE_TIMINGS[*]}"

# --- the test image: qy-probe, static, as uid 10001 ------------------------------------------------
PROBE_IMAGE="qingyu.local/qy-probe:$QY_NODE_PROBE_ID"
image_probe() {
  local root
  root="$(qy_rootfs_new)"
  qy_rootfs_users "$root" 10001:app
  qy_rootfs_add_static "$root" "$QY_NODE_BIN_PROBE/qy-probe" /qy-probe
  qy_image_build "$PROBE_IMAGE" "$root" '{"Entrypoint":["/qy-probe"],"User":"10001:10001"}'
  rm -rf "$root"
  grep -qxF "$PROBE_IMAGE" <<<"$(qy_image_list)" || { echo "not listed: $PROBE_IMAGE"; return 1; }
  echo "$PROBE_IMAGE imported"
}
check image-import image_probe

# --- a restricted pod with probes and a PVC ----------------------------------------------------------
restricted_pod() {
  kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: smoke-app
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/warn: restricted
---
apiVersion: v1
kind: Namespace
metadata:
  name: smoke-client
  labels:
    pod-security.kubernetes.io/enforce: restricted
EOF
  kc apply -f - <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: smoke-app}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: smoke-app}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsUser: 10001
        runAsGroup: 10001
        runAsNonRoot: true
        fsGroup: 10001
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: web
        image: $PROBE_IMAGE
        imagePullPolicy: IfNotPresent
        args: [serve, -listen, ":8080", -write, /scratch, -write, /data]
        ports: [{name: http, containerPort: 8080}]
        resources:
          requests: {cpu: 10m, memory: 16Mi}
          limits: {cpu: 200m, memory: 64Mi}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 1
        livenessProbe:
          exec: {command: [/qy-probe, get, "http://127.0.0.1:8080/healthz"]}
          periodSeconds: 5
        volumeMounts:
        - {name: scratch, mountPath: /scratch}
        - {name: data, mountPath: /data}
      volumes:
      - name: scratch
        emptyDir: {sizeLimit: 16Mi}
      - name: data
        persistentVolumeClaim: {claimName: data}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: smoke-app}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
EOF
  kc -n smoke-app wait --for=condition=Available deployment/web --timeout=90s || {
    kc -n smoke-app describe pods
    return 1
  }
  local pv path
  pv="$(kc -n smoke-app get pvc data -o jsonpath='{.spec.volumeName}')"
  path="$(kc get pv "$pv" -o jsonpath='{.spec.local.path}')"
  compgen -G "$path/qy-probe-web-*" >/dev/null || { echo "nothing written to the PV ($path)"; return 1; }
  kc -n smoke-app exec deploy/web -- /qy-probe get http://127.0.0.1:8080/ || return 1
  echo "Ready; PVC data bound to $pv (wrote $(basename "$(compgen -G "$path/qy-probe-web-*")")), probes passing"
}
check restricted-pod-ready restricted_pod

client_pod() {
  kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: smoke-client, labels: {app: client}}
spec:
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  securityContext:
    runAsUser: 10001
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: client
    image: $PROBE_IMAGE
    imagePullPolicy: IfNotPresent
    args: [sleep]
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: {drop: [ALL]}
EOF
  kc -n smoke-client wait --for=condition=Ready pod/client --timeout=60s >/dev/null
  echo "client pod Ready"
}
check client-pod-ready client_pod

client() { kc -n smoke-client exec client -- /qy-probe "$@"; }

# An image of a dynamically linked host binary (its libraries by ldd, glibc's loader): it runs.
dynamic_image() {
  local root image=qingyu.local/env:smoke phase=""
  root="$(qy_rootfs_new)"
  qy_rootfs_users "$root" 10001:app
  qy_rootfs_add_dynamic "$root" /usr/bin/env
  qy_image_build "$image" "$root" '{"Entrypoint":["/usr/bin/env"],"User":"10001"}' >/dev/null || return 1
  rm -rf "$root"
  kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: dynamic, namespace: smoke-client}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext: {runAsUser: 10001, runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: env
    image: $image
    imagePullPolicy: Never
    env: [{name: QY_SMOKE, value: dynamic-ok}]
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
EOF
  local deadline=$((SECONDS + 30))
  until [[ "$phase" == Succeeded || "$phase" == Failed ]]; do
    ((SECONDS < deadline)) || { kc -n smoke-client describe pod dynamic; return 1; }
    sleep 0.5
    phase="$(kc -n smoke-client get pod dynamic -o jsonpath='{.status.phase}')"
  done
  [[ "$phase" == Succeeded ]] || { kc -n smoke-client logs dynamic; echo "phase $phase"; return 1; }
  # Whole, then matched: `kubectl logs | grep -q` under pipefail fails when grep exits at the
  # match before kubectl has written the rest of env's output (SIGPIPE).
  local out
  out="$(kc -n smoke-client logs dynamic)"
  grep -qx QY_SMOKE=dynamic-ok <<<"$out" || { echo "unexpected output:"; printf '%s\n' "$out"; return 1; }
  kc -n smoke-client delete pod dynamic --wait=false >/dev/null
  echo "/usr/bin/env + libc + loader: Succeeded; the node has $(qy_image_list | wc -l) images"
}

dns() {
  local want got
  want="$(kc -n smoke-app get service web -o jsonpath='{.spec.clusterIP}')"
  got="$(client resolve web.smoke-app.svc.cluster.local)" || { echo "$got"; return 1; }
  [[ "$got" == "$want" ]] || { echo "web.smoke-app.svc.cluster.local is '$got', want $want"; return 1; }
  got="$(client resolve web.smoke-app)" || { echo "$got"; return 1; }
  [[ "$got" == "$want" ]] || { echo "web.smoke-app (search path) is '$got', want $want"; return 1; }
  # Names outside the cluster are answered here (NXDOMAIN), never asked outside.
  if client resolve example.com >/dev/null; then echo "example.com resolved"; return 1; fi
  echo "web.smoke-app.svc.cluster.local -> $got (and example.com -> NXDOMAIN)"
}
check dynamic-binary-image dynamic_image
check dns-service-name dns

clusterip() {
  local ip out
  ip="$(kc -n smoke-app get service web -o jsonpath='{.spec.clusterIP}')"
  out="$(client get "http://$ip/")" || { echo "$out"; return 1; }
  out="$(client get http://web.smoke-app/)" || { echo "$out"; return 1; }
  # The API server through the kubernetes Service, from a pod.
  client tcp 10.96.0.1:443 >/dev/null || { echo "10.96.0.1:443 unreachable from a pod"; return 1; }
  echo "http://$ip/ -> $out"
}
check clusterip-routes clusterip

# --- NetworkPolicy: default deny, then allow ---------------------------------------------------------
# until_client SECONDS WANT(ok|refused): retry a 3 s connect from the client until it gives WANT
# (the enforcer applies a policy within a second or two).
until_client() {
  local deadline=$((SECONDS + $1)) out
  while :; do
    if out="$(client get -timeout 3s http://web.smoke-app/ 2>/dev/null)"; then
      [[ "$2" == ok ]] && { echo "$out"; return 0; }
    else
      [[ "$2" == refused ]] && { echo "$out"; return 0; }
    fi
    ((SECONDS < deadline)) || { echo "still not $2 after $1 s: $out"; return 1; }
    sleep 1
  done
}
netpol_deny() {
  until_client 5 ok >/dev/null || { echo "not even allowed before any policy"; return 1; }
  kc apply -f - >/dev/null <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: smoke-app}
spec:
  podSelector: {}
  policyTypes: [Ingress]
EOF
  local out
  out="$(until_client 20 refused)" || { echo "$out"; return 1; }
  # and it stays refused (not a blip)
  if client get -timeout 3s http://web.smoke-app/ >/dev/null 2>&1; then echo "allowed again under default-deny"; return 1; fi
  # the kubelet's probes (root on the host) still pass: the pod stays Ready
  kc -n smoke-app wait --for=condition=Available deployment/web --timeout=5s >/dev/null || { echo "web lost readiness"; return 1; }
  local mode
  mode="$(kc -n kube-system logs ds/kube-network-policies 2>/dev/null | grep -o 'xtables NFQUEUE target=[a-z]*' | head -n 1)"
  echo "allowed before; refused under default-deny ($mode): $out"
}
check netpol-default-deny netpol_deny

netpol_allow() {
  kc apply -f - >/dev/null <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client, namespace: smoke-app}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: smoke-client}}
      podSelector: {matchLabels: {app: client}}
    ports: [{port: 8080, protocol: TCP}]
EOF
  local out
  out="$(until_client 20 ok)" || { echo "$out"; return 1; }
  echo "re-admitted by allow-client: $out"
}
check netpol-allow netpol_allow

# --- pod traffic toward another interface is dropped -------------------------------------------------
# A bridge with no ports stands for "the outside": a pod's packet routed to it must be dropped
# by the node's forward rule (and, were it not, would vanish in the portless bridge).
forward_drop() {
  qy_node_record_link "$EGRESS_TEST_LINK"
  ip link add "$EGRESS_TEST_LINK" type bridge || return 1
  ip addr add 10.87.255.1/24 dev "$EGRESS_TEST_LINK" && ip link set "$EGRESS_TEST_LINK" up || return 1
  local before after out
  before="$(qy_node_forward_dropped)"
  if out="$(client tcp -timeout 2s 10.87.255.2:80)"; then echo "connected to 10.87.255.2: $out"; return 1; fi
  after="$(qy_node_forward_dropped)"
  ip link del "$EGRESS_TEST_LINK"
  ((after > before)) || { echo "the forward rule dropped nothing ($before -> $after): $out"; return 1; }
  echo "pod -> other interface: $out; forward drops $before -> $after"
}
check pod-egress-dropped forward_drop

# --- a missing image fails fast, nothing leaves -------------------------------------------------------
missing_image() {
  local before after name image t0 reason="" msg deadline
  before="$(qy_node_egress_counts)"
  local images=(registry.k8s.io/qingyu/does-not-exist:v0 does-not-exist:v0 registry.example.invalid/qingyu/x:v0)
  local i=0
  for image in "${images[@]}"; do
    kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: missing-$i, namespace: smoke-app}
spec:
  automountServiceAccountToken: false
  securityContext: {runAsUser: 10001, runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: x
    image: $image
    imagePullPolicy: IfNotPresent
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
EOF
    i=$((i + 1))
  done
  t0=$SECONDS
  deadline=$((SECONDS + 30))
  for ((i = 0; i < ${#images[@]}; i++)); do
    name="missing-$i"
    reason=""
    until [[ "$reason" == ErrImagePull || "$reason" == ImagePullBackOff ]]; do
      ((SECONDS < deadline)) || { echo "$name (${images[i]}): no ErrImagePull after 30 s"; kc -n smoke-app describe pod "$name"; return 1; }
      sleep 0.5
      reason="$(kc -n smoke-app get pod "$name" -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}')"
    done
  done
  local took=$((SECONDS - t0))
  msg="$(kc -n smoke-app get events --field-selector involvedObject.name=missing-0,reason=Failed -o jsonpath='{.items[0].message}')"
  [[ "$msg" == *"127.0.0.1:$QY_NODE_CLOSED_PORT"* ]] || { echo "the pull did not go to 127.0.0.1:$QY_NODE_CLOSED_PORT: $msg"; return 1; }
  after="$(qy_node_egress_counts)"
  if [[ "$after" != n/a ]]; then
    # The guard saw containerd's pulls (on lo), and nothing toward anywhere else.
    [[ "${after##*rejected=}" == "${before##*rejected=}" ]] || { echo "daemon packets toward the outside: $before -> $after"; return 1; }
    local lo_before="${before#lo=}" lo_after="${after#lo=}"
    ((${lo_after%% *} > ${lo_before%% *})) || { echo "the guard saw no pull packet on lo ($before -> $after)"; return 1; }
  fi
  kc -n smoke-app delete pod missing-0 missing-1 missing-2 --wait=false >/dev/null
  echo "${#images[@]} pods ErrImagePull within ${took}s; pulls went to 127.0.0.1:$QY_NODE_CLOSED_PORT; daemons' packets: $before -> $after"
}
check missing-image-fails-fast missing_image

# --- teardown and leftovers ------------------------------------------------------------------------------
teardown() {
  cp "$QY_NODE_RUN/record" "$work/record"
  node_down || { echo "node_down reported a failure"; return 1; }
  echo "node_down done"
}
check node-down teardown

leftovers() {
  local bad=0 procs
  snapshot >"$work/after.txt"
  if ! diff -u "$work/before.txt" "$work/after.txt" >"$work/leftovers.diff"; then
    # Only the lines that we could have added: other activity on the machine may remove files.
    if grep -E '^\+[^+]' "$work/leftovers.diff"; then bad=1; fi
  fi
  procs="$(our_processes)"
  [[ -z "$procs" ]] || { echo "processes left:"; echo "$procs"; bad=1; }
  [[ ! -e "$QY_NODE_RUN" ]] || { echo "$QY_NODE_RUN left"; bad=1; }
  ((bad == 0)) || return 1
  echo "no process, mount, cgroup, link, rule, sysctl or file left"
}
check no-leftovers leftovers

n_pass=0
for r in "${results[@]}"; do [[ "$r" == PASS* ]] && n_pass=$((n_pass + 1)); done
echo
echo "timings: build ($build_kind) ${build_time}s; node up (warm: binaries cached) ${up_time}s [${QY_NODE_TIMINGS[*]}]"
echo "node-smoke: $n_pass passed, $failed failed"
((failed == 0))
