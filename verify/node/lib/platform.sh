# shellcheck shell=bash
# The development platform on the real node (sourced by verify/node/platform.sh and images.sh):
# synthesis with the three-pods-per-app override, the apply, the node's Prometheus Operator, the
# Secrets, and the check runner that verify/node/checks/*.sh register with.

# shellcheck source=verify/node/lib/node.sh
source "$(dirname "${BASH_SOURCE[0]}")/node.sh"
# shellcheck source=verify/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"

# Node 24 of .nvmrc first on PATH when .ci/run (or a developer) has put it in the cache.
_qy_nvmrc="$(cat "$QY_VERIFY_REPO/.nvmrc" 2>/dev/null || true)"
if [[ -n "$_qy_nvmrc" && -x "$QY_VERIFY_CACHE/node-$_qy_nvmrc/bin/node" ]]; then
  PATH="$QY_VERIFY_CACHE/node-$_qy_nvmrc/bin:$PATH"
fi
command -v node >/dev/null || { printf 'node is required\n' >&2; exit 1; }

# shellcheck source=verify/node/lib/platform-images.sh
source "$(dirname "${BASH_SOURCE[0]}")/platform-images.sh"

# The platform the node runs: development, with three pods of each app (an override of the
# configuration, not a fork of the charts; maxReplicas must stay above minReplicas).
QY_PLATFORM_ENV="${QY_PLATFORM_ENV:-development}"
# Alertmanager's way out (monitoring.alerting.egress) is the node's pod range on the alert sink's
# port only (check 11): the receivers' egress NetworkPolicy is then derived from config as in
# production, and nothing else of the pod range opens to Alertmanager.
QY_ALERT_SINK_PORT=18080
QY_ALERT_SINK_NS=qy-alert-sink
QY_ALERT_SINK_URL="http://alert-sink.$QY_ALERT_SINK_NS.svc.cluster.local:$QY_ALERT_SINK_PORT/qingyu-chat"
if [[ -z "${QY_PLATFORM_OVERRIDES:-}" ]]; then
  QY_PLATFORM_OVERRIDES='{"apps":{"go-backend":{"replicas":3,"maxReplicas":4},"python-ai":{"replicas":3,"maxReplicas":4}},'
  QY_PLATFORM_OVERRIDES+='"monitoring":{"alerting":{"egress":{"cidrs":["'"${QY_NODE_POD_CIDR:-10.88.0.0/16}"'"],"except":[],"ports":['"$QY_ALERT_SINK_PORT"']}}}}'
fi
# Development's one receiver, chat (a webhook), delivers to the sink.
export QINGYU_SECRET_ALERTMANAGER_RECEIVERS_CHAT_URL="${QINGYU_SECRET_ALERTMANAGER_RECEIVERS_CHAT_URL:-$QY_ALERT_SINK_URL}"
QY_PLATFORM_APP_REPLICAS="${QY_PLATFORM_APP_REPLICAS:-3}"
# The node's own namespaces (test infrastructure, not part of dist/).
QY_PLATFORM_OPERATOR_NS=qy-prometheus-operator
QY_PLATFORM_FIELD_MANAGER=qingyu-deploy # scripts/deploy.sh's field manager

# qy_platform_synth OUT: the YAML to run, synthesized with the override (QINGYU_VERIFY_DIST=DIR
# copies DIR/development or DIR instead, as verify/lib/common.sh's qy_synth does).
qy_platform_synth() {
  QINGYU_CONFIG_OVERRIDES="$QY_PLATFORM_OVERRIDES" qy_synth "$QY_PLATFORM_ENV" "$1"
}

kc() { qy_node_kubectl --request-timeout=60s "$@"; }

# qy_platform_ns DIST: the platform's namespace.
qy_platform_ns() { node "$QY_PIMG_SRC/lib/platform.mjs" namespace "$1"; }

