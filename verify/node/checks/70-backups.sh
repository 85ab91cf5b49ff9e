# shellcheck shell=bash
# Check 10, backup and restore drills, for the stores that run here (MongoDB cannot: its image is
# absent). Each drill:
#   1. writes a marker into the store;
#   2. runs the store's backup CronJob once, now (a Job from the CronJob, as the schedule would
#      make it: the restic image and the store's own dump step, uploading to the in-cluster MinIO's
#      `backups` bucket as the backup user) and waits for it to complete;
#   3. changes the marker and writes a second key after the backup;
#   4. runs scripts/restore.sh --store STORE --yes (the operations script itself: it suspends the
#      CronJob, stops the writers, runs the restore Job, starts the writers, verifies the
#      Services' endpoints, resumes the CronJob), timed against the RTO the CronJob declares
#      (qingyu.io/rto-minutes, config rtoMinutes): over it fails;
#   5. proves the store holds the marker as it was at the backup and not the later key, and the
#      writers are back.
#   10a redis   the marker a key (go-backend's user); restored: the key's old value, the later key
#               gone, go-backend and python-ai Ready again
#   10b etcd    the marker a key under /qingyu-verify/ (Milvus's metadata store); restored: as
#               redis, and Milvus healthy again with its collection searchable (its metadata
#               from the snapshot, its segments in MinIO)
# restore.sh verifies that every Service has ready endpoints; here the Services of the absent
# images (MongoDB, Grafana) never have any, so its verdict may fail for those and only those
# (recorded before the drill): any other Service without endpoints fails the drill.
# Registered after check 3 (a restore stops the applications and the store); 10b after 6b, as
# both restart Milvus.

QY_DRILL_TIMEOUT="${QY_DRILL_TIMEOUT:-600}"

# _drill_unready_services: the Services without a ready endpoint now, one name a line.
_drill_unready_services() {
  # shellcheck disable=SC2016 # JavaScript, not shell
  kc -n "$QY_NS" get endpointslices -o json | qy_json '(() => {
    const ready = new Map();
    for (const s of j.items) {
      const svc = s.metadata.labels?.["kubernetes.io/service-name"];
      if (!svc) continue;
      const n = (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).length;
      ready.set(svc, (ready.get(svc) ?? 0) + n);
    }
    return [...ready].filter(([, n]) => n === 0).map(([s]) => s).sort().join("\n");
  })()'
}

# _drill_backup CRONJOB: one run of the CronJob, now; prints its time and the last log line.
_drill_backup() {
  local cron="$1" job t0 status
  job="$cron-drill-$(date +%s)"
  t0="$(_qy_node_now)"
  kc -n "$QY_NS" create job "$job" --from="cronjob/$cron" >/dev/null || return 1
  if ! kc -n "$QY_NS" wait --for=condition=complete "job/$job" --timeout="${QY_DRILL_TIMEOUT}s" >/dev/null 2>&1; then
    status="$(kc -n "$QY_NS" get "job/$job" -o jsonpath='{.status}')"
    echo "  backup Job $job did not complete: $status"
    kc -n "$QY_NS" logs "job/$job" --all-containers --prefix --tail=20 2>&1 | sed 's/^/    /'
    return 1
  fi
  QY_DRILL_BACKUP_SECONDS="$(_qy_node_since "$t0")"
  echo "  backup: Job $job (from CronJob $cron) complete in ${QY_DRILL_BACKUP_SECONDS}s: $(kc -n "$QY_NS" logs "job/$job" --all-containers 2>/dev/null | grep -E 'snapshot [0-9a-f]{8} saved|^backup:' | paste -sd' ')"
  kc -n "$QY_NS" delete job "$job" --wait=false >/dev/null 2>&1 || true
}

# _drill_rto STORE: the restore time the platform declares for STORE, in minutes (the
# qingyu.io/rto-minutes annotation of its backup CronJob, from config rtoMinutes).
_drill_rto() { kc -n "$QY_NS" get cronjob "$1-backup" -o jsonpath='{.metadata.annotations.qingyu\.io/rto-minutes}'; }

