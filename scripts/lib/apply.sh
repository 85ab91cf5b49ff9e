# shellcheck shell=bash disable=SC2034 # globals here are read by the scripts that source this file
# The apply pipeline shared by deploy.sh and rollback.sh: show the change, apply it in order
# with safe pruning, wait for the rollouts, verify health. Requires common.sh, preflight.sh,
# release.sh, and QY_ENV, QY_NAMESPACE, QY_CONTEXT, QY_FACTS, QY_WORK.

# The ApplySet parent: a ConfigMap in the platform's namespace. Every object the deploy applies
# from dist/ (except those in NEVER_PRUNED_KINDS / cluster-scoped, see manifests.mjs) is labelled
# as its member, and `--prune` deletes members that are no longer in dist/, nothing else.
QY_APPLYSET=configmaps/qingyu-applyset

# Reads release dir $1's dist/ once: the facts into QY_FACTS, and the objects split into
# $QY_WORK/apply/{outside,members} (see scripts/lib/manifests.mjs).
qy_prepare_apply() {
  rm -rf "$QY_WORK/apply"
  qy_manifests prepare "$1/dist" "$QY_WORK/apply"
  QY_FACTS="$QY_WORK/apply/facts.tsv"
  export QY_FACTS
}

# qy_release_option ARGS...: the options deploy.sh and rollback.sh share (--check, --timeout,
# --force-data-downgrade, --no-public-check), then those of every script (qy_common_option).
qy_release_option() {
  QY_SHIFT=1
  case $1 in
    --check) CHECK_ONLY=true ;;
    --timeout | --timeout=*)
      if [[ $1 == --timeout ]]; then
        qy_need_value "$@" && TIMEOUT=$2 && QY_SHIFT=2
      else
        TIMEOUT=${1#*=}
      fi
      [[ $TIMEOUT =~ ^[0-9]+[smh]?$ ]] || qy_die "--timeout: expected a duration like 600s, 10m or 1h, got '${TIMEOUT}'" 2
      ;;
    --force-data-downgrade) FORCE_DATA_DOWNGRADE=true ;;
    --no-public-check) PUBLIC_CHECK=false ;;
    *) qy_common_option "$@" ;;
  esac
}

# The apply commands, as arrays, so that the diff, the dry run and the apply use the same flags.
qy_apply_outside_args() {
  QY_ARGS=(apply --server-side "--field-manager=${QY_FIELD_MANAGER}")
  [[ ${QY_FORCE_CONFLICTS:-false} == true ]] && QY_ARGS+=(--force-conflicts)
  QY_ARGS+=(-f "$QY_WORK/apply/outside")
}

qy_apply_members_args() {
  QY_ARGS=(apply --server-side "--field-manager=${QY_FIELD_MANAGER}" -n "$QY_NAMESPACE"
    --prune "--applyset=${QY_APPLYSET}")
  [[ ${QY_FORCE_CONFLICTS:-false} == true ]] && QY_ARGS+=(--force-conflicts)
  QY_ARGS+=(-f "$QY_WORK/apply/members")
}

qy_has_files() { compgen -G "$1/*.yaml" >/dev/null; }

# After `rollback.sh --apps-only`, kubectl's rollout undo owns the app pod templates (the namespace
# carries qingyu.io/drift until the next apply), so a plain server-side apply stops at that
# conflict. The apply that ends the drift takes the fields back: --force-conflicts, said aloud.
qy_force_conflicts_after_drift() {
  [[ ${QY_FORCE_CONFLICTS:-false} == true ]] && return 0
  local drift
  drift=$(qy_kubectl get namespace "$QY_NAMESPACE" -o jsonpath='{.metadata.annotations.qingyu\.io/drift}' 2>/dev/null) || return 0
  [[ -n $drift ]] || return 0
  qy_info "the namespace records drift (${drift}): this apply takes the fields back (--force-conflicts)"
  QY_FORCE_CONFLICTS=true
}