# ---- the node's Prometheus Operator (its RBAC from the release's bundle.yaml) -----------------------
# qy_platform_operator NAMESPACE_WATCHED: the operator in its own namespace, watching only the
# platform's namespace, with the config-reloader image of the same release.
qy_platform_operator() {
  local watched="$1" dir out="$QY_NODE_WORK/manifests/prometheus-operator.yaml"
  dir="$(qy_pimg_dir operator)"
  node - "$QY_VERIFY_REPO/node_modules/yaml" "$dir/bundle-rbac.yaml" "$QY_PLATFORM_OPERATOR_NS" "$watched" \
    "$(qy_pimg_operator_image)" "$(qy_pimg_reloader_image)" >"$out" <<'JS' || return 1
const [yamlPath, bundle, ns, watched, image, reloader] = process.argv.slice(2);
const Y = require(yamlPath);
const docs = Y.parseAllDocuments(require('fs').readFileSync(bundle, 'utf8')).map((d) => d.toJS());
const out = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }];
for (const o of docs) {
  if (o.metadata.namespace) o.metadata.namespace = ns;
  for (const s of o.subjects ?? []) if (s.namespace) s.namespace = ns;
  if (o.kind === 'Deployment') {
    const c = o.spec.template.spec.containers[0];
    c.image = image;
    c.imagePullPolicy = 'IfNotPresent';
    // The release's own arguments, minus the kubelet Service (no kubelet scraping here), plus
    // the one namespace to watch.
    c.args = c.args.filter((a) => !a.startsWith('--kubelet-'));
    c.args = c.args.map((a) => (a.startsWith('--prometheus-config-reloader=') ? `--prometheus-config-reloader=${reloader}` : a));
    c.args.push(`--namespaces=${watched}`);
  }
  out.push(o);
}
process.stdout.write(out.map((o) => Y.stringify(o)).join('---\n'));
JS
  kc apply --server-side --field-manager=qingyu-node -f "$out" >/dev/null || return 1
  kc -n "$QY_PLATFORM_OPERATOR_NS" rollout status deployment/prometheus-operator --timeout=120s >/dev/null
}

# ---- Secrets: scripts/create-secrets.sh against the node ----------------------------------------------
# qy_platform_secrets DIST: the platform's Secrets, by the operations script itself: random
# values where the catalogue (lib/secrets.ts) says random, and for every key it would ask for
# (`prompt`: the OpenAI key, the alert receivers' URLs and keys...) a fake one, given through its
# QINGYU_SECRET_<SECRET>_<KEY> variable unless the caller set it: URLs point at a closed port on
# loopback (a delivery fails at once, nothing leaves), other keys are random text. Plus a
# self-signed TLS Secret for the Ingresses.
qy_platform_secrets() {
  local dist="$1" rel="$QY_NODE_WORK/release" ns
  ns="$(qy_platform_ns "$dist")"
  rm -rf "$rel" && mkdir -p "$rel" && cp -r "$dist" "$rel/dist"
  # The catalogue's `prompt` keys (verify/lib/common.sh); the chat URL is the alert sink's (set above).
  qy_prompt_placeholders "$QY_PLATFORM_ENV" "http://127.0.0.1:9/qingyu-verify" "qingyu-verify-"
  PATH="$QY_NODE_BIN_K8S:$PATH" KUBECONFIG="$QY_NODE_KUBECONFIG" KUBECACHEDIR="$QY_NODE_WORK/kube-cache" NO_COLOR=1 \
    bash "$QY_VERIFY_REPO/scripts/create-secrets.sh" --env "$QY_PLATFORM_ENV" --release-dir "$rel" --yes \
    >"$QY_NODE_WORK/logs/create-secrets.log" 2>&1 || { tail -n 30 "$QY_NODE_WORK/logs/create-secrets.log" >&2; return 1; }
  local name
  while IFS= read -r name; do
    [[ -n "$name" ]] || continue
    kc -n "$ns" get secret "$name" >/dev/null 2>&1 && continue
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=node-verify" \
      -keyout "$QY_NODE_WORK/tls.key" -out "$QY_NODE_WORK/tls.crt" 2>/dev/null || return 1
    kc -n "$ns" create secret tls "$name" --cert "$QY_NODE_WORK/tls.crt" --key "$QY_NODE_WORK/tls.key" >/dev/null || return 1
    rm -f "$QY_NODE_WORK/tls.key" "$QY_NODE_WORK/tls.crt"
  done < <(node "$QY_VERIFY_REPO/scripts/lib/manifests.mjs" facts "$dist" | awk -F'\t' '$1 == "secret" && $3 == "kubernetes.io/tls" { print $2 }')
}

