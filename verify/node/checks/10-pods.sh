# shellcheck shell=bash
# Check 1, pods: every pod whose images are all here is Ready with 0 restarts (and the pods of
# an absent image fail at once with ErrImagePull, nothing pulled from outside); the apps run the
# override's pod count; Milvus is healthy against the platform's own etcd and MinIO, after its
# bucket init container (provision) succeeded.
# Needs: QY_NS (namespace), QY_DIST (the YAML), the images plan (lib/platform-images.sh).

# _pods_json: the namespace's pods (not the node verification's probe pods), as JSON.
_pods_json() { kc -n "$QY_NS" get pods -l '!qingyu.verify/role' -o json; }

# _pods_state: one line per pod: name, phase, ready, restarts, absent-images (comma list or -),
# waiting reasons (comma list or -), init container states.
_pods_state() {
  local absent
  absent="$(qy_pimg_absent | cut -f1 | paste -sd' ')"
  # shellcheck disable=SC2016 # JavaScript, not shell
  _pods_json | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const absent = new Set(process.argv[1].split(" ").filter(Boolean));
      for (const p of JSON.parse(s).items) {
        // A CronJob run (a pod of a Job) is not a server: it is judged by whoever drills it.
        if ((p.metadata.ownerReferences ?? []).some((o) => o.kind === "Job")) continue;
        const cs = [...(p.status.initContainerStatuses ?? []), ...(p.status.containerStatuses ?? [])];
        const images = [...(p.spec.initContainers ?? []), ...p.spec.containers].map((c) => c.image);
        const missing = [...new Set(images.filter((i) => absent.has(i)))];
        const ready = (p.status.conditions ?? []).find((c) => c.type === "Ready")?.status === "True";
        const restarts = cs.reduce((n, c) => n + (c.restartCount ?? 0), 0);
        const waiting = cs.map((c) => c.state?.waiting?.reason).filter(Boolean);
        const init = (p.status.initContainerStatuses ?? []).map((c) => `${c.name}:${c.state?.terminated ? "exit" + c.state.terminated.exitCode : Object.keys(c.state ?? {})[0]}`);
        console.log([p.metadata.name, p.status.phase, ready, restarts, missing.join(",") || "-", waiting.join(",") || "-", init.join(",") || "-"].join("\t"));
      }
    });' "$absent"
}

# _pods_settled: every pod with its images Ready, every pod of an absent image waiting on its
# pull (ErrImagePull/ImagePullBackOff). Prints the pods still unsettled.
_pods_settled() {
  local state bad
  state="$(_pods_state)" || return 1
  [[ -n "$state" ]] || { echo "no pods yet"; return 1; }
  bad="$(awk -F'\t' '($5 == "-" && $3 != "true") || ($5 != "-" && $6 !~ /ErrImagePull|ImagePullBackOff/)' <<<"$state")"
  [[ -z "$bad" ]] || { printf '%s\n' "$bad"; return 1; }
}

check_pods() {
  local state out fail=0 name restarts missing waiting init
  if ! out="$(qy_wait "${QY_PODS_TIMEOUT:-300}" _pods_settled)"; then
    echo "not settled after ${QY_PODS_TIMEOUT:-300}s (name phase ready restarts absent-images waiting init):"
    printf '%s\n' "$out"
    kc -n "$QY_NS" get events --field-selector type=Warning --sort-by=.lastTimestamp 2>/dev/null | tail -n 20
    return 1
  fi
  state="$(_pods_state)"
  local n_ready=0 n_absent=0
  while IFS=$'\t' read -r name _ _ restarts missing waiting init; do
    if [[ "$missing" == - ]]; then
      n_ready=$((n_ready + 1))
      if ((restarts != 0)); then
        echo "  $name: Ready but restarted $restarts time(s)"
        fail=1
      fi
    else
      n_absent=$((n_absent + 1))
      echo "  absent: $name waits on $missing ($waiting)"
    fi
  done <<<"$state"
  # The override's pod count (the HPAs' minReplicas).
  local app n
  for app in go-backend python-ai; do
    n="$(kc -n "$QY_NS" get pods -l "app.kubernetes.io/name=$app,!qingyu.verify/role" --field-selector=status.phase=Running -o name | grep -c . || true)"
    if ((n != QY_PLATFORM_APP_REPLICAS)); then
      echo "  $app: $n pods Running, the override asks for $QY_PLATFORM_APP_REPLICAS"
      fail=1
    fi
  done
  # Milvus: healthy, on the platform's etcd (its sessions and metadata are there) and MinIO
  # (the bucket step succeeded; Milvus connected to the bucket).
  local health keys bucket_log
  health="$(qy_api_get "/api/v1/namespaces/$QY_NS/pods/milvus-0:9091/proxy/healthz" 2>&1)" || true
  if [[ "$health" != OK ]]; then
    echo "  milvus-0 /healthz: $health"
    fail=1
  fi
  keys="$(kc -n "$QY_NS" exec etcd-0 -c etcd -- etcdctl --endpoints=127.0.0.1:2379 get --prefix --keys-only by-dev/ 2>&1 | grep -c . || true)"
  if ((keys == 0)); then
    echo "  etcd-0 holds no Milvus key (by-dev/...): Milvus does not use the platform's etcd"
    fail=1
  fi
  local sessions
  sessions="$(kc -n "$QY_NS" exec etcd-0 -c etcd -- etcdctl --endpoints=127.0.0.1:2379 get --prefix --keys-only by-dev/meta/session/ 2>/dev/null | grep -c . || true)"
  # Its init containers (the bucket step: `provision`) all exited 0.
  local init_names c
  init="$(awk -F'\t' '$1 == "milvus-0" { print $7 }' <<<"$state")"
  init_names="$(kc -n "$QY_NS" get pod milvus-0 -o jsonpath='{range .spec.initContainers[*]}{.name}{"\n"}{end}')"
  if [[ -z "$init_names" || "$init" == - ]] || tr ',' '\n' <<<"$init" | grep -qv ':exit0$'; then
    echo "  milvus-0 init containers: $init (want each of $(paste -sd' ' <<<"$init_names") to have exited 0)"
    fail=1
  fi
  bucket_log=""
  for c in $init_names; do bucket_log+="$c: $(kc -n "$QY_NS" logs milvus-0 -c "$c" 2>&1 | tail -n 1) "; done
  local minio_log
  minio_log="$(kc -n "$QY_NS" logs milvus-0 -c milvus 2>/dev/null | grep -m1 -oE 'minio[^"]*(init|connect|success)[^"]*' || true)"
  ((fail == 0)) || return 1
  echo "  milvus-0: /healthz OK; etcd-0 holds $keys Milvus keys ($sessions sessions); ${bucket_log% }${minio_log:+; log: $minio_log}"
  echo "$n_ready pods Ready with 0 restarts ($QY_PLATFORM_APP_REPLICAS go-backend, $QY_PLATFORM_APP_REPLICAS python-ai); $n_absent pods of absent images waiting on ErrImagePull as expected; Milvus healthy on the platform's etcd and MinIO"
}
qy_check 10 "1-pods" check_pods