# Shows what the apply would change: `kubectl diff` of every object, then what pruning would
# delete (a server-side dry run of the ApplySet apply). Returns 0 when there is nothing to do,
# 1 when there are changes, 2 when the diff itself failed.
qy_show_diff() {
  local rc=0 out
  if ! qy_kubectl get namespace "$QY_NAMESPACE" -o name >/dev/null 2>&1; then
    # A first deploy: the server cannot dry-run objects into a namespace that does not exist yet.
    qy_info "namespace ${QY_NAMESPACE} does not exist yet: everything will be created:"
    local kind name
    while IFS=$'\t' read -r kind name; do printf '    + %s %s\n' "$kind" "$name"; done < <(qy_facts object kind name) >&2
    QY_PRUNES=''
    return 1
  fi
  # The diff takes the apply's own flags (field manager, --force-conflicts), minus pruning.
  if qy_has_files "$QY_WORK/apply/outside"; then
    qy_apply_outside_args
    qy_kubectl diff "${QY_ARGS[@]:1}" || rc=$?
  fi
  if qy_has_files "$QY_WORK/apply/members"; then
    local mrc=0 arg args=()
    qy_apply_members_args
    for arg in "${QY_ARGS[@]:1}"; do
      [[ $arg == --prune || $arg == --applyset=* ]] || args+=("$arg")
    done
    qy_kubectl diff "${args[@]}" || mrc=$?
    ((mrc > rc)) && rc=$mrc
  fi
  if ((rc > 1)); then
    qy_error "kubectl diff failed (exit ${rc}); see above"
    return 2
  fi
  QY_PRUNES=''
  if qy_has_files "$QY_WORK/apply/members"; then
    qy_apply_members_args
    if out=$(KUBECTL_APPLYSET=true qy_kubectl "${QY_ARGS[@]}" --dry-run=server 2>&1); then
      QY_PRUNES=$(grep -E ' pruned' <<<"$out" || true)
    else
      qy_warn "could not dry-run the prune: ${out%%$'\n'*}"
    fi
  fi
  if [[ -n $QY_PRUNES ]]; then
    printf '\n%s\n' "${QY_BOLD}Objects no longer in the manifests, to be deleted:${QY_RESET}" >&2
    sed 's/ (server dry run)//; s/^/  - /' <<<"$QY_PRUNES" >&2
  fi
  [[ $rc -eq 0 && -z $QY_PRUNES ]]
}

# Cluster-scoped objects of release $1 that release $2 does not have: a deploy never deletes
# them (they are outside the ApplySet), so they are listed for a person to remove.
qy_orphaned_cluster_objects() {
  local previous_facts=$1 current_facts=$2
  [[ -f $previous_facts ]] || return 0
  comm -23 <(QY_FACTS=$previous_facts qy_cluster_objects | grep -v '^Namespace/' | sort -u) \
    <(QY_FACTS=$current_facts qy_cluster_objects | sort -u)
}

# The cluster-scoped objects of the facts file $QY_FACTS, as Kind/name lines.
qy_cluster_objects() {
  local kind name scope
  while IFS=$'\t' read -r kind name scope; do
    [[ $scope == cluster ]] && printf '%s/%s\n' "$kind" "$name"
  done < <(qy_facts object kind name scope)
}

# Asks for confirmation unless --yes. Production needs its name typed.
qy_confirm() {
  local what=$1 answer
  [[ ${QY_YES:-false} == true ]] && return 0
  if [[ ! -t 0 ]]; then
    qy_die "not a terminal: pass --yes to ${what} without a prompt" 3
  fi
  if [[ $QY_ENV == production ]]; then
    printf '%s' "Type 'production' to ${what} to ${QY_CONTEXT}: " >&2
    read -r answer
    [[ $answer == production ]] || qy_die 'not confirmed; nothing was changed' 3
  else
    printf '%s' "${what^} ${QY_ENV} to ${QY_CONTEXT}? [y/N] " >&2
    read -r answer
    [[ $answer == y || $answer == Y || $answer == yes ]] || qy_die 'not confirmed; nothing was changed' 3
  fi
}

# Applies the prepared directories: first what is never pruned (Namespace, PVCs, cluster-scoped
# objects) without --prune, then the namespace's objects as the ApplySet with --prune.
qy_apply() {
  if qy_has_files "$QY_WORK/apply/outside"; then
    qy_apply_outside_args
    qy_kubectl "${QY_ARGS[@]}" 2>&1 | qy_progress
    ((PIPESTATUS[0] == 0)) || return 1
  fi
  if qy_has_files "$QY_WORK/apply/members"; then
    qy_apply_members_args
    KUBECTL_APPLYSET=true qy_kubectl "${QY_ARGS[@]}" 2>&1 | qy_progress
    ((PIPESTATUS[0] == 0)) || return 1
  fi
}

