#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Deploys one environment of the Qingyu platform: renders the manifests, checks the cluster is
# ready for them, shows what will change, applies in order with safe pruning, waits for every
# rollout and verifies health. Every deploy is kept as a release a rollback can return to.
# Runbook: docs/operations.md.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/deploy.sh [--env ENV] [--tag TAG] [options]

  --env ENV               production (default), staging or development
  --tag TAG               application image tag or sha256 digest (default: config/environments.ts)
  --context CTX           kubectl context (default: the current one, pinned for the whole run)
  --force-context         deploy even if the context's name does not match the environment
  --release-dir DIR       deploy a release rendered earlier (DIR/dist + DIR/release.env) instead of synthesizing
  --check                 stop after the preflight checks and the diff; change nothing
  --yes                   do not ask for confirmation (automation)
  --timeout DURATION      total time allowed for rollouts and health checks (default 10m)
  --force-conflicts       take ownership of fields another field manager changed (server-side apply)
  --force-data-downgrade  allow a data store image to go down (read docs/operations.md first)
  --no-public-check       skip the request to the public host's /health
  -h, --help              this help

exit codes: 0 deployed and healthy (or --check passed), 2 usage, 3 preflight failed or not
confirmed, 4 apply failed, 5 rollout or health check failed (the release stays applied; see
scripts/rollback.sh)
EOF
}

source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/preflight.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/release.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/apply.sh"

QY_ENV=production
TAG=''
QY_CONTEXT=''
QY_FORCE_CONTEXT=false
RELEASE_DIR=''
CHECK_ONLY=false
QY_YES=false
TIMEOUT=10m
QY_FORCE_CONFLICTS=false
FORCE_DATA_DOWNGRADE=false
PUBLIC_CHECK=true

while (($# > 0)); do
  case $1 in
    --tag) qy_need_value "$@" && TAG=$2 && shift ;;
    --tag=*) TAG=${1#*=} ;;
    --release-dir) qy_need_value "$@" && RELEASE_DIR=$2 && shift ;;
    --force-conflicts) QY_FORCE_CONFLICTS=true ;;
    *)
      qy_release_option "$@"
      shift $((QY_SHIFT - 1))
      ;;
  esac
  shift
done

qy_check_env "$QY_ENV"
[[ -z $TAG || -z $RELEASE_DIR ]] || qy_die '--tag and --release-dir exclude each other: a rendered release has its tag already' 2
qy_require_command kubectl node tar base64 curl
qy_make_workdir

if [[ -z $QY_CONTEXT ]]; then
  QY_CONTEXT=$(kubectl config current-context 2>/dev/null || true)
fi
export QY_CONTEXT QY_ENV

qy_log "${QY_BOLD}Deploying Qingyu ${QY_ENV}${QY_RESET} to context '${QY_CONTEXT:-<none>}'"

# ---- 1. render ----------------------------------------------------------------------------
STAGE="$QY_WORK/release"
if [[ -n $RELEASE_DIR ]]; then
  qy_step "Use the release rendered in ${RELEASE_DIR}"
  [[ -d $RELEASE_DIR/dist && -f $RELEASE_DIR/release.env ]] || qy_die "${RELEASE_DIR} is not a release directory (it needs dist/ and release.env)" 2
  recorded_env=$(qy_release_get "$RELEASE_DIR/release.env" env)
  [[ $recorded_env == "$QY_ENV" ]] || qy_die "${RELEASE_DIR} was rendered for '${recorded_env}', not '${QY_ENV}'" 2
  mkdir -p "$STAGE"
  cp -R "$RELEASE_DIR/dist" "$STAGE/dist"
  cp "$RELEASE_DIR/release.env" "$STAGE/release.env"
  TAG=$(qy_release_get "$STAGE/release.env" tag)
  qy_step_done "release of ${recorded_env}, tag ${TAG:-default}"
else
  qy_step "Render ${QY_ENV}${TAG:+ with image tag ${TAG}} (npm run synth)"
  mkdir -p "$STAGE"
  if ! QINGYU_ENV=$QY_ENV QINGYU_IMAGE_TAG=$TAG node "$QY_ROOT/scripts/synth.mjs" --output "$STAGE/dist" 2>&1 | qy_progress; then
    qy_step_failed 'synthesis failed'
    exit 3
  fi
  commit=$(git -C "$QY_ROOT" rev-parse --short=12 HEAD 2>/dev/null || printf 'unknown')
  [[ -n $(git -C "$QY_ROOT" status --porcelain 2>/dev/null) ]] && commit+='-dirty'
  {
    printf 'env=%s\n' "$QY_ENV"
    printf 'tag=%s\n' "${TAG:-default}"
    printf 'git_commit=%s\n' "$commit"
    printf 'rendered_at=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf 'rendered_by=%s\n' "${USER:-$(id -un)}@$(hostname)"
  } >"$STAGE/release.env"
  qy_step_done "$(find "$STAGE/dist" -name '*.yaml' | wc -l | tr -d ' ') files, commit ${commit}"
fi

qy_prepare_apply "$STAGE"
QY_NAMESPACE=$(qy_facts namespace name)
[[ -n $QY_NAMESPACE && $(grep -c . <<<"$QY_NAMESPACE") -eq 1 ]] || qy_die "the manifests must target exactly one namespace, found: ${QY_NAMESPACE:-none}" 3
export QY_NAMESPACE

