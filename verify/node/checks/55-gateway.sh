# shellcheck shell=bash
# Check 5b (opt-in: QINGYU_VERIFY_GATEWAY=1, it builds Traefik, ~10 min cold): SSE through a real
# Gateway API implementation. The platform's edge in gateway mode (the same override plus
# {"edge":{"mode":"gateway"}}) is applied over the running one: its HTTPRoute and the
# NetworkPolicies that admit the Gateway's namespace instead of ingress-nginx. Traefik runs as
# the parent Gateway's data plane (GatewayClass traefik, the Gateway the HTTPRoute names, its
# listener on plain HTTP port 8000: TLS is the Gateway owner's, not the platform's), and the
# edge's probe pod reads python-ai's stream through it with the route's Host. Runs last among
# the "up" checks: it changes the edge of the running platform.
# The Gateway API CRDs the shared set lacks (GatewayClass, ReferenceGrant, BackendTLSPolicy) come
# from sigs.k8s.io/gateway-api at the shared CRDs' bundle-version, from the module proxy.

_gw_install_crds() {
  local version dir f kind
  version="$(sed -n 's/^ *gateway.networking.k8s.io\/bundle-version: *//p' "$QY_VERIFY_SHARED/crds/gateway.networking.k8s.io/"*.yaml | head -n 1)"
  [[ -n "$version" ]] || { echo "no Gateway API bundle-version in $QY_VERIFY_SHARED/crds"; return 1; }
  dir="$(_pimg_mod_dir "sigs.k8s.io/gateway-api@$version")"
  [[ -n "$dir" ]] || { echo "cannot download sigs.k8s.io/gateway-api@$version"; return 1; }
  for kind in gatewayclasses referencegrants backendtlspolicies; do
    kc get crd "$kind.gateway.networking.k8s.io" >/dev/null 2>&1 && continue
    f="$dir/config/crd/standard/gateway.networking.k8s.io_$kind.yaml"
    kc apply --server-side --field-manager=qingyu-node -f "$f" >/dev/null || return 1
  done
  kc wait --for condition=Established --timeout=60s crd --all >/dev/null
  echo "  Gateway API $version standard CRDs completed from sigs.k8s.io/gateway-api@$version"
}

# _gw_traefik NS GATEWAY SECTION: Traefik and the Gateway in NS.
_gw_traefik() {
  local ns="$1" gw="$2" section="$3" rbac
  rbac="$(_pimg_mod_dir "github.com/traefik/traefik/v3@$TRAEFIK_VERSION")/docs/content/reference/dynamic-configuration/kubernetes-gateway-rbac.yml"
  [[ -f "$rbac" ]] || { echo "no $rbac"; return 1; }
  {
    printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n---\n' "$ns"
    printf 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: traefik-controller, namespace: %s}\n---\n' "$ns"
    # Traefik's documented RBAC for its Gateway provider, bound to our ServiceAccount.
    sed "s/namespace: default/namespace: $ns/" "$rbac"
    cat <<EOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: traefik}
spec: {controllerName: traefik.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: $gw, namespace: $ns}
spec:
  gatewayClassName: traefik
  listeners:
  - name: $section
    protocol: HTTP
    port: 8000
    allowedRoutes: {namespaces: {from: All}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: traefik, namespace: $ns, labels: {app: traefik}}
spec:
  replicas: 1
  selector: {matchLabels: {app: traefik}}
  template:
    metadata: {labels: {app: traefik}}
    spec:
      serviceAccountName: traefik-controller
      securityContext: {runAsUser: 65532, runAsGroup: 65532, runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: traefik
        image: $(qy_pimg_traefik_image)
        imagePullPolicy: Never
        args: [--providers.kubernetesgateway=true, --entryPoints.web.address=:8000, --entryPoints.traefik.address=:8080,
               --ping=true, --log.level=INFO, --global.checkNewVersion=false, --global.sendAnonymousUsage=false]
        ports: [{name: web, containerPort: 8000}, {name: admin, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /ping, port: 8080}, periodSeconds: 2}
        resources: {requests: {cpu: 20m, memory: 64Mi}, limits: {cpu: 500m, memory: 256Mi}}
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
---
apiVersion: v1
kind: Service
metadata: {name: traefik, namespace: $ns}
spec:
  selector: {app: traefik}
  ports: [{name: web, port: 8000, targetPort: web}]
EOF
  } >"$QY_NODE_WORK/manifests/traefik.yaml"
  kc apply --server-side --field-manager=qingyu-node -f "$QY_NODE_WORK/manifests/traefik.yaml" >/dev/null || return 1
  kc -n "$ns" rollout status deployment/traefik --timeout=120s >/dev/null || { kc -n "$ns" logs deploy/traefik --tail=20; return 1; }
}

