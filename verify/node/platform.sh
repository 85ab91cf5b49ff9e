#!/usr/bin/env bash
# npm run verify:node: the Qingyu development platform (three pods per app, set through
# QINGYU_CONFIG_OVERRIDES) on a real single-node Kubernetes (verify/node/lib/node.sh) with real
# containers, then its checks (in this order):
#
#   1 pods          every pod with an image here Ready, 0 restarts; Milvus healthy on the
#                   platform's etcd and MinIO after its bucket step (init container provision)
#   8 credentials   Redis: each client's ACL user logs in with its Secret and is allowed/refused
#                   (NOPERM) as granted, no login NOAUTH; MinIO: milvus's and backup's keys get
#                   their policies' buckets and no more, anonymous and wrong-secret refused
#   9 milvus-auth   (when the YAML turns Milvus auth on, else SKIP) the milvus-auth Job done;
#                   anonymous / wrong / default-root gRPC refused; python_ai works, no admin
#   2 flows         every intended flow connects, one forbidden flow per component is refused
#                   (probe pods wearing the source's labels); API-server/internet flows unproven
#   4 grpc-spread   go-backend's calls over AI_SERVICE_URL reach every python-ai pod (within
#                   python-ai's MaxConnectionAge of the last one Ready)
#   5 sse           python-ai's events arrive one by one through its Service
#   6a/c/d faults   redis-0 deleted: the key is back (AOF); etcd-0 deleted: Milvus healthy again
#                   within its probe budget; go-backend and python-ai rolled under load: 0 failures
#   3 prometheus    every ServiceMonitor target of a running component up; every rule group
#                   loaded and evaluating without errors; the MongoDB-down alert fires
#   10a drill-redis backup CronJob run now, data changed, scripts/restore.sh: the data as backed up
#   6b milvus-stop  a loaded collection, milvus-0 deleted: Milvus exits within its grace period,
#                   comes back, and the collection is searchable
#   10b drill-etcd  as 10a for etcd (Milvus's metadata): Milvus healthy and searchable after it
#   11b alert-delivery  the MongoDB-down alert check 3 saw firing reached, through the
#                   platform's Alertmanager, the webhook sink that 11a set up (right after 1)
#   10c drill-milvus milvus-backup (etcd snapshot + bucket copy) run now; more entities and a
#                   second collection after it; restore.sh --store milvus: the collection as at
#                   the backup, the later data and objects gone, Milvus healthy, apps back
#   10d etcd-defrag space freed in etcd, the etcd-defrag CronJob run now: the database file
#                   down to what is in use; etcd and Milvus not restarted, Milvus searchable
#   7 cleanup       after node_down, nothing left: processes, mounts, rules, bridges, files
#
# Check 3 runs after 6: the MongoDB-down alert needs its 5 minutes of `for:`, which the other
# checks fill; the drills and 6b stop stores, so they come last (10a-10c print their backup and
# restore times against the RTO the CronJob declares, and fail over it). Every check prints PASS,
# FAIL or SKIP (nothing to check in this output), its time and a summary line; the run exits
# non-zero on any FAIL; the node is always torn down (trap). More checks: add
# verify/node/checks/NN-*.sh (see qy_check in lib/platform.sh).
#
#   sudo bash verify/node/platform.sh       # needs root; builds what is missing first (cached)
#   QINGYU_VERIFY_DIST=DIR ...              # YAML synthesized elsewhere (DIR/development or DIR)
#   QINGYU_VERIFY_CHECKS="1 2 10a" ...      # only these checks (7 always needs node_down)
#   QINGYU_VERIFY_KEEP=1 ...                # keep the work dir (logs, manifests)
set -euo pipefail
# The whole script is one compound command, parsed before it runs: an edit to this file during a
# run (bash reads scripts as it goes) cannot change the run.
{
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2034 # read by the sourced libraries (log prefixes)
QY_LOG_NAME=verify:node
# shellcheck source=verify/node/lib/platform.sh
source "$here/lib/platform.sh"
# shellcheck source=verify/node/lib/leftovers.sh
source "$here/lib/leftovers.sh"
for f in "$here"/checks/*.sh; do
  # shellcheck source=/dev/null
  source "$f"
done

((EUID == 0)) || qy_die "a real node needs root"
[[ -d "$QY_VERIFY_SHARED/crds" ]] || qy_die "no CRDs at $QY_VERIFY_SHARED/crds (set QINGYU_SHARED)"

started=$SECONDS
QY_RUN_WORK="$(mktemp -d "${TMPDIR:-/tmp}/qingyu-verify-node.XXXXXX")"
QY_RECORD_COPY="$QY_RUN_WORK/record"
QY_LEFTOVERS_BEFORE="$QY_RUN_WORK/leftovers-before.txt"
QY_PLATFORM_LOGS="$QY_RUN_WORK/logs"
mkdir -p "$QY_PLATFORM_LOGS"
export QY_PLATFORM_LOGS
timings=()

summarized=false
summary() {
  local r n_pass=0 n_skip=0
  summarized=true
  echo
  echo "verify:node summary ($((SECONDS - started))s in all):"
  for r in "${QY_RESULTS[@]}"; do
    printf '  %s\n' "$r"
    [[ "$r" == PASS* ]] && n_pass=$((n_pass + 1))
    [[ "$r" == SKIP* ]] && n_skip=$((n_skip + 1))
  done
  echo "  timings: ${timings[*]}"
  echo "verify:node: $n_pass passed, $QY_FAILED failed, $n_skip skipped"
}
down_done=false
cleanup() {
  local rc=$?
  if ! $down_done; then
    [[ -e "$QY_NODE_RUN/record" ]] && cp "$QY_NODE_RUN/record" "$QY_RECORD_COPY" 2>/dev/null
    node_down || rc=1
  fi
  # An exit before the summary (a signal, or an error of this script): say so, with what ran.
  if ! $summarized; then
    ((rc != 0)) || rc=1
    echo "verify:node: stopped early (exit $rc)" >&2
    summary
  fi
  if [[ "${QINGYU_VERIFY_KEEP:-}" == 1 ]]; then
    qy_log "kept $QY_RUN_WORK"
  else
    rm -rf "$QY_RUN_WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# step NAME COMMAND...: a setup step, PASS/FAIL with its time like the checks; a failure ends
# the run (after node_down).
step() {
  local name="$1" t0 rc=0 dt
  shift
  t0="$(_qy_node_now)"
  "$@" >"$QY_PLATFORM_LOGS/step-$name.log" 2>&1 || rc=$?
  dt="$(_qy_node_since "$t0")"
  timings+=("$name ${dt}s")
  if ((rc == 0)); then
    QY_RESULTS+=("PASS setup:$name ${dt}s")
    printf 'PASS  %-22s %7ss  %s\n' "setup:$name" "$dt" "$(tail -n 1 "$QY_PLATFORM_LOGS/step-$name.log")"
  else
    QY_FAILED=$((QY_FAILED + 1))
    QY_RESULTS+=("FAIL setup:$name ${dt}s")
    printf 'FAIL  %-22s %7ss\n' "setup:$name" "$dt"
    tail -n 40 "$QY_PLATFORM_LOGS/step-$name.log" | sed 's/^/      /'
    summary
    exit 1
  fi
}

# --- before the node: binaries, the YAML, the images' binaries -----------------------------------
build_node() {
  bash "$here/build.sh" >/dev/null || return 1
  grep -E 'built in|installed in' "$QY_PLATFORM_LOGS/step-build-node.log" || echo "node binaries cached"
}
QY_DIST="$QY_RUN_WORK/dist"
synth() {
  qy_platform_synth "$QY_DIST"
  QY_NS="$(qy_platform_ns "$QY_DIST")"
  local files=("$QY_DIST"/*.yaml)
  echo "${#files[@]} files, namespace $QY_NS, overrides $QY_PLATFORM_OVERRIDES"
}
build_images() {
  qy_pimg_plan "$QY_DIST" || return 1
  qy_pimg_build || return 1
  echo "$(awk -F'\t' 'NF > 1 && $3 != "absent"' <<<"$QY_PIMG_PLAN" | grep -c .) images' binaries ready"
}
step build-node build_node
step synth synth
# (the steps run in this shell: their variables stay)
step build-images build_images
QY_NS="$(qy_platform_ns "$QY_DIST")"
export QY_NS QY_DIST

qy_node_reap_stale
qy_leftovers_snapshot >"$QY_LEFTOVERS_BEFORE"

# --- the node and the platform ---------------------------------------------------------------------
up() { node_up "$QY_RUN_WORK/node" && echo "${QY_NODE_TIMINGS[*]}"; }
step node-up up
import_images() {
  qy_pimg_import || return 1
  qy_pimg_table
}
step images import_images
awk '/^image /,/^images:/' "$QY_PLATFORM_LOGS/step-images.log" | sed 's/^/    /'
prerequisites() {
  qy_node_install_crds "$QY_VERIFY_SHARED/crds" || return 1
  qy_platform_operator "$QY_NS" || return 1
  echo "CRDs from $QY_VERIFY_SHARED/crds; Prometheus Operator ${PROMETHEUS_OPERATOR_VERSION} in $QY_PLATFORM_OPERATOR_NS watching $QY_NS"
}
step prerequisites prerequisites
secrets() {
  qy_platform_secrets "$QY_DIST" || return 1
  echo "scripts/create-secrets.sh: $(kc -n "$QY_NS" get secrets -o name | grep -c .) Secrets in $QY_NS"
}
step secrets secrets
apply() {
  qy_platform_apply "$QY_DIST" || return 1
  echo "$(grep -c . "$QY_NODE_WORK/logs/apply.log") objects applied server-side, file by file"
}
step apply apply

# --- the checks ------------------------------------------------------------------------------------
qy_checks_run up
cp "$QY_NODE_RUN/record" "$QY_RECORD_COPY"
step node-down node_down
down_done=true
qy_checks_run down
summary
((QY_FAILED == 0))
}