# _drill_restore STORE UNREADY_BEFORE: scripts/restore.sh --yes against the node; its output in
# the check's log. Passes when it exits 0, or exits 1 with FAIL verdicts for Services of
# UNREADY_BEFORE only, and within the store's RTO.
_drill_restore() {
  local store="$1" before="$2" out rc=0 t0 fails bad rto
  out="$QY_NODE_WORK/logs/restore-$store.log"
  rto="$(_drill_rto "$store")"
  [[ "$rto" =~ ^[0-9]+$ ]] || { echo "  CronJob $store-backup declares no RTO (annotation qingyu.io/rto-minutes: '$rto')"; return 1; }
  t0="$(_qy_node_now)"
  PATH="$QY_NODE_BIN_K8S:$PATH" KUBECONFIG="$QY_NODE_KUBECONFIG" KUBECACHEDIR="$QY_NODE_WORK/kube-cache" NO_COLOR=1 \
    QY_POLL_SECONDS=2 QINGYU_ENDPOINT_WAIT="${QY_DRILL_ENDPOINT_WAIT:-20}" \
    bash "$QY_VERIFY_REPO/scripts/restore.sh" --env "$QY_PLATFORM_ENV" --store "$store" --yes \
    --release-dir "$QY_NODE_WORK/release" --timeout "${QY_DRILL_TIMEOUT}s" >"$out" 2>&1 || rc=$?
  QY_DRILL_RESTORE_SECONDS="$(_qy_node_since "$t0")"
  # The FAIL verdicts, as the Services they name.
  fails="$(sed -n 's/^ *FAIL .*Service \([a-z0-9-]*\) has no ready endpoint.*/\1/p' "$out" | sort -u)"
  bad="$(grep -E '^ *FAIL ' "$out" | grep -v 'has no ready endpoint' || true)"
  local s unexpected=""
  for s in $fails; do grep -qxF "$s" <<<"$before" || unexpected+="$s "; done
  if ((rc == 0)) || { ((rc == 1)) && [[ -z "$bad" && -z "$unexpected" && -n "$fails" ]]; }; then
    echo "  restore: scripts/restore.sh --store $store --yes exit $rc in ${QY_DRILL_RESTORE_SECONDS}s, RTO $rto min ($(grep -cE '^ *PASS ' "$out") Services with ready endpoints; without, as before the drill: $(paste -sd' ' <<<"$fails"))"
    sed -n 's/^ *\(restore: .*\)$/    \1/p' "$out" | head -n 5
    if awk -v t="$QY_DRILL_RESTORE_SECONDS" -v m="$rto" 'BEGIN { exit !(t > m * 60) }'; then
      echo "  the restore took ${QY_DRILL_RESTORE_SECONDS}s, over the ${rto} min RTO the platform declares for $store"
      return 1
    fi
    QY_DRILL_RTO="$rto"
    return 0
  fi
  echo "  restore: scripts/restore.sh --store $store --yes exit $rc after ${QY_DRILL_RESTORE_SECONDS}s${unexpected:+; Services without endpoints that had them before: $unexpected}"
  grep -vE '^ *(PASS|WARN) ' "$out" | tail -n 30 | sed 's/^/    /'
  # A failed restore leaves the writers stopped and the CronJob suspended, and prints the
  # commands that start them again: run them, so that the later checks judge their own things.
  local line n=0
  while IFS= read -r line; do
    read -r -a cmd <<<"${line#*kubectl }"
    cmd=("${cmd[@]//\'/}")
    kc "${cmd[@]}" >/dev/null 2>&1 && n=$((n + 1))
  done < <(grep -E "^ +kubectl -n $QY_NS (scale|patch cronjob) " "$out")
  ((n == 0)) || echo "  (ran restore.sh's $n commands that start the writers again and resume the CronJob)"
  return 1
}

# _drill_apps_back: go-backend and python-ai at the override's pod count, all Ready.
_drill_apps_back() {
  local app n
  for app in go-backend python-ai; do
    n="$(kc -n "$QY_NS" get deployment "$app" -o jsonpath='{.status.readyReplicas}')"
    [[ "${n:-0}" == "$QY_PLATFORM_APP_REPLICAS" ]] || { echo "$app: ${n:-0} Ready of $QY_PLATFORM_APP_REPLICAS"; return 1; }
  done
}

