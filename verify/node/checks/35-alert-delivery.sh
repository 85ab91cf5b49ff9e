# shellcheck shell=bash
# Check 11, alert delivery (issue 16): a fired alert reaches a person's receiver through the
# platform's own Alertmanager (the operator-made one, real Alertmanager at the YAML's version),
# over the route, receiver and egress NetworkPolicy the YAML derives from config.
#   11a (early) the sink: a webhook receiver (qy-probe serve, which prints each POST) as Service
#       alert-sink in its own namespace; development's chat receiver points at it (the Secret
#       alertmanager-receivers/chat-url, by create-secrets.sh) and monitoring.alerting.egress
#       opens only the pod range on its port (lib/platform.sh);
#   11b (after check 3, which sees QingyuComponentDown{job="mongodb"} firing) the sink received
#       that alert in an Alertmanager webhook message (status firing, its labels), within the
#       route's group_wait plus a margin.

_sink_pod() { kc -n "$QY_ALERT_SINK_NS" get pods -l app=alert-sink -o jsonpath='{.items[0].metadata.name}' 2>/dev/null; }

check_alert_sink() {
  local image
  image="$(qy_pimg_probe_image)"
  kc create namespace "$QY_ALERT_SINK_NS" --dry-run=client -o yaml | kc apply -f - >/dev/null || return 1
  kc apply -f - >/dev/null <<EOF || return 1
apiVersion: v1
kind: Pod
metadata:
  name: alert-sink
  namespace: $QY_ALERT_SINK_NS
  labels: {app: alert-sink, qingyu.verify/role: sink}
spec:
  automountServiceAccountToken: false
  enableServiceLinks: false
  terminationGracePeriodSeconds: 1
  securityContext: {runAsUser: 10001, runAsGroup: 10001, runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: sink
    image: $image
    imagePullPolicy: Never
    args: [serve, -listen, ':$QY_ALERT_SINK_PORT']
    readinessProbe: {httpGet: {path: /healthz, port: $QY_ALERT_SINK_PORT}, periodSeconds: 2}
    resources: {requests: {cpu: 5m, memory: 8Mi, ephemeral-storage: 1Mi}, limits: {cpu: 200m, memory: 64Mi, ephemeral-storage: 8Mi}}
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
---
apiVersion: v1
kind: Service
metadata: {name: alert-sink, namespace: $QY_ALERT_SINK_NS}
spec:
  selector: {app: alert-sink}
  ports: [{name: http, port: $QY_ALERT_SINK_PORT, targetPort: $QY_ALERT_SINK_PORT}]
EOF
  kc -n "$QY_ALERT_SINK_NS" wait --for=condition=Ready pod/alert-sink --timeout=60s >/dev/null || { echo "the alert sink is not Ready"; return 1; }
  local url
  url="$(kc -n "$QY_NS" get secret alertmanager-receivers -o jsonpath='{.data.chat-url}' | base64 -d)"
  [[ "$url" == "$QY_ALERT_SINK_URL" ]] || { echo "alertmanager-receivers/chat-url is '$url', not the sink's $QY_ALERT_SINK_URL"; return 1; }
  echo "webhook sink Ready at $QY_ALERT_SINK_URL (alertmanager-receivers/chat-url)"
}

# _sink_got_mongodb_down: the sink's log holds a firing QingyuComponentDown for job mongodb.
_sink_got_mongodb_down() {
  local pod
  pod="$(_sink_pod)"
  # shellcheck disable=SC2016 # JavaScript, not shell
  kc -n "$QY_ALERT_SINK_NS" logs "$pod" 2>/dev/null | grep '^POST ' | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const msgs = s.split("\n").filter(Boolean).map((l) => { const i = l.indexOf(" ", 5); return { path: l.slice(5, i), m: JSON.parse(l.slice(i + 1)) }; });
      const down = (a) => a.labels.alertname === "QingyuComponentDown" && a.labels.job === "mongodb" && a.status === "firing";
      const hit = msgs.find(({ m }) => m.status === "firing" && (m.alerts ?? []).some(down));
      if (!hit) { console.log(`${msgs.length} message(s) received, none with QingyuComponentDown{job="mongodb"} firing: ${msgs.map(({ m }) => m.groupKey).join("; ")}`); process.exit(1); }
      const a = hit.m.alerts.find(down);
      console.log(`POST ${hit.path} from receiver "${hit.m.receiver}": QingyuComponentDown{job="mongodb",severity="${a.labels.severity}"} firing since ${a.startsAt} (${msgs.length} message(s) in all)`);
    });'
}

check_alert_delivery() {
  qy_platform_settled || return 1
  [[ -n "$(_sink_pod)" ]] || { echo "no alert sink (check 11a did not run)"; return 1; }
  local out
  # Check 3 has seen the alert firing; the route waits group_wait (30 s) before it sends.
  if out="$(qy_wait "${QY_ALERT_DELIVERY_TIMEOUT:-240}" _sink_got_mongodb_down)"; then
    echo "the MongoDB-down alert reached the chat receiver through Alertmanager: $out"
  else
    echo "no firing MongoDB-down alert reached the sink: $out"
    kc -n "$QY_NS" logs -l app.kubernetes.io/name=alertmanager -c alertmanager --tail=5 2>&1 | qy_indent '  '
    return 1
  fi
}

qy_check 12 "11a-alert-sink" check_alert_sink
qy_check 69 "11b-alert-delivery" check_alert_delivery
