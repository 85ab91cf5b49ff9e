# shellcheck shell=bash
# shellcheck disable=SC2154 # etcd_bin, kube_apiserver, pids and kc come from the sourcing script
# A throwaway etcd + kube-apiserver on 127.0.0.1, shared by verify/cluster.sh and
# verify/deploy-e2e.sh (sourced, not run).
#
# The sourcing script provides: etcd_bin, kube_apiserver (binary paths), kc (its kubectl
# function), pids (an array: every process started is appended, newest last), work (its temp
# dir) and KUBECONFIG.

# make_pki DIR NAME: throwaway CA, serving certificate, service-account key pair and a random
# bearer token for this run only (user NAME, group system:masters).
make_pki() {
  local dir="$1" name="$2"
  mkdir -p "$dir"
  (
    cd "$dir" || exit 1
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 \
      -subj "/CN=$name-ca" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
      -subj /CN=kube-apiserver 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >ext.cnf
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
      -extfile ext.cnf -out apiserver.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    printf '%s,%s,%s,system:masters\n' "$(openssl rand -hex 32)" "$name" "$name" >tokens.csv
    chmod 600 ./*.key tokens.csv
  )
}

# start_cluster DIR PKI CONTEXT: etcd + kube-apiserver with their data and logs in DIR, a
# kubeconfig at $KUBECONFIG whose current context is CONTEXT, and the CRDs of
# $QY_VERIFY_SHARED/crds installed and Established.
start_cluster() {
  local dir="$1" pki="$2" context="$3" etcd_port peer_port api_port t0=$SECONDS
  mkdir -p "$dir"
  etcd_port="$(qy_free_port)"
  peer_port="$(qy_free_port)"
  api_port="$(qy_free_port)"

  "$etcd_bin" --name verify --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "verify=http://127.0.0.1:$peer_port" \
    --log-level error --unsafe-no-fsync >"$dir/etcd.log" 2>&1 &
  pids+=("$!")

  # PodSecurity is on by default in 1.30; named here so that the proof never loses it.
  "$kube_apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" --token-auth-file "$pki/tokens.csv" \
    --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 \
    --enable-admission-plugins PodSecurity,NamespaceLifecycle,LimitRanger,ServiceAccount,ResourceQuota \
    --allow-privileged=false --profiling=false \
    --cert-dir "$dir/certs" >"$dir/apiserver.log" 2>&1 &
  pids+=("$!")

  kc config set-cluster "$context" --server "https://127.0.0.1:$api_port" \
    --certificate-authority "$pki/ca.crt" --embed-certs >/dev/null
  kc config set-credentials "$context" --token "$(cut -d, -f1 "$pki/tokens.csv")" >/dev/null
  kc config set-context "$context" --cluster "$context" --user "$context" >/dev/null
  kc config use-context "$context" >/dev/null

  local deadline=$((SECONDS + 90)) ready_from=$SECONDS pid
  until kc get --raw /readyz >/dev/null 2>&1; do
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null || {
        tail -n 20 "$dir/etcd.log" "$dir/apiserver.log" >&2
        qy_die "etcd or kube-apiserver exited during start"
      }
    done
    ((SECONDS < deadline)) || {
      tail -n 20 "$dir/apiserver.log" >&2
      qy_die "kube-apiserver not ready after 90s"
    }
    sleep 0.5
  done

  qy_log "  API server ready in $((SECONDS - ready_from))s"
  kc apply --server-side --field-manager=qingyu-verify -R -f "$QY_VERIFY_SHARED/crds" >"$dir/crds.log" 2>&1 ||
    { cat "$dir/crds.log" >&2; qy_die "installing the CRDs failed"; }
  kc wait --for condition=Established --timeout=60s crd --all >/dev/null ||
    qy_die "the CRDs did not become Established"
  qy_log "  API server ready with CRDs Established in $((SECONDS - t0))s"
}

# stop_cluster: stop every process of pids, newest first (kube-apiserver before its etcd, which
# it needs to shut down cleanly); each gets 15s after SIGTERM before SIGKILL.
stop_cluster() {
  local i pid n
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid="${pids[i]}"
    kill "$pid" 2>/dev/null || continue
    for ((n = 0; n < 150; n++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}

# cleanup_work: the EXIT trap of a verify script: stops what it started (also what a subshell
# started and listed in $work/pids), then removes $work unless QINGYU_VERIFY_KEEP=1.
cleanup_work() {
  local rc=$?
  [[ -s $work/pids ]] && mapfile -t pids <"$work/pids"
  stop_cluster
  if [[ "${QINGYU_VERIFY_KEEP:-}" == 1 ]]; then
    qy_log "kept $work"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