# ---- apply, as scripts/deploy.sh applies: server-side, file by file in order --------------------------
qy_platform_apply() {
  local dist="$1" f
  for f in "$dist"/*.yaml; do
    kc apply --server-side --field-manager="$QY_PLATFORM_FIELD_MANAGER" -f "$f" >>"$QY_NODE_WORK/logs/apply.log" 2>&1 ||
      { tail -n 20 "$QY_NODE_WORK/logs/apply.log" >&2; return 1; }
  done
}

# ---- checks ------------------------------------------------------------------------------------------
# A check is a function registered with qy_check NUMBER NAME FUNCTION [PHASE]: the runner calls
# them in NUMBER order (PHASE "up", the default, while the platform runs; "down" after
# node_down), prints PASS/FAIL NAME TIME and the check's last output line (all of it on FAIL;
# SKIP when the check returns QY_CHECK_SKIP: what it checks is not in this output),
# and the summary. verify/node/checks/*.sh are sourced in name order; each registers its checks.
# Add a check: a new file checks/NN-name.sh with its function(s) and a qy_check line.
QY_CHECKS=()      # "NUMBER<TAB>NAME<TAB>FUNCTION<TAB>PHASE"
QY_RESULTS=()     # "PASS|FAIL|SKIP NAME SECONDS"
QY_CHECK_SKIP=77  # a check's exit code for "nothing to check in this output" (its last line says why)
QY_FAILED=0
qy_check() { QY_CHECKS+=("$1"$'\t'"$2"$'\t'"$3"$'\t'"${4:-up}"); }

# qy_checks_run PHASE: run the registered checks of PHASE. QINGYU_VERIFY_CHECKS="2 5" runs
# only the checks of those numbers (development).
qy_checks_run() {
  local phase="$1" n name fn ph only=" ${QINGYU_VERIFY_CHECKS:-} "
  while IFS=$'\t' read -r n name fn ph; do
    [[ "$ph" == "$phase" ]] || continue
    [[ "$only" == "  " || "$only" == *" ${name%%-*} "* ]] || continue
    qy_run_check "$name" "$fn"
  done < <(printf '%s\n' "${QY_CHECKS[@]}" | sort -t$'\t' -k1,1n)
}

# qy_run_check NAME FUNCTION: one check, its output in $QY_NODE_WORK/logs/check-NAME.log
# (QY_CHECK_LOG) as well.
qy_run_check() {
  local name="$1" fn="$2" t0 out rc=0 dt detail log="${QY_PLATFORM_LOGS:-$QY_NODE_WORK/logs}/check-$1.log"
  t0="$(_qy_node_now)"
  out="$(QY_CHECK_LOG="$log" "$fn" 2>&1)" || rc=$?
  dt="$(_qy_node_since "$t0")"
  printf '%s\n' "$out" >"$log"
  # (grep finds nothing when every line is a detail: not an error of the runner)
  detail="$(grep -v '^  ' <<<"$out" | tail -n 1 || true)"
  if ((rc == QY_CHECK_SKIP)); then
    # Nothing to judge in this output (e.g. a feature it does not have): said, not passed.
    QY_RESULTS+=("SKIP $name ${dt}s")
    printf 'SKIP  %-22s %7ss  %s\n' "$name" "$dt" "$detail"
  elif ((rc == 0)); then
    QY_RESULTS+=("PASS $name ${dt}s")
    printf 'PASS  %-22s %7ss  %s\n' "$name" "$dt" "$detail"
    # Lines starting with two spaces are the check's details: shown on PASS too.
    grep '^  ' <<<"$out" | sed 's/^/    /' || true
  else
    QY_FAILED=$((QY_FAILED + 1))
    QY_RESULTS+=("FAIL $name ${dt}s")
    printf 'FAIL  %-22s %7ss\n' "$name" "$dt"
    qy_indent '      ' <<<"$out"
  fi
}

# qy_indent PREFIX: stdin with PREFIX before every line.
qy_indent() { sed "s/^/$1/"; }

# ---- helpers for the checks ------------------------------------------------------------------------
# qy_wait SECONDS CMD...: retry CMD every second until it succeeds (its last output on failure).
qy_wait() {
  local deadline=$((SECONDS + $1)) out
  shift
  until out="$("$@" 2>&1)"; do
    ((SECONDS < deadline)) || { printf '%s\n' "$out"; return 1; }
    sleep 1
  done
  printf '%s\n' "$out"
}

# qy_probe_pod ROLE NAME NAMESPACE LABELS [PORT...]: a probe pod (restricted; its probe container
# sleeps, for kubectl exec; a listener also serves each PORT), never Ready.
qy_probe_pod() {
  local role="$1" name="$2" ns="$3" labels="$4" port
  shift 4
  local label_yaml="" kv
  IFS=, read -r -a kvs <<<"$labels"
  for kv in "${kvs[@]}"; do label_yaml+="    ${kv%%=*}: \"${kv#*=}\""$'\n'; done
  local containers image common
  image="$(qy_pimg_probe_image)"
  common="$(_qy_probe_container_common)"
  containers="  - {name: probe, image: $image, imagePullPolicy: Never, args: [sleep], $common}"$'\n'
  for port in "$@"; do
    containers+="  - {name: listen-$port, image: $image, imagePullPolicy: Never, args: [serve, -listen, ':$port'], $common}"$'\n'
  done
  cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $name
  namespace: $ns
  labels:
$label_yaml    qingyu.verify/role: $role
spec:
  automountServiceAccountToken: false
  enableServiceLinks: false
  terminationGracePeriodSeconds: 1
  securityContext: {runAsUser: 10001, runAsGroup: 10001, runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
$containers
---
EOF
}
_qy_probe_container_common() {
  printf '%s' "readinessProbe: {exec: {command: [/qy-probe, tcp, '127.0.0.1:1', -timeout, 1s]}, periodSeconds: 60}, resources: {requests: {cpu: 5m, memory: 8Mi, ephemeral-storage: 1Mi}, limits: {cpu: 200m, memory: 64Mi, ephemeral-storage: 8Mi}}, securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}"
}

# qy_edge_client: the edge's probe pod (namespace and labels of the ingress controller the
# NetworkPolicies admit: the FlowTable's "ingress-nginx/ingress-nginx controller"), created once;
# prints "NAMESPACE POD".
qy_edge_client() {
  local name ns labels
  IFS=$'\t' read -r name ns labels < <(node "$QY_PIMG_SRC/lib/platform.mjs" components "$QY_DIST" | awk -F'\t' '$1 ~ /^ingress-nginx\//')
  [[ -n "$ns" ]] || { echo "no ingress controller source in the flows" >&2; return 1; }
  if ! kc -n "$ns" get pod qy-edge >/dev/null 2>&1; then
    kc create namespace "$ns" --dry-run=client -o yaml | kc apply -f - >/dev/null || return 1
    qy_probe_pod client qy-edge "$ns" "$labels" | kc apply -f - >/dev/null || return 1
  fi
  kc -n "$ns" wait --for=jsonpath='{.status.phase}'=Running pod/qy-edge --timeout=60s >/dev/null || return 1
  printf '%s qy-edge\n' "$ns"
}

# qy_api_get PATH: a GET through the API server (service/pod proxy paths included).
qy_api_get() { kc get --raw "$1"; }

# qy_json EXPR: evaluate a JS expression on the JSON of stdin (bound to `j`), print the result
# (strings as they are, other values as JSON).
qy_json() {
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);const r=eval(process.argv[1]);process.stdout.write(typeof r==="string"?r:JSON.stringify(r));process.stdout.write("\n")})' "$@"
}

# qy_platform_settled: wait (QY_PODS_TIMEOUT, 300 s) until check 1's condition holds (every pod
# with its images Ready, the others waiting on their pull); every check starts with it, so that
# each can also run alone (QINGYU_VERIFY_CHECKS).
qy_platform_settled() {
  local out deadline=$((SECONDS + ${QY_PODS_TIMEOUT:-300})) loops
  until out="$(_pods_settled 2>&1)"; do
    # A container in CrashLoopBackOff after 3 restarts will not settle by waiting: say so now.
    loops="$(qy_crashlooping "")"
    [[ -z "$loops" ]] || { echo "pods not settled, crash-looping: $loops"; return 1; }
    ((SECONDS < deadline)) || { echo "pods not settled: $out"; return 1; }
    sleep 1
  done
}

# qy_crashlooping [POD]: the platform's containers (init ones included) waiting in
# CrashLoopBackOff after 3 or more restarts, as "pod/container: last log line" (of POD only
# when given).
qy_crashlooping() {
  local sel=(-l '!qingyu.verify/role') pod container
  [[ -n "${1:-}" ]] && sel=("$1")
  while read -r pod container; do
    [[ -n "$container" ]] || continue
    printf '%s/%s: %s; ' "$pod" "$container" "$(kc -n "$QY_NS" logs "$pod" -c "$container" --previous --tail=1 2>&1)"
  done < <(kc -n "$QY_NS" get pods "${sel[@]}" -o json 2>/dev/null | qy_json '(j.items ?? [j]).flatMap((p) => [...(p.status.initContainerStatuses ?? []), ...(p.status.containerStatuses ?? [])].filter((c) => c.restartCount >= 3 && c.state?.waiting?.reason === "CrashLoopBackOff").map((c) => p.metadata.name + " " + c.name)).join("\n")')
}

# qy_redis_cli USER ARGS...: redis-cli inside redis-0 (its redis container, to 127.0.0.1) logged
# in as USER with the password of USER's Secret (redis-USER, key password), which reaches
# redis-cli through REDISCLI_AUTH from standard input (never an argument); USER "-": no login
# (the default user). Prints redis-cli's answer without blank lines (errors included: redis-cli
# exits 0 on them).
qy_redis_cli() {
  local user="$1" password=""
  shift
  if [[ "$user" != - ]]; then
    password="$(kc -n "$QY_NS" get secret "redis-$user" -o jsonpath='{.data.password}' | base64 -d)" || return 1
    [[ -n "$password" ]] || { echo "Secret redis-$user has no password"; return 1; }
  fi
  # shellcheck disable=SC2016 # expanded by the pod's shell
  printf '%s\n' "$password" | kc -n "$QY_NS" exec -i redis-0 -c redis -- sh -c '
    u=$1; shift; IFS= read -r p
    if [ "$u" != - ]; then REDISCLI_AUTH=$p; export REDISCLI_AUTH; set -- --user "$u" "$@"; fi
    exec redis-cli --no-auth-warning -h 127.0.0.1 -p 6379 "$@"' sh "$user" "$@" 2>&1 | tr -d '\r' | sed '/^$/d'
}

# qy_milvus_auth_on: Milvus runs with authorization on (COMMON_SECURITY_AUTHORIZATIONENABLED=true
# in its StatefulSet).
qy_milvus_auth_on() {
  [[ "$(kc -n "$QY_NS" get statefulset milvus -o jsonpath='{.spec.template.spec.containers[?(@.name=="milvus")].env[?(@.name=="COMMON_SECURITY_AUTHORIZATIONENABLED")].value}')" == true ]]
}

# qy_milvus_client WHO MODE: verify/node/lib/milvus-client.py (pymilvus from the node) against
# milvus-0's address, MODE create|search|list. WHO: "app" logs in as python-ai does when Milvus
# has authorization on (MILVUS_USERNAME of python-ai-config, the password of Secret
# milvus-python-ai), else anonymously; "none" never logs in; "USER:SECRET" logs in as USER with
# the password of Secret SECRET. Prints the client's last line.
qy_milvus_client() {
  local who="$1" mode="$2" ip user="" secret="" password=""
  ip="$(kc -n "$QY_NS" get pod milvus-0 -o jsonpath='{.status.podIP}')"
  case "$who" in
    app)
      if qy_milvus_auth_on; then
        # The user exists once the milvus-auth Job is done (pods settle before it: a check run
        # alone may come first).
        kc -n "$QY_NS" wait --for=condition=complete job -l app.kubernetes.io/name=milvus-auth --timeout=300s >/dev/null 2>&1 ||
          { echo "the milvus-auth Job is not complete: the application's Milvus user may not exist"; return 1; }
        user="$(kc -n "$QY_NS" get configmap python-ai-config -o jsonpath='{.data.MILVUS_USERNAME}')"
        secret=milvus-python-ai
      fi ;;
    none) ;;
    *:*) user="${who%%:*}" secret="${who#*:}" ;;
  esac
  if [[ -n "$secret" ]]; then
    password="$(kc -n "$QY_NS" get secret "$secret" -o jsonpath='{.data.password}' | base64 -d)" || return 1
  fi
  MILVUS_USER="$user" MILVUS_PASSWORD="$password" PYTHONPATH="$(qy_pimg_pymilvus_dir)/site" \
    timeout 180 python3 "$QY_PIMG_SRC/lib/milvus-client.py" "$ip" "$mode" 2>&1 | tail -n 1
}