# Seconds left before the deadline QY_DEADLINE (epoch seconds).
qy_seconds_left() {
  local now
  now=$(date +%s)
  printf '%d' $((QY_DEADLINE > now ? QY_DEADLINE - now : 0))
}

# Waits for every Deployment and StatefulSet of the facts to finish its rollout, in apply order,
# then for every Job to complete.
# On failure prints the pods and recent events of the workload and returns 1, naming it in QY_FAILED.
qy_wait_rollouts() {
  local kind name selector left resource
  QY_FAILED=''
  while IFS=$'\t' read -r kind name selector; do
    [[ $kind == Deployment || $kind == StatefulSet || $kind == DaemonSet ]] || continue
    left=$(qy_seconds_left)
    resource="$(tr '[:upper:]' '[:lower:]' <<<"$kind")/${name}"
    if ((left <= 0)); then
      QY_FAILED="${kind} ${name}: not checked, the --timeout ran out"
      return 1
    fi
    qy_info "waiting for ${kind} ${name} (up to ${left}s)"
    qy_kubectl rollout status "$resource" -n "$QY_NAMESPACE" --watch=true --timeout="${left}s" 2>&1 | qy_progress
    if ((PIPESTATUS[0] != 0)); then
      QY_FAILED="${kind} ${name} did not finish its rollout"
      qy_diagnose "$kind" "$name" "$selector"
      return 1
    fi
  done < <(qy_facts workload kind name selector)
  qy_wait_jobs
}

# Waits for every Job of the facts (one-off steps such as milvus-auth, which run once their
# store is up) to complete; a failed Job (its backoffLimit or deadline spent) fails at once.
qy_wait_jobs() {
  local name state left
  while IFS=$'\t' read -r name; do
    [[ -n $name ]] || continue
    qy_info "waiting for Job ${name} to complete (up to $(qy_seconds_left)s)"
    while :; do
      # shellcheck disable=SC2016 # a Go template, not shell
      state=$(qy_kubectl get job "$name" -n "$QY_NAMESPACE" -o go-template='{{range .status.conditions}}{{if eq .status "True"}}{{.type}} {{end}}{{end}}' 2>&1) || state="error: ${state}"
      case $state in
        *Complete*) break ;;
        *Failed*)
          QY_FAILED="Job ${name} failed"
          qy_diagnose Job "$name" "batch.kubernetes.io/job-name=${name}"
          qy_kubectl logs -n "$QY_NAMESPACE" "job/${name}" --tail=20 2>&1 | sed 's/^/    /' >&2 || true
          return 1
          ;;
      esac
      left=$(qy_seconds_left)
      if ((left <= 0)); then
        QY_FAILED="Job ${name} did not complete before the --timeout ran out"
        qy_diagnose Job "$name" "batch.kubernetes.io/job-name=${name}"
        return 1
      fi
      sleep "${QY_POLL_SECONDS:-5}"
    done
  done < <(qy_facts job name)
}

# Pods and recent events of a workload, for the person reading the failure.
qy_diagnose() {
  local kind=$1 name=$2 selector=$3
  qy_log "  pods of ${kind} ${name}:"
  qy_kubectl get pods -n "$QY_NAMESPACE" -l "$selector" -o wide 2>&1 | sed 's/^/    /' >&2 || true
  qy_log "  recent events:"
  qy_kubectl events -n "$QY_NAMESPACE" --for "$(tr '[:upper:]' '[:lower:]' <<<"$kind")/${name}" 2>&1 | tail -n 15 | sed 's/^/    /' >&2 || true
}

# Ready endpoints per Service: "service<TAB>ready<TAB>not ready" from the EndpointSlices.
qy_endpoint_counts() {
  qy_kubectl get endpointslices.discovery.k8s.io -n "$QY_NAMESPACE" \
    -o go-template='{{range .items}}{{index .metadata.labels "kubernetes.io/service-name"}}{{"\t"}}{{range .endpoints}}{{if .conditions.ready}}R{{else}}N{{end}}{{end}}{{"\n"}}{{end}}' 2>/dev/null |
    awk -F'\t' '{ r[$1] += gsub(/R/, "", $2); n[$1] += gsub(/N/, "", $2); s[$1] = 1 } END { for (k in s) print k "\t" r[k] "\t" n[k] }'
}