# ---- 2. preflight -------------------------------------------------------------------------
qy_step "Preflight checks (context ${QY_CONTEXT:-<none>}, namespace ${QY_NAMESPACE})"
verdicts=$(qy_preflight_verdicts)
verdicts+=$'\n'$(qy_datastore_verdicts "$(qy_live_datastore_images)" "$(qy_facts datastore-image statefulset container image)" "$FORCE_DATA_DOWNGRADE")
if [[ $(qy_release_get "$STAGE/release.env" git_commit) == *-dirty && $QY_ENV == production ]]; then
  verdicts+=$'\n'$(qy_verdict WARN 'source' 'the working tree has uncommitted changes; the release records the commit with -dirty')
fi
if ! qy_print_verdicts "$verdicts"; then
  qy_step_failed 'the cluster is not ready for these manifests; nothing was changed'
  exit 3
fi
qy_step_done 'ready'

# ---- 3. diff ------------------------------------------------------------------------------
qy_step 'What will change (kubectl diff, and what pruning deletes)'
diff_rc=0
qy_force_conflicts_after_drift
qy_show_diff || diff_rc=$?
((diff_rc == 2)) && exit 3
live_release=$(qy_live_release)
if [[ -n $live_release ]]; then
  previous_dir="$(qy_release_root "$QY_ENV")/${live_release}"
  if [[ -d $previous_dir/dist ]]; then
    qy_manifests facts "$previous_dir/dist" >"$QY_WORK/previous-facts"
    orphans=$(qy_orphaned_cluster_objects "$QY_WORK/previous-facts" "$QY_FACTS")
    [[ -z $orphans ]] || qy_warn "cluster-scoped objects no longer in the manifests (a deploy never deletes them; remove by hand): $(paste -sd' ' - <<<"$orphans")"
  fi
fi
if ((diff_rc == 0)); then qy_step_done 'no changes: the cluster already runs these manifests'; else qy_step_done 'changes shown above'; fi

if [[ $CHECK_ONLY == true ]]; then
  qy_log "${QY_GREEN}--check: preflight passed; nothing was changed${QY_RESET} ($(qy_elapsed "$QY_SCRIPT_START"))"
  exit 0
fi
qy_confirm 'deploy'

# ---- 4. record and apply ------------------------------------------------------------------
qy_step 'Record the release'
records=$(qy_merge_records "$(qy_release_records "$QY_ENV")")
release_id=$(qy_next_release_id "$records")
release_path="$(qy_release_root "$QY_ENV")/${release_id}"
mkdir -p "$(dirname "$release_path")"
rm -rf "$release_path"
cp -R "$STAGE" "$release_path"
qy_release_set "$release_path/release.env" release "$release_id"
qy_release_set "$release_path/release.env" context "$QY_CONTEXT"
qy_release_set "$release_path/release.env" namespace "$QY_NAMESPACE"
qy_release_set "$release_path/release.env" deployed_at "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
qy_release_set "$release_path/release.env" previous_release "${live_release:-none}"
qy_release_set "$release_path/release.env" app_images "$(qy_app_images)"
qy_release_set "$release_path/release.env" status applying
qy_step_done "release ${release_id} in ${release_path}"

qy_step "Apply release ${release_id} (server-side, ApplySet ${QY_APPLYSET} prunes what was removed)"
if ! qy_apply; then
  qy_set_release_status "$QY_ENV" "$release_id" failed
  qy_step_failed 'kubectl apply failed; the cluster may be partly updated'
  qy_log "  fix the cause and deploy again, or roll back: scripts/rollback.sh --env ${QY_ENV}"
  exit 4
fi
qy_store_release_in_cluster "$release_path" "$release_id" applying ||
  qy_warn "could not store release ${release_id} in the cluster (ConfigMap ${QY_RELEASE_PREFIX}${release_id}); it is kept in ${release_path}"
qy_mark_live "$release_id" "deployed $(date -u +%Y-%m-%dT%H:%M:%SZ) tag ${TAG:-default}"
qy_kubectl annotate namespace "$QY_NAMESPACE" qingyu.io/drift- >/dev/null 2>&1 || true
qy_step_done 'applied'

# ---- 5. wait and verify -------------------------------------------------------------------
QY_DEADLINE=$(($(date +%s) + $(qy_duration_seconds "$TIMEOUT")))
qy_step "Wait for the rollouts (timeout ${TIMEOUT})"
if ! qy_wait_rollouts; then
  qy_set_release_status "$QY_ENV" "$release_id" failed
  qy_step_failed "$QY_FAILED"
  qy_log "  release ${release_id} stays applied. Roll back: scripts/rollback.sh --env ${QY_ENV}   (apps only: --apps-only)"
  exit 5
fi
qy_step_done 'every Deployment and StatefulSet is rolled out'

qy_step 'Verify health (Service endpoints, public /health)'
health=$(qy_wait_endpoints)
[[ $PUBLIC_CHECK == true ]] && health+=$'\n'$(qy_public_health_verdicts)
if ! qy_print_verdicts "$health"; then
  qy_set_release_status "$QY_ENV" "$release_id" failed
  qy_step_failed "unhealthy: $(grep '^FAIL' <<<"$health" | cut -f3 | paste -sd';' -)"
  qy_log "  release ${release_id} stays applied. Roll back: scripts/rollback.sh --env ${QY_ENV}"
  exit 5
fi
qy_set_release_status "$QY_ENV" "$release_id" succeeded
qy_step_done 'healthy'

qy_log ""
qy_log "${QY_GREEN}${QY_BOLD}Release ${release_id} of ${QY_ENV} is live and healthy${QY_RESET} (total $(qy_elapsed "$QY_SCRIPT_START"))"
