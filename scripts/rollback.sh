#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Rolls an environment back. Two ways (docs/operations.md says when each is right):
#
#   default      re-apply a recorded release (the previous good one, or --to ID): the whole
#                platform returns to a consistent, known state, pruning included. Refused when
#                a data store's image would go down, unless --force-data-downgrade.
#   --apps-only  `kubectl rollout undo` of the application Deployments: fast, touches only their
#                pod templates, leaves everything else (config, data stores) as it is.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/rollback.sh --env ENV [--to RELEASE | --apps-only] [options]

  --env ENV               production, staging or development
  --to RELEASE            the release id to return to (default: the newest good one before the live one)
  --apps-only             kubectl rollout undo of the app Deployments only
  --deployment NAME       with --apps-only: undo this Deployment (repeatable; default: the apps chart's)
  --context CTX           kubectl context (default: the current one, pinned for the whole run)
  --force-context         allow a context whose name does not match the environment
  --check                 show the plan and the checks; change nothing
  --yes                   do not ask for confirmation
  --timeout DURATION      time allowed for rollouts and health checks (default 10m)
  --force-data-downgrade  re-apply even if a data store's image goes down (read docs/operations.md)
  --no-public-check       skip the request to the public host's /health
  --list                  list the recorded releases and exit
  -h, --help              this help
EOF
}

source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/preflight.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/release.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/apply.sh"

QY_ENV=''
TO=''
APPS_ONLY=false
DEPLOYMENTS=()
QY_CONTEXT=''
QY_FORCE_CONTEXT=false
CHECK_ONLY=false
QY_YES=false
TIMEOUT=10m
FORCE_DATA_DOWNGRADE=false
LIST=false
PUBLIC_CHECK=true

while (($# > 0)); do
  case $1 in
    --to) qy_need_value "$@" && TO=$2 && shift ;;
    --to=*) TO=${1#*=} ;;
    --apps-only) APPS_ONLY=true ;;
    --deployment) qy_need_value "$@" && DEPLOYMENTS+=("$2") && shift ;;
    --list) LIST=true ;;
    *)
      qy_release_option "$@"
      shift $((QY_SHIFT - 1))
      ;;
  esac
  shift
done