# Verdicts: every Service with a selector has at least one ready endpoint. $1: counts as above.
qy_endpoint_verdicts() {
  local counts=$1 name selector kind ready
  while IFS=$'\t' read -r name selector kind; do
    [[ -n $name && $selector == selector ]] || continue
    ready=$(awk -F'\t' -v s="$name" '$1 == s { print $2; exit }' <<<"$counts")
    if [[ ${ready:-0} -gt 0 ]]; then
      qy_verdict PASS 'endpoints' "Service ${name}: ${ready} ready endpoint(s)"
    else
      qy_verdict FAIL 'endpoints' "Service ${name} has no ready endpoint" "kubectl get endpointslices -n ${QY_NAMESPACE} -l kubernetes.io/service-name=${name}; kubectl describe service ${name} -n ${QY_NAMESPACE}"
    fi
  done < <(qy_facts service name selector type)
}

# The Services that endpoint verdicts $1 FAIL, one name a line.
qy_failing_services() {
  awk -F'\t' '$1 == "FAIL" { s = $3; sub(/^Service /, "", s); sub(/ has no ready endpoint$/, "", s); print s }' <<<"$1"
}

# The Services that have no ready endpoint now, one name a line.
qy_unready_services() { qy_failing_services "$(qy_endpoint_verdicts "$(qy_endpoint_counts)")"; }

# Verdicts $1 with the FAIL of each Service named in $2 (one a line) turned into a WARN: a
# Service that had no ready endpoint before a change began is not the change's failure.
qy_excuse_unready() {
  awk -F'\t' -v OFS='\t' -v excused="${2//$'\n'/,}" '
    BEGIN { n = split(excused, names, ","); for (i = 1; i <= n; i++) if (names[i] != "") known["Service " names[i] " has no ready endpoint"] = 1 }
    $1 == "FAIL" && ($3 in known) { $1 = "WARN"; $3 = $3 " (and had none before)" }
    { print }' <<<"$1"
}

# Polls the Services until all have ready endpoints, for at most QINGYU_ENDPOINT_WAIT seconds
# (default 120: endpoints follow readiness by a few seconds) and never past the deadline.
# Prints the verdicts on stdout (callers capture them); while it waits, which Services it waits
# for on stderr, like the rollout waits: when that list changes, and every 30 s. $1 (optional):
# Services, one a line, that had no ready endpoint before; they neither hold the wait nor fail.
# shellcheck disable=SC2120 # $1 is optional: deploy and rollback excuse nothing
qy_wait_endpoints() {
  local excused=${1:-} verdicts waiting now shown='' shown_at=0 until=$(($(date +%s) + ${QINGYU_ENDPOINT_WAIT:-120}))
  ((until > QY_DEADLINE)) && until=$QY_DEADLINE
  while :; do
    verdicts=$(qy_excuse_unready "$(qy_endpoint_verdicts "$(qy_endpoint_counts)")" "$excused")
    now=$(date +%s)
    if ! grep -q '^FAIL' <<<"$verdicts" || ((now >= until)); then break; fi
    waiting=$(qy_failing_services "$verdicts")
    if [[ $waiting != "$shown" ]] || ((now - shown_at >= 30)); then
      printf 'waiting for ready endpoints of %s (up to %ds more)\n' "$(qy_join ', ' "$waiting")" $((until - now)) | qy_progress
      shown=$waiting shown_at=$now
    fi
    sleep "${QY_POLL_SECONDS:-5}"
  done
  printf '%s\n' "$verdicts"
}

# /health through the public host(s), when reachable from here.
qy_public_health_verdicts() {
  local host scheme code rc
  while IFS=$'\t' read -r host scheme; do
    [[ -n $host ]] || continue
    rc=0
    code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "${scheme}://${host}/health" 2>/dev/null) || rc=$?
    case $rc in
      0)
        if [[ $code == 2* ]]; then
          qy_verdict PASS 'public health' "${scheme}://${host}/health answered ${code}"
        else
          qy_verdict FAIL 'public health' "${scheme}://${host}/health answered ${code}" "kubectl describe ingress -n ${QY_NAMESPACE}; check the controller's logs"
        fi
        ;;
      6 | 7 | 28) qy_verdict WARN 'public health' "${host} is not reachable from this machine (curl exit ${rc}); skipped" ;;
      *) qy_verdict FAIL 'public health' "${scheme}://${host}/health failed (curl exit ${rc}, e.g. 60 = certificate problem)" "curl -v ${scheme}://${host}/health" ;;
    esac
  done < <(qy_facts ingress-host host scheme | sort -u)
}
