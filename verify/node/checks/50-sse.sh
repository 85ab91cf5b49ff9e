# shellcheck shell=bash
# Check 5, SSE: python-ai's stream (GET /api/v1/ai/stream) through its Service, from the edge's
# probe pod (the ingress controller's namespace and labels, as the NetworkPolicy admits them):
# the events must arrive one by one at their interval, not all at the end (a buffering hop would
# deliver them together), with consecutive ids and the final `done`.

QY_SSE_EVENTS="${QY_SSE_EVENTS:-6}"
QY_SSE_INTERVAL_MS="${QY_SSE_INTERVAL_MS:-500}"

# qy_sse_arrivals: from probe sse's output, one line: each message event's arrival time (from
# the request) and the pod that sent it.
qy_sse_arrivals() {
  awk '/^event type=message/ { for (i = 1; i <= NF; i++) { if ($i ~ /^t=/) t = substr($i, 3); if ($i ~ /^pod=/) p = substr($i, 5) } printf "%s%s", (n++ ? " " : "  message events at "), t }
       /^(unreachable|fail|usage) sse/ { print ""; print "  " $0 }
       END { if (n) printf " from %s\n", p }'
}

check_sse() {
  local ns pod url out rc=0 spread
  qy_platform_settled || return 1
  read -r ns pod < <(qy_edge_client) || { echo "no edge client pod"; return 1; }
  url="http://python-ai.$QY_NS.svc.cluster.local:8081/api/v1/ai/stream?n=$QY_SSE_EVENTS&interval_ms=$QY_SSE_INTERVAL_MS"
  # The first event comes at once, the others one interval apart: the spread from the first to
  # the last is (n-1) intervals; demand most of it.
  spread="$(awk -v n="$QY_SSE_EVENTS" -v i="$QY_SSE_INTERVAL_MS" 'BEGIN { printf "%dms", (n - 1) * i * 0.8 }')"
  out="$(kc -n "$ns" exec "$pod" -c probe -- /probe sse "$url" --min-events "$QY_SSE_EVENTS" --min-spread "$spread" --timeout 30s 2>/dev/null)" || rc=$?
  qy_sse_arrivals <<<"$out"
  ((rc == 0)) || { echo "the stream failed (probe exit $rc)"; return 1; }
  echo "through Service python-ai: $(tail -n 1 <<<"$out" | grep -oE 'events=[0-9]+|spread=[0-9.]+s|max_gap=[0-9.]+s|end=[a-z]+' | paste -sd' ') (events $QY_SSE_INTERVAL_MS ms apart, min spread $spread)"
}
qy_check 50 "5-sse" check_sse
