#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Restores one store from its backups (the restic repositories the `<store>-backup` CronJobs
# write). A dry run unless --yes: it lists the store's snapshots, picks one and prints what a
# restore would stop, write and restart, then stops. With --yes it:
#   1. suspends the store's backup CronJob (no backup of a half-restored store) and refuses while
#      a backup runs;
#   2. stops the writers the restore plan names (the applications, the store itself where its
#      files are replaced), in the plan's order, each gone before the next, recording their
#      replica counts;
#   3. runs the restore Job (built by scripts/lib/restore-job.mjs from the CronJob: same images,
#      credentials and NetworkPolicy) and shows its log;
#   4. starts the writers again, in reverse order, and waits for them to be ready;
#   5. verifies that every Service that had ready endpoints before the restore has them again
#      (one that had none before is reported, not failed: it is not the restore's doing), and
#      resumes the CronJob.
# On a failed restore the writers stay stopped (the store may hold half of the snapshot): the
# script prints how to start them, and the data a restore replaced is kept beside the new.
# Runbook: docs/operations.md "Restore".
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/restore.sh --env ENV --store STORE [--from SNAPSHOT|latest] [options]

  --env ENV            production, staging or development
  --store STORE        mongodb, redis, etcd (Milvus's metadata alone) or milvus (metadata and bucket)
  --from SNAPSHOT      a snapshot id (or its first 8+ digits) from --list, or latest (default)
  --list               list the store's snapshots and exit
  --yes                restore (without it: a dry run that changes nothing)
  --context CTX        kubectl context (default: the current one, pinned for the whole run)
  --force-context      allow a context whose name does not match the environment
  --release-dir DIR    read the manifests from a rendered release (DIR/dist) instead of synthesizing
  --timeout DURATION   time allowed for the restore Job and the restarts (default 2h)
  -h, --help           this help
EOF
}

source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/preflight.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/apply.sh"

QY_ENV=''
STORE=''
FROM=latest
LIST=false
QY_YES=false
QY_CONTEXT=''
QY_FORCE_CONTEXT=false
RELEASE_DIR=''
TIMEOUT=2h

while (($# > 0)); do
  case $1 in
    --store) qy_need_value "$@" && STORE=$2 && shift ;;
    --store=*) STORE=${1#*=} ;;
    --from) qy_need_value "$@" && FROM=$2 && shift ;;
    --from=*) FROM=${1#*=} ;;
    --list) LIST=true ;;
    --release-dir) qy_need_value "$@" && RELEASE_DIR=$2 && shift ;;
    --timeout) qy_need_value "$@" && TIMEOUT=$2 && shift ;;
    *)
      qy_common_option "$@"
      shift $((QY_SHIFT - 1))
      ;;
  esac
  shift
done

[[ -n $QY_ENV ]] || qy_die '--env is required (production, staging or development)' 2
qy_check_env "$QY_ENV"
[[ -n $STORE ]] || qy_die '--store is required (mongodb, redis, etcd or milvus)' 2
[[ $FROM == latest || $FROM =~ ^[0-9a-f]{8,64}$ ]] || qy_die "--from: a snapshot id is 8 to 64 hex digits (see --list), or latest; got '${FROM}'" 2
qy_require_command kubectl node
qy_make_workdir
if [[ -z $QY_CONTEXT ]]; then
  QY_CONTEXT=$(kubectl config current-context 2>/dev/null || true)
fi
export QY_CONTEXT QY_ENV
QY_DEADLINE=$(($(date +%s) + $(qy_duration_seconds "$TIMEOUT")))
JOBS="$QY_ROOT/scripts/lib/restore-job.mjs"

# ---- what the manifests say ----------------------------------------------------------------
qy_step "Read the ${STORE} backup of the ${QY_ENV} manifests"
if [[ -n $RELEASE_DIR ]]; then
  [[ -d $RELEASE_DIR/dist ]] || qy_die "${RELEASE_DIR} has no dist/" 2
  DIST=$RELEASE_DIR/dist
else
  DIST="$QY_WORK/dist"
  QINGYU_ENV=$QY_ENV node "$QY_ROOT/scripts/synth.mjs" --output "$DIST" 2>&1 | qy_progress
  ((PIPESTATUS[0] == 0)) || qy_die 'synthesis failed' 3
fi
QY_FACTS="$QY_WORK/facts"
qy_manifests facts "$DIST" >"$QY_FACTS"
QY_NAMESPACE=$(qy_facts namespace name)
plan=$(node "$JOBS" plan "$DIST" "$STORE") || exit 2
CRONJOB='' STOPS=() CLAIMS=() UNSUPPORTED=''
while IFS=$'\t' read -r kind a b; do
  case $kind in
    cronjob) CRONJOB=$a ;;
    stop) STOPS+=("$a") ;;
    claim) CLAIMS+=("${a} (at ${b})") ;;
    unsupported) UNSUPPORTED=$a ;;
  esac
