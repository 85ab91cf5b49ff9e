# shellcheck shell=bash
# shellcheck disable=SC2016 # node -e scripts are single-quoted on purpose
# Helpers of verify/deploy-e2e.sh (sourced, not run): the prerequisites a real cluster brings
# (IngressClass, default StorageClass with static volumes), stand-in Pods for what an operator
# would create, and small readers. The API server itself is verify/lib/apiserver.sh's.
#
# Uses from deploy-e2e.sh: kc, qy_log.

# e2e_prerequisites: what a real cluster has before the platform: the IngressClass nginx (no
# controller behind it) and a default StorageClass `standard` (no provisioner: its volumes are
# the static ones of fake_nodes_and_volumes, with ROLLOUT_STORAGE_CLASS=standard).
e2e_prerequisites() {
  kc apply --server-side --field-manager=qingyu-e2e -f - >/dev/null <<'EOF'
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec: {controller: k8s.io/ingress-nginx}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
reclaimPolicy: Delete
EOF
}

# e2e_orphan_services DIST: "name<TAB>selector as JSON" of every Service with a selector that no
# Deployment/StatefulSet/DaemonSet of DIST matches: its Pods come from an operator (Prometheus).
e2e_orphan_services() {
  node -e '
    const fs = require("fs"), path = require("path"), YAML = require(process.argv[2]);
    const docs = [];
    for (const f of fs.readdirSync(process.argv[1]).filter((f) => f.endsWith(".yaml")).sort())
      for (const d of YAML.parseAllDocuments(fs.readFileSync(path.join(process.argv[1], f), "utf8")))
        if (d.toJSON()) docs.push(d.toJSON());
    const templates = docs.filter((d) => ["Deployment", "StatefulSet", "DaemonSet"].includes(d.kind))
      .map((d) => d.spec.template.metadata?.labels ?? {});
    for (const s of docs.filter((d) => d.kind === "Service" && d.spec?.selector)) {
      const sel = s.spec.selector;
      if (!templates.some((l) => Object.entries(sel).every(([k, v]) => l[k] === v)))
        console.log(`${s.metadata.name}\t${JSON.stringify(sel)}`);
    }' "$1" "$QY_VERIFY_REPO/node_modules/yaml"
}

# e2e_standin_pods NAMESPACE DIST: for each Service of DIST whose Pods an operator would make
# (no operator runs here), one Pod with the Service's selector labels (restricted Pod Security,
# small requests within the namespace's quota). KWOK marks it Ready, so the Service has an
# endpoint as it would in a real cluster. Not an ApplySet member: a deploy's prune leaves it.
e2e_standin_pods() {
  local ns="$1" dist="$2" name selector manifest=""
  while IFS=$'\t' read -r name selector; do
    [[ -n $name ]] || continue
    qy_log "  stand-in Pod for Service $name (selector $selector)"
    manifest+="apiVersion: v1
kind: Pod
metadata:
  name: e2e-standin-$name
  namespace: $ns
  labels: $selector
spec:
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, runAsUser: 65534, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: standin
      image: registry.k8s.io/pause:3.9
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, readOnlyRootFilesystem: true}
      resources:
        requests: {cpu: 5m, memory: 8Mi, ephemeral-storage: 8Mi}
        limits: {cpu: 10m, memory: 16Mi, ephemeral-storage: 16Mi}
---
"
  done < <(e2e_orphan_services "$dist")
  [[ -z $manifest ]] || kc apply --server-side --field-manager=qingyu-e2e -f - <<<"$manifest" >/dev/null
}

# e2e_images NAMESPACE: "deployment=image,..." of the live Deployments (first container), sorted.
e2e_images() {
  kc get deployments -n "$1" -o jsonpath='{range .items[*]}{.metadata.name}={.spec.template.spec.containers[0].image}{"\n"}{end}' |
    sort | paste -sd, -
}

# e2e_expect_tag NAMESPACE TAG APP...: every app Deployment named runs :TAG.
e2e_expect_tag() {
  local ns="$1" tag="$2" app image ok=0
  shift 2
  for app in "$@"; do
    image="$(kc get deployment "$app" -n "$ns" -o jsonpath='{.spec.template.spec.containers[0].image}')"
    if [[ $image != *":$tag" ]]; then
      qy_log "  Deployment $app runs $image, expected tag $tag"
      ok=1
    fi
  done
  return "$ok"
}
