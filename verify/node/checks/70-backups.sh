# shellcheck shell=bash
# Check 10, backup and restore drills, for the stores that run here (MongoDB cannot: its image is
# absent), and etcd's defragmentation. Each drill:
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
#   10c milvus  the marker the collection qy_verify (1000 entities, pymilvus); milvus-backup is
#               the pair: etcd's snapshot, then backup-bucket.sh copies Milvus's bucket (the mc
#               image); after it 500 entities more (the nearest to the query) and a collection
#               qy_verify_later, flushed; restored (etcd, RocksMQ moved aside, the bucket made
#               the copy by restore-bucket.sh): qy_verify as at the backup (1000 by its metadata
#               and by a Strong query, none of the later ids, the same nearest ids),
#               qy_verify_later gone, the bucket holding what the backup copied and none of the
#               objects written after it (listed from the node), Milvus healthy, the apps back
#   10d etcd-defrag (no backup) 24 values of 1 MiB written, deleted and compacted in etcd; the
#               etcd-defrag CronJob run once, now: dbSize (etcdctl endpoint status) down to about
#               dbSizeInUse, etcd and Milvus not restarted, the collection searchable
# restore.sh excuses (WARN) the Services that had no ready endpoint before it began; here those
# of the absent images (MongoDB, Grafana). The drill must exit 0, and excuse only Services this
# check itself found without endpoints before the drill.
# Registered after check 3 (a restore stops the applications and the store); 10b after 6b and
# 10c after 10b, as they restart Milvus; 10d last, on the etcd the drills restored.

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
  QY_DRILL_BACKUP_LOG="$(kc -n "$QY_NS" logs "job/$job" --all-containers 2>/dev/null | grep -E 'snapshot [0-9a-f]{8} saved|^backup:' | paste -sd' ')"
  echo "  backup: Job $job (from CronJob $cron) complete in ${QY_DRILL_BACKUP_SECONDS}s: $QY_DRILL_BACKUP_LOG"
  kc -n "$QY_NS" delete job "$job" --wait=false >/dev/null 2>&1 || true
}

# _drill_rto STORE: the restore time the platform declares for STORE, in minutes (the
# qingyu.io/rto-minutes annotation of its backup CronJob, from config rtoMinutes).
_drill_rto() { kc -n "$QY_NS" get cronjob "$1-backup" -o jsonpath='{.metadata.annotations.qingyu\.io/rto-minutes}'; }