[[ -n $QY_ENV ]] || qy_die '--env is required (production, staging or development)' 2
qy_check_env "$QY_ENV"
[[ -z $TO || $TO =~ ^[0-9]+$ ]] || qy_die "--to: a release id is a number, got '${TO}' (see --list)" 2
((${#DEPLOYMENTS[@]} == 0)) || [[ $APPS_ONLY == true ]] || qy_die '--deployment only goes with --apps-only' 2
MODE=$(qy_rollback_mode "$APPS_ONLY" "$TO") || exit 2
qy_require_command kubectl node tar base64 curl
qy_make_workdir

if [[ -z $QY_CONTEXT ]]; then
  QY_CONTEXT=$(kubectl config current-context 2>/dev/null || true)
fi
export QY_CONTEXT QY_ENV
QY_DEADLINE=$(($(date +%s) + $(qy_duration_seconds "$TIMEOUT")))

# ---- where are we ------------------------------------------------------------------------
qy_step "Find the live release of ${QY_ENV} (context ${QY_CONTEXT:-<none>})"
verdicts=$(qy_context_verdict "$QY_ENV" "$QY_CONTEXT" "$QY_FORCE_CONTEXT")
verdicts+=$'\n'$(qy_check_server_version)
qy_print_verdicts "$verdicts" || {
  qy_step_failed 'refused'
  exit 3
}
# The namespace: from the newest local record of the environment, else from the configuration.
QY_NAMESPACE=''
latest_local=$(find "$(qy_release_root "$QY_ENV")" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | awk -F/ '$NF ~ /^[0-9]+$/ { print $NF }' | sort -n | tail -1)
[[ -n $latest_local ]] && QY_NAMESPACE=$(qy_release_get "$(qy_release_root "$QY_ENV")/${latest_local}/release.env" namespace 2>/dev/null || true)
[[ -n $QY_NAMESPACE ]] || QY_NAMESPACE=$(qy_env_namespace "$QY_ENV" || true)
[[ -n $QY_NAMESPACE ]] || qy_die "cannot tell the namespace of ${QY_ENV} (no local release record, and config/ did not answer)" 3
export QY_NAMESPACE
live=$(qy_live_release)
records=$(qy_merge_records "$(qy_release_records "$QY_ENV")")
qy_step_done "namespace ${QY_NAMESPACE}, live release ${live:-unknown}"

if [[ $LIST == true ]]; then
  printf 'release\tstatus\n'
  awk -F'\t' '$1 ~ /^[0-9]+$/' <<<"$records" | sort -n | awk -F'\t' -v live="$live" '{ print $1 "\t" $2 ($1 == live ? "\t<- live" : "") }'
  exit 0
fi

# ---- apps only: rollout undo -------------------------------------------------------------
if [[ $MODE == undo ]]; then
  qy_step 'Plan: kubectl rollout undo of the app Deployments'
  if ((${#DEPLOYMENTS[@]} == 0)); then
    live_dir=''
    [[ -n $live ]] && live_dir=$(qy_fetch_release "$QY_ENV" "$live" || true)
    [[ -n $live_dir ]] || qy_die "cannot tell the app Deployments without the live release's record; pass --deployment NAME" 3
    qy_manifests facts "$live_dir/dist" >"$QY_WORK/live-facts.tsv"
    mapfile -t DEPLOYMENTS < <(QY_FACTS=$QY_WORK/live-facts.tsv qy_facts app-deployment name)
  fi
  ((${#DEPLOYMENTS[@]} > 0)) || qy_die 'no app Deployment to undo' 3
  for d in "${DEPLOYMENTS[@]}"; do
    # shellcheck disable=SC2016 # a Go template, not shell
    revisions=$(qy_kubectl get replicasets.apps -n "$QY_NAMESPACE" -l "app.kubernetes.io/name=${d}" \
      -o go-template='{{range .items}}{{index .metadata.annotations "deployment.kubernetes.io/revision"}}{{"\t"}}{{range .spec.template.spec.containers}}{{.image}} {{end}}{{"\n"}}{{end}}' 2>/dev/null | sort -n)
    [[ $(grep -c . <<<"$revisions") -ge 2 ]] || qy_die "Deployment ${d} has no previous revision to return to; re-apply a release instead (scripts/rollback.sh --env ${QY_ENV})" 3
    qy_info "${d}: revision $(tail -1 <<<"$revisions" | cut -f1) ($(tail -1 <<<"$revisions" | cut -f2)) -> revision $(tail -2 <<<"$revisions" | head -1 | cut -f1) ($(tail -2 <<<"$revisions" | head -1 | cut -f2))"
  done
  qy_info 'only the pod templates change: ConfigMaps, Services, policies and data stores stay as release '"${live:-?}"' left them'
  qy_step_done 'planned'
  if [[ $CHECK_ONLY == true ]]; then exit 0; fi
  qy_confirm 'roll back the apps'
  qy_step 'Undo the last rollout'
  for d in "${DEPLOYMENTS[@]}"; do
    qy_kubectl rollout undo "deployment/${d}" -n "$QY_NAMESPACE" 2>&1 | qy_progress
    ((PIPESTATUS[0] == 0)) || qy_die "rollout undo of ${d} failed" 4
  done
  qy_kubectl annotate namespace "$QY_NAMESPACE" --overwrite \
    "qingyu.io/drift=apps rolled back with rollout undo at $(date -u +%Y-%m-%dT%H:%M:%SZ); release ${live:-?} manifests no longer match" >/dev/null || true
  qy_step_done 'undone'
  qy_step "Wait for the rollouts (timeout ${TIMEOUT})"
  for d in "${DEPLOYMENTS[@]}"; do
    qy_kubectl rollout status "deployment/${d}" -n "$QY_NAMESPACE" --timeout="$(qy_seconds_left)s" 2>&1 | qy_progress
    if ((PIPESTATUS[0] != 0)); then
      qy_step_failed "Deployment ${d} did not finish its rollout"
      qy_diagnose Deployment "$d" "app.kubernetes.io/name=${d}"
      exit 5
    fi
  done
  qy_step_done 'rolled back'
  qy_log "${QY_GREEN}Apps rolled back.${QY_RESET} The next deploy brings them back in line with the code (total $(qy_elapsed "$QY_SCRIPT_START"))"
  exit 0
fi

# ---- re-apply a recorded release ---------------------------------------------------------
qy_step 'Choose the release to return to'
if [[ -z $TO ]]; then
  [[ -n $live ]] || qy_die 'the live release is unknown (no qingyu.io/release annotation); pass --to ID (see --list)' 3
  TO=$(qy_previous_release "$live" "$records")
  [[ -n $TO ]] || qy_die "no successful release before ${live} is recorded; see --list" 3
fi
[[ $TO != "$live" ]] || qy_die "release ${TO} is already live" 3
target=$(qy_fetch_release "$QY_ENV" "$TO") || qy_die "release ${TO} is neither in $(qy_release_root "$QY_ENV") nor in the cluster (ConfigMap ${QY_RELEASE_PREFIX}${TO})" 3
qy_step_done "release ${TO} (tag $(qy_release_get "$target/release.env" tag), commit $(qy_release_get "$target/release.env" git_commit)), live is ${live:-unknown}"

qy_prepare_apply "$target"
[[ $(qy_facts namespace name) == "$QY_NAMESPACE" ]] || qy_die "release ${TO} targets namespace '$(qy_facts namespace name)', not ${QY_NAMESPACE}" 3

qy_step 'Preflight checks'
verdicts=$(qy_preflight_verdicts)
verdicts+=$'\n'$(qy_datastore_verdicts "$(qy_live_datastore_images)" "$(qy_facts datastore-image statefulset container image)" "$FORCE_DATA_DOWNGRADE")
if ! qy_print_verdicts "$verdicts"; then
  qy_step_failed 'refused; nothing was changed'
  grep -q '^FAIL	data stores' <<<"$verdicts" && qy_log "  to roll back only the applications: scripts/rollback.sh --env ${QY_ENV} --apps-only"
  exit 3
fi
qy_step_done 'ready'

qy_step "What will change (back to release ${TO})"
diff_rc=0
qy_force_conflicts_after_drift
qy_show_diff || diff_rc=$?
((diff_rc == 2)) && exit 3
qy_step_done 'changes shown above'
if [[ $CHECK_ONLY == true ]]; then exit 0; fi
qy_confirm "roll back to release ${TO}"

qy_step "Re-apply release ${TO}"
qy_apply || qy_die "kubectl apply failed; the cluster may be partly rolled back" 4
qy_mark_live "$TO" "rolled back from ${live:-unknown} at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
qy_kubectl annotate namespace "$QY_NAMESPACE" qingyu.io/drift- >/dev/null 2>&1 || true
[[ -n $live ]] && qy_set_release_status "$QY_ENV" "$live" rolled-back
qy_step_done 'applied'

qy_step "Wait for the rollouts (timeout ${TIMEOUT})"
if ! qy_wait_rollouts; then
  qy_step_failed "$QY_FAILED"
  exit 5
fi
qy_step_done 'rolled out'
qy_step 'Verify health'
health=$(qy_wait_endpoints)
[[ $PUBLIC_CHECK == true ]] && health+=$'\n'$(qy_public_health_verdicts)
if ! qy_print_verdicts "$health"; then
  qy_step_failed 'unhealthy'
  exit 5
fi
qy_step_done 'healthy'
qy_log "${QY_GREEN}${QY_BOLD}Release ${TO} of ${QY_ENV} is live again${QY_RESET} (total $(qy_elapsed "$QY_SCRIPT_START"))"