done <<<"$plan"
qy_step_done "CronJob ${CRONJOB} in ${QY_NAMESPACE}; a restore stops: ${STOPS[*]}"

verdict=$(qy_context_verdict "$QY_ENV" "$QY_CONTEXT" "$QY_FORCE_CONTEXT")
qy_print_verdicts "$verdict" || exit 3

# run_job KIND NAME ARGS...: apply a Job from restore-job.mjs, wait until it completes or fails
# (or the deadline), print its log. Returns 0 when it completed.
run_job() {
  local name=$2 left status
  node "$JOBS" "$1" "$DIST" "$STORE" "$name" "${@:3}" >"$QY_WORK/${name}.yaml"
  qy_kubectl apply --server-side --field-manager="$QY_FIELD_MANAGER" -f "$QY_WORK/${name}.yaml" >/dev/null
  while :; do
    status=$(qy_kubectl get job "$name" -n "$QY_NAMESPACE" -o jsonpath='{.status.succeeded}/{.status.failed}' 2>/dev/null || true)
    [[ $status == 1/* ]] && break
    [[ $status == */[1-9]* ]] && break
    left=$(qy_seconds_left)
    ((left > 0)) || { status=timeout && break; }
    sleep "${QY_POLL_SECONDS:-5}"
  done
  qy_kubectl logs "job/${name}" -n "$QY_NAMESPACE" --all-containers --prefix >"$QY_WORK/${name}.log" 2>&1 || true
  [[ $status == 1/* ]]
}

# ---- which snapshot ----------------------------------------------------------------------
qy_step "List the ${STORE} snapshots (restic, from the backup target)"
list_job="${STORE}-restore-list-$(date +%s)"
if ! run_job list "$list_job"; then
  sed 's/^/    /' "$QY_WORK/${list_job}.log" >&2
  qy_kubectl delete job "$list_job" -n "$QY_NAMESPACE" --wait=false >/dev/null 2>&1 || true
  qy_die "cannot list the snapshots of ${STORE} (the Job's log is above): is the Secret backup-target there, and the target reachable?" 3
fi
qy_kubectl delete job "$list_job" -n "$QY_NAMESPACE" --wait=false >/dev/null 2>&1 || true
# The log has the container prefix; the JSON is the last line.
sed 's/^\[[^]]*\] //' "$QY_WORK/${list_job}.log" | grep '^\[' | tail -1 >"$QY_WORK/snapshots.json" || true
mapfile -t SNAPSHOTS < <(node "$JOBS" snapshots "$QY_WORK/snapshots.json" 2>/dev/null || true)
((${#SNAPSHOTS[@]} > 0)) || qy_die "the backup target holds no snapshot of ${STORE}: nothing to restore" 3
for line in "${SNAPSHOTS[@]}"; do
  IFS=$'\t' read -r id time short <<<"$line"
  qy_info "${short}  ${time}"
done
qy_step_done "${#SNAPSHOTS[@]} snapshot(s)"
[[ $LIST == true ]] && exit 0

SNAPSHOT='' SNAPSHOT_TIME=''
for line in "${SNAPSHOTS[@]}"; do
  IFS=$'\t' read -r id time short <<<"$line"
  if [[ $FROM == latest || $id == "$FROM"* ]]; then SNAPSHOT=$id SNAPSHOT_TIME=$time; fi
  [[ $FROM != latest && -n $SNAPSHOT ]] && break
done
[[ -n $SNAPSHOT ]] || qy_die "no snapshot of ${STORE} starts with '${FROM}' (see --list)" 2

# ---- the plan ----------------------------------------------------------------------------
qy_step "Plan: restore ${STORE} in ${QY_NAMESPACE} from snapshot ${SNAPSHOT:0:8} (${SNAPSHOT_TIME})"
[[ -z $UNSUPPORTED ]] || qy_die "restore.sh cannot restore this: ${UNSUPPORTED}" 3
qy_info "suspend CronJob ${CRONJOB} until the restore is done"
for stop in "${STOPS[@]}"; do qy_info "stop ${stop}"; done
((${#CLAIMS[@]} == 0)) || qy_info "write the store's volume(s): ${CLAIMS[*]} (the data replaced is kept beside it)"
for ((i = ${#STOPS[@]} - 1; i >= 0; i--)); do qy_info "start ${STOPS[i]} again"; done
qy_info "check that every Service with ready endpoints before has them again; resume CronJob ${CRONJOB}"
if [[ $QY_YES != true ]]; then
  qy_step_done 'dry run: nothing was changed; rerun with --yes to restore'
  exit 0
fi
qy_step_done 'restoring'

# ---- stop the writers ----------------------------------------------------------------------
qy_step "Suspend ${CRONJOB} and stop the writers"
active=$(qy_kubectl get cronjob "$CRONJOB" -n "$QY_NAMESPACE" -o jsonpath='{.status.active}' 2>/dev/null || true)
[[ -z $active ]] || qy_die "a backup of ${STORE} runs now (${active}); wait for it to finish, then restore" 3
qy_kubectl patch cronjob "$CRONJOB" -n "$QY_NAMESPACE" --type=merge -p '{"spec":{"suspend":true}}' >/dev/null
UNREADY_BEFORE=$(qy_unready_services)
[[ -z $UNREADY_BEFORE ]] || qy_warn "before the restore, these Services have no ready endpoint: $(qy_join ', ' "$UNREADY_BEFORE")"

# The workloads of a stop, as "kind/name<TAB>replicas" lines.
workloads_of() {
  case $1 in
    tier=app)
      qy_kubectl get deployments -n "$QY_NAMESPACE" -l qingyu.io/tier=app \
        -o go-template='{{range .items}}deployment/{{.metadata.name}}{{"\t"}}{{.spec.replicas}}{{"\n"}}{{end}}' ;;
    */*)
      printf '%s\t%s\n' "$1" "$(qy_kubectl get "$1" -n "$QY_NAMESPACE" -o jsonpath='{.spec.replicas}')" ;;
  esac
}
STOPPED=()
resume_hint() {
  local i
  for ((i = ${#STOPPED[@]} - 1; i >= 0; i--)); do
    IFS=$'\t' read -r w n <<<"${STOPPED[i]}"
    printf '  kubectl -n %s scale %s --replicas=%s\n' "$QY_NAMESPACE" "$w" "$n"
  done
  printf '  kubectl -n %s patch cronjob %s --type=merge -p %s\n' "$QY_NAMESPACE" "$CRONJOB" "'{\"spec\":{\"suspend\":false}}'"
}
# One stop at a time, in the plan's order, each gone before the next: a store stopped with its
# own store (Milvus with etcd) cannot finish its shutdown and is killed at its grace period's end.
for stop in "${STOPS[@]}"; do
  first=${#STOPPED[@]}
  while IFS=$'\t' read -r w n; do
    [[ -n $w ]] || continue
    STOPPED+=("${w}"$'\t'"${n:-1}")
    qy_kubectl scale "$w" -n "$QY_NAMESPACE" --replicas=0 >/dev/null
    qy_info "${w}: ${n:-1} -> 0"
  done < <(workloads_of "$stop")
  for entry in "${STOPPED[@]:first}"; do
    IFS=$'\t' read -r w _n <<<"$entry"
    # shellcheck disable=SC2016 # a Go template, not shell
    selector=$(qy_kubectl get "$w" -n "$QY_NAMESPACE" -o go-template='{{range $k, $v := .spec.selector.matchLabels}}{{$k}}={{$v}},{{end}}')
    qy_kubectl wait pods -n "$QY_NAMESPACE" -l "${selector%,}" --for=delete --timeout="$(qy_seconds_left)s" >/dev/null 2>&1 ||
      qy_die "the pods of ${w} did not stop; to start what was stopped: $(resume_hint)" 3
  done
done
qy_step_done "${#STOPPED[@]} workload(s) stopped"

# ---- restore -----------------------------------------------------------------------------
qy_step "Run the restore Job (snapshot ${SNAPSHOT:0:8})"
restore_job="${STORE}-restore-$(date +%s)"
if ! run_job restore "$restore_job" "$SNAPSHOT"; then
  sed 's/^/    /' "$QY_WORK/${restore_job}.log" >&2
  qy_step_failed "the restore failed; its Job ${restore_job} is kept for its log. The writers stay stopped; once the store is right, start them:"
  resume_hint >&2
  exit 1
fi
sed 's/^/    /' "$QY_WORK/${restore_job}.log" >&2
qy_kubectl delete job "$restore_job" -n "$QY_NAMESPACE" --wait=false >/dev/null 2>&1 || true
qy_step_done "restored"

# ---- resume ------------------------------------------------------------------------------
qy_step "Start the writers again"
for ((i = ${#STOPPED[@]} - 1; i >= 0; i--)); do
  IFS=$'\t' read -r w n <<<"${STOPPED[i]}"
  qy_kubectl scale "$w" -n "$QY_NAMESPACE" --replicas="$n" >/dev/null
  qy_kubectl rollout status "$w" -n "$QY_NAMESPACE" --timeout="$(qy_seconds_left)s" 2>&1 | qy_progress ||
    qy_die "${w} did not come back; the rest to start: $(resume_hint)" 1
done
qy_step_done "${#STOPPED[@]} workload(s) back"

qy_step "Verify"
verdicts=$(qy_wait_endpoints "$UNREADY_BEFORE")
qy_kubectl patch cronjob "$CRONJOB" -n "$QY_NAMESPACE" --type=merge -p '{"spec":{"suspend":false}}' >/dev/null
if ! qy_print_verdicts "$verdicts"; then
  qy_step_failed "restored, but some Services have no ready endpoint (above)"
  exit 1
fi
qy_step_done "${STORE} is restored from ${SNAPSHOT:0:8} (${SNAPSHOT_TIME}); CronJob ${CRONJOB} resumed"