check_drill_redis() {
  qy_platform_settled || return 1
  local key="qingyu:verify:drill" later="qingyu:verify:drill-later" before after got unready
  unready="$(_drill_unready_services)"
  before="before-$(openssl rand -hex 8)"
  after="after-$(openssl rand -hex 8)"
  got="$(qy_redis_cli go-backend SET "$key" "$before")"
  [[ "$got" == OK ]] || { echo "SET $key: $got"; return 1; }
  _drill_backup redis-backup || { echo "the Redis backup failed"; return 1; }
  qy_redis_cli go-backend SET "$key" "$after" >/dev/null
  qy_redis_cli go-backend SET "$later" x >/dev/null
  [[ "$(qy_redis_cli go-backend GET "$key")" == "$after" ]] || { echo "the marker could not be changed after the backup"; return 1; }
  _drill_restore redis "$unready" || { echo "the Redis restore failed"; return 1; }
  qy_wait 120 _fault_ready redis-0 "" >/dev/null || { echo "redis-0 not Ready after the restore"; return 1; }
  got="$(qy_redis_cli go-backend GET "$key")"
  local exists
  exists="$(qy_redis_cli go-backend EXISTS "$later")"
  qy_redis_cli go-backend DEL "$key" >/dev/null 2>&1 || true
  [[ "$got" == "$before" ]] || { echo "after the restore $key is '$got', want the value at the backup ('$before'; '$after' was written after it)"; return 1; }
  [[ "$exists" == 0 ]] || { echo "after the restore $later (written after the backup) exists: EXISTS -> $exists"; return 1; }
  qy_wait 120 _drill_apps_back >/dev/null || { echo "the applications are not back after the restore: $(_drill_apps_back)"; return 1; }
  echo "Redis backed up (${QY_DRILL_BACKUP_SECONDS}s) and restored by scripts/restore.sh (${QY_DRILL_RESTORE_SECONDS}s, RTO ${QY_DRILL_RTO} min): the key as it was at the backup, the later key gone, the applications back"
}

_drill_etcdctl() { kc -n "$QY_NS" exec etcd-0 -c etcd -- etcdctl --endpoints=127.0.0.1:2379 "$@" 2>&1; }
_drill_milvus_healthy() { [[ "$(qy_api_get "/api/v1/namespaces/$QY_NS/pods/milvus-0:9091/proxy/healthz" 2>&1)" == OK ]]; }

check_drill_etcd() {
  qy_platform_settled || return 1
  local key=/qingyu-verify/drill later=/qingyu-verify/drill-later before after got unready search0 search1
  unready="$(_drill_unready_services)"
  # Milvus's collection before (check 6b or 9 made it; made here if not).
  search0="$(qy_milvus_client app search)"
  [[ "$search0" == ok* ]] || search0="$(qy_milvus_client app create)"
  [[ "$search0" == ok* ]] || { echo "no Milvus collection to carry through the drill: $search0"; return 1; }
  before="before-$(openssl rand -hex 8)"
  after="after-$(openssl rand -hex 8)"
  got="$(_drill_etcdctl put "$key" "$before")"
  [[ "$got" == OK ]] || { echo "etcdctl put: $got"; return 1; }
  _drill_backup etcd-backup || { echo "the etcd backup failed"; return 1; }
  _drill_etcdctl put "$key" "$after" >/dev/null
  _drill_etcdctl put "$later" x >/dev/null
  _drill_restore etcd "$unready" || { echo "the etcd restore failed"; return 1; }
  qy_wait 120 _fault_ready etcd-0 "" >/dev/null || { echo "etcd-0 not Ready after the restore"; return 1; }
  got="$(_drill_etcdctl get --print-value-only "$key")"
  local later_keys
  later_keys="$(_drill_etcdctl get --keys-only "$later" | sed '/^$/d')"
  _drill_etcdctl del --prefix /qingyu-verify/ >/dev/null || true
  [[ "$got" == "$before" ]] || { echo "after the restore $key is '$got', want the value at the backup ('$before')"; return 1; }
  [[ -z "$later_keys" ]] || { echo "after the restore $later (written after the backup) is there: $later_keys"; return 1; }
  qy_wait 300 _drill_milvus_healthy >/dev/null || { echo "Milvus not healthy within 300s of the restore"; return 1; }
  search1="$(qy_milvus_client app search)"
  [[ "$search1" == ok* && "${search1##*nearest ids }" == "${search0##*nearest ids }" ]] ||
    { echo "Milvus's collection after the restore: $search1 (before: $search0)"; return 1; }
  qy_wait 120 _drill_apps_back >/dev/null || { echo "the applications are not back after the restore: $(_drill_apps_back)"; return 1; }
  echo "etcd backed up (${QY_DRILL_BACKUP_SECONDS}s) and restored by scripts/restore.sh (${QY_DRILL_RESTORE_SECONDS}s, RTO ${QY_DRILL_RTO} min): the key as at the backup, the later key gone; Milvus healthy on the restored metadata and its collection searchable; the applications back"
}
qy_check 66 "10a-drill-redis" check_drill_redis
qy_check 68 "10b-drill-etcd" check_drill_etcd