check_sse_gateway() {
  qy_platform_settled || return 1
  local dist="$QY_NODE_WORK/dist-gateway" gw gwns section host
  if [[ -n "${QINGYU_VERIFY_DIST_GATEWAY:-}" ]]; then
    QINGYU_VERIFY_DIST="$QINGYU_VERIFY_DIST_GATEWAY" qy_synth "$QY_PLATFORM_ENV" "$dist"
  else
    local overrides
    overrides="$(node -e 'const o = JSON.parse(process.argv[1]); o.edge = { ...(o.edge ?? {}), mode: "gateway" }; console.log(JSON.stringify(o))' "$QY_PLATFORM_OVERRIDES")"
    (unset QINGYU_VERIFY_DIST; QY_PLATFORM_OVERRIDES="$overrides" qy_platform_synth "$dist") || return 1
  fi
  read -r gw gwns section host < <(node "$QY_PIMG_SRC/lib/platform.mjs" httproute "$dist")
  [[ -n "$gw" ]] || { echo "no HTTPRoute in the gateway-mode YAML"; return 1; }
  _gw_install_crds || return 1
  _gw_traefik "$gwns" "$gw" "$section" || { echo "Traefik did not start"; return 1; }
  local f
  for f in "$dist"/*edge*.yaml "$dist"/*network*.yaml; do
    kc apply --server-side --field-manager="$QY_PLATFORM_FIELD_MANAGER" -f "$f" >/dev/null || return 1
  done
  local accepted
  accepted="$(qy_wait 60 bash -c "'$QY_NODE_BIN_K8S/kubectl' --kubeconfig '$QY_NODE_KUBECONFIG' -n '$QY_NS' get httproute api -o jsonpath='{.status.parents[0].conditions[?(@.type==\"Accepted\")].status}' | grep -qx True && echo True")" ||
    { echo "HTTPRoute api not Accepted by Gateway $gwns/$gw"; kc -n "$QY_NS" get httproute api -o yaml | tail -n 25; kc -n "$gwns" logs deploy/traefik --tail=20; return 1; }
  echo "  Traefik ${TRAEFIK_VERSION} serves Gateway $gwns/$gw (listener $section, HTTP :8000); HTTPRoute api Accepted: $accepted"
  local ns pod out rc=0 base="http://traefik.$gwns.svc.cluster.local:8000"
  read -r ns pod < <(qy_edge_client) || { echo "no edge client pod"; return 1; }
  # The route is up when / reaches go-backend through the Gateway.
  qy_wait 60 kc -n "$ns" exec "$pod" -c probe -- /probe http "$base/" --header "Host: $host" --expect 200 >/dev/null ||
    { echo "GET / through the Gateway did not reach go-backend"; kc -n "$ns" exec "$pod" -c probe -- /probe http "$base/" --header "Host: $host" 2>/dev/null; return 1; }
  out="$(kc -n "$ns" exec "$pod" -c probe -- /probe sse "$base/api/v1/ai/stream?n=$QY_SSE_EVENTS&interval_ms=$QY_SSE_INTERVAL_MS" \
    --header "Host: $host" --min-events "$QY_SSE_EVENTS" --min-spread "$(awk -v n="$QY_SSE_EVENTS" -v i="$QY_SSE_INTERVAL_MS" 'BEGIN { printf "%dms", (n - 1) * i * 0.8 }')" --timeout 30s 2>/dev/null)" || rc=$?
  qy_sse_arrivals <<<"$out"
  ((rc == 0)) || { echo "the stream through the Gateway failed (probe exit $rc)"; return 1; }
  echo "through Gateway $gwns/$gw (Traefik ${TRAEFIK_VERSION#v}) and HTTPRoute api: $(tail -n 1 <<<"$out" | grep -oE 'events=[0-9]+|spread=[0-9.]+s|max_gap=[0-9.]+s|end=[a-z]+' | paste -sd' ')"
}
if [[ "${QINGYU_VERIFY_GATEWAY:-}" == 1 ]]; then
  qy_check 80 "5b-sse-gateway" check_sse_gateway
fi