# _drill_restore STORE UNREADY_BEFORE: scripts/restore.sh --yes against the node; its output in
# the check's log (QY_DRILL_RESTORE_LOG). Passes when it exits 0 within the store's RTO, having
# excused (WARN) only Services of UNREADY_BEFORE, which this check found without endpoints itself.
_drill_restore() {
  local store="$1" before="$2" out rc=0 t0 excused rto
  out="$QY_NODE_WORK/logs/restore-$store.log"
  QY_DRILL_RESTORE_LOG="$out"
  rto="$(_drill_rto "$store")"
  [[ "$rto" =~ ^[0-9]+$ ]] || { echo "  CronJob $store-backup declares no RTO (annotation qingyu.io/rto-minutes: '$rto')"; return 1; }
  t0="$(_qy_node_now)"
  PATH="$QY_NODE_BIN_K8S:$PATH" KUBECONFIG="$QY_NODE_KUBECONFIG" KUBECACHEDIR="$QY_NODE_WORK/kube-cache" NO_COLOR=1 \
    QY_POLL_SECONDS=2 QINGYU_ENDPOINT_WAIT="${QY_DRILL_ENDPOINT_WAIT:-20}" \
    bash "$QY_VERIFY_REPO/scripts/restore.sh" --env "$QY_PLATFORM_ENV" --store "$store" --yes \
    --release-dir "$QY_NODE_WORK/release" --timeout "${QY_DRILL_TIMEOUT}s" >"$out" 2>&1 || rc=$?
  QY_DRILL_RESTORE_SECONDS="$(_qy_node_since "$t0")"
  # The Services restore.sh excused (WARN: no ready endpoint, and none before it began).
  excused="$(sed -n 's/^ *WARN .*Service \([a-z0-9-]*\) has no ready endpoint.*/\1/p' "$out" | sort -u)"
  local s unexpected=""
  for s in $excused; do grep -qxF "$s" <<<"$before" || unexpected+="$s "; done
  if ((rc == 0)) && [[ -z "$unexpected" ]]; then
    echo "  restore: scripts/restore.sh --store $store --yes exit $rc in ${QY_DRILL_RESTORE_SECONDS}s, RTO $rto min ($(grep -cE '^ *PASS ' "$out") Services with ready endpoints${excused:+; without, as before the drill: $(paste -sd' ' <<<"$excused")})"
    sed -n 's/^ *\(restore: .*\)$/    \1/p' "$out" | head -n 5
    if awk -v t="$QY_DRILL_RESTORE_SECONDS" -v m="$rto" 'BEGIN { exit !(t > m * 60) }'; then
      echo "  the restore took ${QY_DRILL_RESTORE_SECONDS}s, over the ${rto} min RTO the platform declares for $store"
      return 1
    fi
    QY_DRILL_RTO="$rto"
    return 0
  fi
  echo "  restore: scripts/restore.sh --store $store --yes exit $rc after ${QY_DRILL_RESTORE_SECONDS}s${unexpected:+; excused Services that had endpoints before: $unexpected}"
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
# _drill_bucket_keys: the keys of Milvus's bucket now, sorted, one a line: ListObjectsV2 from
# the node to minio-0 (curl, AWS SigV4) with the backup user's key, which reads the bucket (as
# check 8 proves). More than 1000 objects (one page) fails: not counted here.
_drill_bucket_keys() {
  local ip bucket ak sk body
  ip="$(kc -n "$QY_NS" get pod minio-0 -o jsonpath='{.status.podIP}')"
  bucket="$(kc -n "$QY_NS" get statefulset milvus -o jsonpath='{.spec.template.spec.initContainers[*].env[?(@.name=="MINIO_BUCKET")].value}')"
  ak="$(kc -n "$QY_NS" get secret minio-backup -o jsonpath='{.data.access-key}' | base64 -d)"
  sk="$(kc -n "$QY_NS" get secret minio-backup -o jsonpath='{.data.secret-key}' | base64 -d)"
  [[ -n "$ip" && -n "$bucket" && -n "$ak" && -n "$sk" ]] || { echo "no minio-0 address, Milvus bucket or minio-backup key" >&2; return 1; }
  body="$(printf 'user = "%s:%s"\n' "$ak" "$sk" | curl -sS --fail --max-time 20 --aws-sigv4 "aws:amz:us-east-1:s3" \
    -H "x-amz-content-sha256: $(printf '' | sha256sum | cut -d' ' -f1)" --config - "http://$ip:9000/$bucket?list-type=2&max-keys=1000")" || return 1
  [[ "$body" != *"<IsTruncated>true</IsTruncated>"* ]] || { echo "bucket $bucket holds more than 1000 objects" >&2; return 1; }
  grep -o '<Key>[^<]*</Key>' <<<"$body" | sed 's:</*Key>::g' | sort || true
}

# Check 10c: the milvus-backup CronJob (etcd's snapshot, then a copy of Milvus's bucket by
# backup-bucket.sh, the MinIO client) and scripts/restore.sh --store milvus, which restores both
# with Milvus and etcd stopped (restore-bucket.sh makes the bucket exactly the copy).
check_drill_milvus() {
  qy_platform_settled || return 1
  local unready search0 later restored keys0 keys1 keys2 written left n_backup n_restore n_removed
  unready="$(_drill_unready_services)"
  # The collection as at the backup: qy_verify, 1000 entities (check 6b or 10b made it; made here if not).
  search0="$(qy_milvus_client app search)"
  [[ "$search0" == ok* ]] || search0="$(qy_milvus_client app create)"
  [[ "$search0" == ok* ]] || { echo "no Milvus collection to carry through the drill: $search0"; return 1; }
  echo "  before the backup: $search0"
  _drill_backup milvus-backup || { echo "the Milvus backup failed"; return 1; }
  n_backup="$(sed -n 's/.*backup: bucket [^,]*, \([0-9]*\) objects.*/\1/p' <<<"$QY_DRILL_BACKUP_LOG")"
  [[ "$n_backup" =~ ^[1-9][0-9]*$ ]] || { echo "the backup's bucket step reported no objects copied: $QY_DRILL_BACKUP_LOG"; return 1; }
  local t_backup="$QY_DRILL_BACKUP_SECONDS"
  keys0="$(_drill_bucket_keys)" || { echo "cannot list Milvus's bucket"; return 1; }
  # After the backup: more entities in qy_verify (the nearest to the query among them), and a
  # second collection, both flushed (new segments in the bucket, new metadata in etcd).
  later="$(qy_milvus_client app later)"
  echo "  after the backup: $later"
  [[ "$later" == ok* ]] || { echo "the change after the backup failed: $later"; return 1; }
  keys1="$(_drill_bucket_keys)" || { echo "cannot list Milvus's bucket"; return 1; }
  written="$(comm -13 <(printf '%s\n' "$keys0") <(printf '%s\n' "$keys1") | sed '/^$/d')"
  [[ -n "$written" ]] || { echo "the change after the backup wrote no object to the bucket"; return 1; }
  _drill_restore milvus "$unready" || { echo "the Milvus restore failed"; return 1; }
  qy_wait 120 _fault_ready etcd-0 "" >/dev/null || { echo "etcd-0 not Ready after the restore"; return 1; }
  qy_wait 300 _drill_milvus_healthy >/dev/null || { echo "Milvus not healthy within 300s of the restore"; return 1; }
  n_restore="$(sed -n 's/.*restore: bucket [^ ]* holds \([0-9]*\) objects.*/\1/p' "$QY_DRILL_RESTORE_LOG" | tail -n 1)"
  n_removed="$(grep -c 'Removed `' "$QY_DRILL_RESTORE_LOG" || true)"
  restored="$(qy_milvus_client app restored)"
  echo "  after the restore: $restored"
  keys2="$(_drill_bucket_keys)" || { echo "cannot list Milvus's bucket"; return 1; }
  left="$(comm -12 <(printf '%s\n' "$written") <(printf '%s\n' "$keys2") | sed '/^$/d')"
  echo "  bucket: $n_backup objects copied by the backup; $(grep -c . <<<"$written") written after it; restore-bucket.sh removed $n_removed and left ${n_restore:-?}; $(grep -c . <<<"$left" || true) of the later ones there now"
  [[ "$n_restore" == "$n_backup" ]] || { echo "restore-bucket.sh left ${n_restore:-no count of} objects in the bucket, the backup copied $n_backup"; return 1; }
  [[ -z "$left" ]] || { echo "objects written after the backup are in the bucket after the restore: $(head -n 3 <<<"$left" | paste -sd' ')"; return 1; }
  [[ "$restored" == ok* && "${restored##*nearest ids }" == "${search0##*nearest ids }" ]] ||
    { echo "Milvus after the restore is not as at the backup: $restored (at the backup: $search0)"; return 1; }
  qy_wait 120 _drill_apps_back >/dev/null || { echo "the applications are not back after the restore: $(_drill_apps_back)"; return 1; }
  echo "Milvus backed up (${t_backup}s: etcd snapshot and $n_backup objects) and restored by scripts/restore.sh (${QY_DRILL_RESTORE_SECONDS}s, RTO ${QY_DRILL_RTO} min): qy_verify as at the backup (1000 entities, same nearest ids), the 500 later entities and qy_verify_later gone, the bucket the copy again; Milvus healthy; the applications back"
}

# _drill_etcd_status: "DB_SIZE DB_SIZE_IN_USE REVISION" of etcd-0 (etcdctl endpoint status).
_drill_etcd_status() {
  # shellcheck disable=SC2016 # JavaScript, not shell
  kc -n "$QY_NS" exec etcd-0 -c etcd -- etcdctl --endpoints=127.0.0.1:2379 endpoint status -w json 2>/dev/null |
    qy_json 'j[0] ? `${j[0].Status.dbSize} ${j[0].Status.dbSizeInUse} ${j[0].Status.header.revision}` : ""'
}
_drill_size() { awk -v b="$1" 'BEGIN { if (b < 1048576) printf "%.0f KiB", b / 1024; else printf "%.1f MiB", b / 1048576 }'; }

# Check 10d: the etcd-defrag CronJob run once, now, against the real etcd: space freed first
# (large values written and deleted, then compacted, as revision auto-compaction would every
# 5 minutes), so that the database file holds free pages; after the Job the file is down to what
# is in use, and etcd and Milvus were not disturbed.
QY_DEFRAG_VALUES="${QY_DEFRAG_VALUES:-24}" # values of 1 MiB
check_etcd_defrag() {
  qy_platform_settled || return 1
  local value i got size0 inuse0 rev size1 inuse1 job t0 dt log r_etcd r_milvus search0 search1
  # Milvus's collection, searched before and after (check 6b made it; made here if not).
  search0="$(qy_milvus_client app search)"
  [[ "$search0" == ok* ]] || search0="$(qy_milvus_client app create)"
  [[ "$search0" == ok* ]] || { echo "no Milvus collection to search: $search0"; return 1; }
  r_etcd="$(_fault_restarts etcd-0)"
  r_milvus="$(_fault_restarts milvus-0)"
  value="$(mktemp)"
  head -c 786432 /dev/urandom | base64 -w0 >"$value"
  for ((i = 1; i <= QY_DEFRAG_VALUES; i++)); do
    got="$(kc -n "$QY_NS" exec -i etcd-0 -c etcd -- etcdctl --endpoints=127.0.0.1:2379 put "/qingyu-verify/defrag/$i" <"$value" 2>&1)"
    [[ "$got" == OK ]] || { rm -f "$value"; echo "etcdctl put /qingyu-verify/defrag/$i: $got"; return 1; }
  done
  rm -f "$value"
  got="$(_drill_etcdctl del --prefix /qingyu-verify/defrag/)"
  [[ "$got" == "$QY_DEFRAG_VALUES" ]] || { echo "etcdctl del --prefix /qingyu-verify/defrag/: $got"; return 1; }
  read -r _ _ rev < <(_drill_etcd_status)
  got="$(_drill_etcdctl compact "$rev" --physical)"
  [[ "$got" == "compacted revision $rev" ]] || { echo "etcdctl compact $rev: $got"; return 1; }
  read -r size0 inuse0 _ < <(_drill_etcd_status)
  [[ "$size0" =~ ^[0-9]+$ && "$inuse0" =~ ^[0-9]+$ ]] || { echo "etcdctl endpoint status: no dbSize/dbSizeInUse"; return 1; }
  echo "  before: dbSize $(_drill_size "$size0"), in use $(_drill_size "$inuse0") ($QY_DEFRAG_VALUES values of 1 MiB written and deleted, compacted at revision $rev)"
  ((size0 - inuse0 >= QY_DEFRAG_VALUES * 1048576 / 2)) || { echo "the setup left only $(_drill_size $((size0 - inuse0))) free in the database: nothing for a defragmentation to give back"; return 1; }
  job="etcd-defrag-drill-$(date +%s)"
  t0="$(_qy_node_now)"
  kc -n "$QY_NS" create job "$job" --from=cronjob/etcd-defrag >/dev/null || return 1
  if ! kc -n "$QY_NS" wait --for=condition=complete "job/$job" --timeout="${QY_DRILL_TIMEOUT}s" >/dev/null 2>&1; then
    echo "  Job $job did not complete: $(kc -n "$QY_NS" get "job/$job" -o jsonpath='{.status}')"
    kc -n "$QY_NS" logs "job/$job" --all-containers --tail=20 2>&1 | qy_indent '    '
    return 1
  fi
  dt="$(_qy_node_since "$t0")"
  log="$(kc -n "$QY_NS" logs "job/$job" --all-containers 2>&1)"
  kc -n "$QY_NS" delete job "$job" --wait=false >/dev/null 2>&1 || true
  echo "  Job $job (from CronJob etcd-defrag) complete in ${dt}s: $(tail -n 1 <<<"$log")"
  [[ "$log" == *"Finished defragmenting etcd member"* ]] || { echo "the Job's log does not say it defragmented a member"; return 1; }
  read -r size1 inuse1 _ < <(_drill_etcd_status)
  echo "  after: dbSize $(_drill_size "$size1"), in use $(_drill_size "$inuse1")"
  # Defragmented: the file is what is in use (a page or so of bbolt's own), and gave back
  # at least most of what was free.
  ((size1 - inuse1 <= 1048576 && size0 - size1 >= (size0 - inuse0) * 3 / 4)) ||
    { echo "etcd's database was not defragmented: dbSize $(_drill_size "$size0") -> $(_drill_size "$size1"), in use $(_drill_size "$inuse0") -> $(_drill_size "$inuse1")"; return 1; }
  qy_wait 60 _fault_ready etcd-0 "" >/dev/null || { echo "etcd-0 not Ready after the defragmentation"; return 1; }
  qy_wait 60 _drill_milvus_healthy >/dev/null || { echo "Milvus not healthy after the defragmentation"; return 1; }
  search1="$(qy_milvus_client app search)"
  [[ "$search1" == ok* && "${search1##*nearest ids }" == "${search0##*nearest ids }" ]] ||
    { echo "Milvus's collection after the defragmentation: $search1 (before: $search0)"; return 1; }
  [[ "$(_fault_restarts etcd-0) $(_fault_restarts milvus-0)" == "$r_etcd $r_milvus" ]] ||
    { echo "restarted during the drill: etcd-0 $r_etcd -> $(_fault_restarts etcd-0), milvus-0 $r_milvus -> $(_fault_restarts milvus-0)"; return 1; }
  echo "etcd-defrag (${dt}s) shrank etcd's database from $(_drill_size "$size0") to $(_drill_size "$size1") (in use $(_drill_size "$inuse1")); etcd and Milvus not restarted, Milvus healthy and its collection searchable"
}

qy_check 66 "10a-drill-redis" check_drill_redis
qy_check 68 "10b-drill-etcd" check_drill_etcd
qy_check 70 "10c-drill-milvus" check_drill_milvus
qy_check 71 "10d-etcd-defrag" check_etcd_defrag
