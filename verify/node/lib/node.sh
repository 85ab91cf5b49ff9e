# shellcheck shell=bash
# A real single-node Kubernetes on this machine, with real containers (sourced, not run):
#
#   source verify/node/lib/node.sh
#   trap node_down EXIT          # node_down also cleans up after a failed or killed run
#   node_up "$work"              # $work: a directory of the caller's (logs, state, volumes)
#   qy_node_kubectl get nodes    # kubectl with the node's admin kubeconfig ($QY_NODE_KUBECONFIG)
#   qy_image_build NAME ROOTFS CONFIG_JSON    # (lib/image.sh) an image the pods can run
#   node_down                    # stops everything, leaves nothing behind (but $work)
#
# What runs: etcd and kube-apiserver (RBAC + Node authorization, NodeRestriction, PodSecurity),
# kube-controller-manager, kube-scheduler, containerd (CRI) with runc and the CNI bridge plugin,
# kubelet, kube-proxy (iptables mode), CoreDNS (Deployment in kube-system at $QY_NODE_DNS_IP),
# kube-network-policies (DaemonSet, NetworkPolicy enforcement), a default StorageClass with
# static local PersistentVolumes. All from verify/node/build.sh's cache.
#
# Network: the pods live on a bridge of their own ($QY_NODE_BRIDGE, $QY_NODE_POD_CIDR); the node's
# address is the bridge's ($QY_NODE_IP): the API server and the kubelet listen there, everything
# else on 127.0.0.1. Forwarding between the bridge and any other interface is dropped (an
# nftables table of ours), so no pod packet leaves the machine; the daemons run in a cgroup of
# ours whose packets to anything but lo and the bridge are rejected and counted; containerd's
# registry configuration sends every pull to a closed port on 127.0.0.1, so a missing image
# fails at once. One node per machine (fixed bridge, addresses and /run/qingyu-node).
#
# Everything node_up creates outside $work is recorded in $QY_NODE_RUN/record as it is made, so
# node_down (from any process, also after a crash: node_up runs it first when it finds a record)
# undoes exactly that: processes, mounts, cgroups, bridge, iptables/nftables rules, sysctls,
# files.

# shellcheck source=verify/node/lib/paths.sh
source "$(dirname "${BASH_SOURCE[0]}")/paths.sh"
# shellcheck source=verify/node/lib/image.sh
source "$(dirname "${BASH_SOURCE[0]}")/image.sh"

# Settings (override before node_up).
QY_NODE_NAME="${QY_NODE_NAME:-qingyu-node}"
QY_NODE_BRIDGE="${QY_NODE_BRIDGE:-qy-br0}"
QY_NODE_POD_CIDR="${QY_NODE_POD_CIDR:-10.88.0.0/16}"   # not 10.96.0.0/16 (services), not 10.244 (KWOK)
QY_NODE_IP="${QY_NODE_IP:-10.88.0.1}"                  # the bridge's address: the node's InternalIP
QY_NODE_SERVICE_CIDR="${QY_NODE_SERVICE_CIDR:-10.96.0.0/16}"
QY_NODE_DNS_IP="${QY_NODE_DNS_IP:-10.96.0.10}"
QY_NODE_API_PORT="${QY_NODE_API_PORT:-6443}"          # on $QY_NODE_IP
QY_NODE_CLOSED_PORT="${QY_NODE_CLOSED_PORT:-9}"       # 127.0.0.1:9, where every registry "is"
QY_NODE_STORAGE_CLASS="${QY_NODE_STORAGE_CLASS:-local}"
# Static local PersistentVolumes: COUNTxSIZE groups (a claim binds the smallest that fits).
QY_NODE_PVS="${QY_NODE_PVS:-16x10Gi 8x256Gi}"
QY_NODE_ZONE="${QY_NODE_ZONE:-zone-a}"
QY_NODE_RUN=/run/qingyu-node                           # sockets, containerd state, the record
QY_NODE_CONTAINERD_SOCK="$QY_NODE_RUN/containerd/containerd.sock"
QY_NODE_SNAPSHOTTER="${QY_NODE_SNAPSHOTTER:-}"         # empty: overlayfs if it mounts, else native
QY_NODE_SANDBOX_IMAGE="registry.k8s.io/pause:$QY_NODE_PAUSE_TAG"
QY_NODE_COREDNS_IMAGE="registry.k8s.io/coredns/coredns:$QY_NODE_COREDNS_VERSION"
QY_NODE_NETPOL_IMAGE="registry.k8s.io/networking/kube-network-policies:$QY_NODE_NETPOL_VERSION"
QY_NODE_HOST_CGROUP_NAME=qingyu-node-host   # cgroup v2 (unified) group of the node's daemons
QY_NODE_POD_CGROUP_ROOT=/qingyu-node        # kubelet's cgroupRoot (every v1 hierarchy)
# Set by node_up: QY_NODE_WORK, QY_NODE_KUBECONFIG, QY_NODE_HOST_CGROUP, QY_NODE_TIMINGS.

_qy_node_log() { printf '%s: %s\n' "${QY_LOG_NAME:-node}" "$*" >&2; }
_qy_node_die() {
  _qy_node_log "error: $*"
  return 1
}
_qy_node_rec() { printf '%s\n' "$*" >>"$QY_NODE_RUN/record"; }
_qy_node_now() { printf '%s\n' "${EPOCHREALTIME/,/.}"; }
_qy_node_since() { awk -v a="$1" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%.1f", b - a }'; }

# qy_node_kubectl ARGS...: kubectl with the node's admin kubeconfig (never ~/.kube: its
# discovery cache too is under the work dir).
qy_node_kubectl() {
  "$QY_NODE_BIN_K8S/kubectl" --kubeconfig "${QY_NODE_KUBECONFIG:?the node is not up}" \
    --cache-dir "${QY_NODE_WORK:?}/kube-cache" "$@"
}

# _qy_node_wait SECONDS WHAT CMD...: retry CMD every 0.5 s until it succeeds.
_qy_node_wait() {
  local deadline=$((SECONDS + $1)) what="$2"
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { _qy_node_log "timed out waiting for $what"; return 1; }
    sleep 0.5
  done
}

# _qy_node_spawn NAME CMD...: start a daemon in the node's cgroup, logging to $work/logs/NAME.log;
# recorded with its start time, so that node_down never kills a recycled pid.
_qy_node_spawn() {
  local name="$1"
  shift
  (
    if [[ -n "$QY_NODE_HOST_CGROUP" ]]; then echo "$BASHPID" >"$QY_NODE_HOST_CGROUP/cgroup.procs" || true; fi
    exec "$@"
  ) >>"$QY_NODE_WORK/logs/$name.log" 2>&1 </dev/null &
  local pid=$!
  _qy_node_rec "pid $name $pid $(_qy_node_starttime "$pid")"
}
_qy_node_starttime() { awk '{ print $22 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
_qy_node_pid_of() { awk -v n="$1" '$1 == "pid" && $2 == n { p = $3 } END { print p }' "$QY_NODE_RUN/record"; }
_qy_node_alive() { # NAME: is the recorded daemon still running?
  local pid
  pid="$(_qy_node_pid_of "$1")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

# ------------------------------------------------------------------------------------------
# node_up WORK
node_up() {
  local work="$1" t0 t
  [[ -n "$work" ]] || { _qy_node_die "usage: node_up WORKDIR"; return 1; }
  ((EUID == 0)) || { _qy_node_die "a real node needs root"; return 1; }
  mkdir -p "$work"
  work="$(cd "$work" && pwd)"
  t0="$(_qy_node_now)"
  QY_NODE_TIMINGS=()
  qy_node_reap_stale || return 1
  _qy_node_preflight || return 1
  # (mkdir is the lock: of two node_up at once, one gets it)
  mkdir "$QY_NODE_RUN" 2>/dev/null || { _qy_node_die "$QY_NODE_RUN exists: another node is starting"; return 1; }
  _qy_node_rec "owner $$ $(_qy_node_starttime $$)"
  QY_NODE_WORK="$work"
  QY_NODE_KUBECONFIG="$work/admin.kubeconfig"
  export QY_NODE_WORK QY_NODE_KUBECONFIG QY_NODE_CONTAINERD_SOCK
  _qy_node_rec "work $work"
  mkdir -p "$work"/{logs,pki,manifests,pv,cni/net.d,cni/ipam,containerd/certs.d,kubelet,pod-logs} || return 1

  t="$(_qy_node_now)"
  _qy_node_host_setup || return 1
  _qy_node_pki || return 1
  QY_NODE_TIMINGS+=("host+pki $(_qy_node_since "$t")s")

  t="$(_qy_node_now)"
  _qy_node_apiserver || return 1
  QY_NODE_TIMINGS+=("apiserver $(_qy_node_since "$t")s")

  t="$(_qy_node_now)"
  _qy_node_containerd || return 1
  _qy_node_system_images || return 1
  QY_NODE_TIMINGS+=("containerd+images $(_qy_node_since "$t")s")

  t="$(_qy_node_now)"
  _qy_node_controllers || return 1
  _qy_node_kubelet || return 1
  _qy_node_kube_proxy || return 1
  QY_NODE_TIMINGS+=("node-ready $(_qy_node_since "$t")s")

  t="$(_qy_node_now)"
  _qy_node_addons || return 1
  QY_NODE_TIMINGS+=("addons $(_qy_node_since "$t")s")
  QY_NODE_TIMINGS+=("total $(_qy_node_since "$t0")s")
  _qy_node_log "node $QY_NODE_NAME up: ${QY_NODE_TIMINGS[*]}"
}

# qy_node_reap_stale: when a node's record is left by a process that is gone (killed, crashed),
# node_down it; fail when its owner still runs (one node per machine).
qy_node_reap_stale() {
  [[ -e "$QY_NODE_RUN/record" ]] || return 0
  local owner start
  read -r owner start < <(awk '$1 == "owner" { print $2, $3 }' "$QY_NODE_RUN/record")
  if [[ -n "$owner" && "$owner" != "$$" && "$(_qy_node_starttime "$owner")" == "$start" ]]; then
    _qy_node_die "a node is up, owned by process $owner (one node per machine; node_down stops it)"
    return 1
  fi
  _qy_node_log "a previous node's record is in $QY_NODE_RUN (its owner is gone): cleaning it up first"
  node_down
}

_qy_node_preflight() {
  local b missing=()
  for b in "$QY_NODE_BIN_K8S/kube-apiserver" "$QY_NODE_BIN_K8S/kubectl" "$QY_NODE_BIN_ETCD/etcd" \
    "$QY_NODE_BIN_CTL/kube-controller-manager" "$QY_NODE_BIN_CTL/kube-scheduler" \
    "$QY_NODE_BIN_NODE/kubelet" "$QY_NODE_BIN_NODE/kube-proxy" "$QY_NODE_BIN_COREDNS/coredns" \
    "$QY_NODE_BIN_NETPOL/netpol" "$QY_NODE_BIN_PAUSE/pause"; do
    [[ -x "$b" ]] || missing+=("$b")
  done
  for b in containerd containerd-shim-runc-v2 runc ctr iptables ip6tables nft ip ss conntrack mount curl python3 openssl; do
    command -v "$b" >/dev/null || missing+=("$b")
  done
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || missing+=(/usr/lib/cni/bridge)
  ((${#missing[@]} == 0)) || { _qy_node_die "missing (run verify/node/build.sh): ${missing[*]}"; return 1; }
  if ip link show "$QY_NODE_BRIDGE" >/dev/null 2>&1; then
    _qy_node_die "interface $QY_NODE_BRIDGE exists but no record of ours does: not touching it"
    return 1
  fi
  if ss -Hltn "sport = :$QY_NODE_CLOSED_PORT" | grep -q .; then
    _qy_node_die "something listens on port $QY_NODE_CLOSED_PORT, which must stay closed (QY_NODE_CLOSED_PORT)"
    return 1
  fi
}

# --- host: sysctls, bridge, firewall, cgroups -------------------------------------------------
# Kernel settings that the node's pieces change (the bridge plugin: forwarding; kubelet's
# setupKernelTunables: vm/kernel; kube-proxy: conntrack): their values now, restored at the end.
QY_NODE_SYSCTLS=(net.ipv4.ip_forward net.ipv6.conf.all.forwarding net.ipv4.conf.all.forwarding
  net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables net.ipv4.conf.all.route_localnet
  vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_tcp_timeout_established
  net.netfilter.nf_conntrack_tcp_timeout_close_wait)

_qy_node_host_setup() {
  local k v d
  for k in "${QY_NODE_SYSCTLS[@]}"; do
    v="$(sysctl -n "$k" 2>/dev/null)" && _qy_node_rec "sysctl $k $v"
  done
  # What exists before us (node_down removes only what we add).
  nft -j list tables 2>/dev/null >"$QY_NODE_RUN/nft-tables-before.json" || echo '{}' >"$QY_NODE_RUN/nft-tables-before.json"
  _qy_node_iptables_chains >"$QY_NODE_RUN/iptables-chains-before"
  # /run/mount: libmount's, made by the first mount(8) on a fresh machine (check 7 found it).
  for d in /run/containerd /run/mount /var/lib/cni /var/log/containers /var/log/pods /var/lib/kubelet /etc/cni /opt/cni /opt/containerd /etc/kubernetes; do
    [[ -e "$d" ]] || _qy_node_rec "created-path $d"
  done
  [[ -d /run/containerd/s ]] && ls -A /run/containerd/s >"$QY_NODE_RUN/containerd-s-before"

  sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 || return 1

  # The pods' bridge, with the node's address.
  _qy_node_rec "link $QY_NODE_BRIDGE"
  ip link add "$QY_NODE_BRIDGE" type bridge || return 1
  ip addr add "$QY_NODE_IP/${QY_NODE_POD_CIDR#*/}" dev "$QY_NODE_BRIDGE" || return 1
  ip link set "$QY_NODE_BRIDGE" up || return 1

  # No forwarding between the bridge and any other interface (both directions, v4 and v6).
  # A drop in any base chain is final, whatever kube-proxy or anyone accepts elsewhere.
  _qy_node_rec "nft-table inet qingyu-node"
  nft -f - <<EOF || return 1
table inet qingyu-node {
  chain forward {
    type filter hook forward priority -200; policy accept;
    iifname "$QY_NODE_BRIDGE" oifname != "$QY_NODE_BRIDGE" counter drop
    oifname "$QY_NODE_BRIDGE" iifname != "$QY_NODE_BRIDGE" counter drop
  }
}
EOF

  # The daemons' cgroup (cgroup v2: the unified hierarchy of a hybrid setup, or the v2 root):
  # their packets to anything but lo and the bridge are rejected and counted (QY-NODE-EGRESS).
  QY_NODE_HOST_CGROUP=""
  local v2=""
  if [[ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" == cgroup2fs ]]; then
    v2=/sys/fs/cgroup/unified
  elif [[ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" == cgroup2fs ]]; then
    v2=/sys/fs/cgroup
  fi
  if [[ -n "$v2" ]]; then
    _qy_node_rec "cgroup $v2/$QY_NODE_HOST_CGROUP_NAME"
    # (a probe: can a process join it? A subshell tries, and exits.)
    if mkdir -p "$v2/$QY_NODE_HOST_CGROUP_NAME" 2>/dev/null &&
      (echo "$BASHPID" >"$v2/$QY_NODE_HOST_CGROUP_NAME/cgroup.procs") 2>/dev/null; then
      QY_NODE_HOST_CGROUP="$v2/$QY_NODE_HOST_CGROUP_NAME"
    fi
  fi
  export QY_NODE_HOST_CGROUP
  if [[ -n "$QY_NODE_HOST_CGROUP" ]]; then
    local ipt
    for ipt in iptables ip6tables; do
      _qy_node_rec "ipt-chain $ipt QY-NODE-EGRESS"
      { "$ipt" -w -N QY-NODE-EGRESS &&
        "$ipt" -w -A QY-NODE-EGRESS -o lo -j RETURN &&
        "$ipt" -w -A QY-NODE-EGRESS -o "$QY_NODE_BRIDGE" -j RETURN &&
        "$ipt" -w -A QY-NODE-EGRESS -p tcp -j REJECT --reject-with tcp-reset &&
        "$ipt" -w -A QY-NODE-EGRESS -j REJECT &&
        "$ipt" -w -I OUTPUT -m cgroup --path "$QY_NODE_HOST_CGROUP_NAME" -j QY-NODE-EGRESS; } || return 1
    done
  else
    _qy_node_log "no cgroup v2 hierarchy: the daemons' egress is not guarded (the forward drop still is)"
  fi

  # kubelet's cgroupRoot, in every hierarchy (kubelet requires that it exists).
  for d in /sys/fs/cgroup/*/; do
    d="${d%/}"
    [[ "$d" == "$v2" ]] && [[ "$v2" == /sys/fs/cgroup ]] && continue
    [[ -e "$d/cgroup.procs" ]] || continue
    _qy_node_rec "cgroup $d$QY_NODE_POD_CGROUP_ROOT"
    mkdir -p "$d$QY_NODE_POD_CGROUP_ROOT" || return 1
    if [[ -e "$d/cpuset.cpus" ]]; then
      cat "$d/cpuset.cpus" >"$d$QY_NODE_POD_CGROUP_ROOT/cpuset.cpus" || return 1
      cat "$d/cpuset.mems" >"$d$QY_NODE_POD_CGROUP_ROOT/cpuset.mems" || return 1
    fi
  done
  if [[ "$v2" == /sys/fs/cgroup ]]; then
    _qy_node_rec "cgroup /sys/fs/cgroup$QY_NODE_POD_CGROUP_ROOT"
    mkdir -p "/sys/fs/cgroup$QY_NODE_POD_CGROUP_ROOT" || return 1
  fi
}

# iptables chains as "CMD TABLE CHAIN" lines.
_qy_node_iptables_chains() {
  local ipt t
  for ipt in iptables ip6tables; do
    for t in filter nat mangle raw; do
      "$ipt" -w -t "$t" -S 2>/dev/null | awk -v i="$ipt" -v t="$t" '$1 == "-N" || $1 == "-P" { print i, t, $2 }'
    done
  done
}

# --- PKI and kubeconfigs ------------------------------------------------------------------------
_qy_node_cert() { # NAME SUBJ EXT [SAN]: an EC P-256 key and a 1-day certificate of the node's CA
  local name="$1" subj="$2" ext="$3" san="${4:-}" dir="$QY_NODE_WORK/pki"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$dir/$name.key" \
    -out "$dir/$name.csr" -subj "$subj" 2>/dev/null || return 1
  {
    printf 'extendedKeyUsage=%s\nkeyUsage=critical,digitalSignature,keyEncipherment\n' "$ext"
    [[ -z "$san" ]] || printf 'subjectAltName=%s\n' "$san"
  } >"$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 1 -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null || return 1
  rm -f "$dir/$name.csr" "$dir/$name.ext"
}

_qy_node_kubeconfig() { # FILE USER [CERT KEY | --token TOKEN]
  local file="$1" user="$2" cred
  if [[ "$3" == --token ]]; then
    cred="    token: $4"
  else
    cred="    client-certificate: $3
    client-key: $4"
  fi
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $QY_NODE_NAME
  cluster:
    server: https://$QY_NODE_IP:$QY_NODE_API_PORT
    certificate-authority: $QY_NODE_WORK/pki/ca.crt
users:
- name: $user
  user:
$cred
contexts:
- name: $QY_NODE_NAME
  context: {cluster: $QY_NODE_NAME, user: $user}
current-context: $QY_NODE_NAME
EOF
  chmod 600 "$file"
}

_qy_node_pki() {
  local dir="$QY_NODE_WORK/pki" svc_ip
  svc_ip="$(python3 -c 'import ipaddress,sys; print(ipaddress.ip_network(sys.argv[1])[1])' "$QY_NODE_SERVICE_CIDR")"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$dir/ca.key" \
    -out "$dir/ca.crt" -days 1 -subj "/CN=$QY_NODE_NAME-ca" 2>/dev/null || return 1
  _qy_node_cert apiserver /CN=kube-apiserver serverAuth \
    "IP:$QY_NODE_IP,IP:$svc_ip,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost" || return 1
  _qy_node_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth || return 1
  _qy_node_cert kubelet "/O=system:nodes/CN=system:node:$QY_NODE_NAME" clientAuth || return 1
  _qy_node_cert kubelet-serving "/CN=$QY_NODE_NAME" serverAuth "IP:$QY_NODE_IP,DNS:$QY_NODE_NAME" || return 1
  _qy_node_cert kube-proxy /CN=system:kube-proxy clientAuth || return 1
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/sa.key" 2>/dev/null || return 1
  openssl ec -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null || return 1
  local token
  token="$(openssl rand -hex 32)"
  printf '%s,qingyu-admin,qingyu-admin,system:masters\n' "$token" >"$dir/tokens.csv"
  chmod 600 "$dir"/*.key "$dir/tokens.csv"
  _qy_node_kubeconfig "$QY_NODE_KUBECONFIG" qingyu-admin --token "$token"
  _qy_node_kubeconfig "$QY_NODE_WORK/kubelet.kubeconfig" "system:node:$QY_NODE_NAME" "$dir/kubelet.crt" "$dir/kubelet.key"
  _qy_node_kubeconfig "$QY_NODE_WORK/kube-proxy.kubeconfig" system:kube-proxy "$dir/kube-proxy.crt" "$dir/kube-proxy.key"
}

_qy_node_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# --- etcd + kube-apiserver ------------------------------------------------------------------------
_qy_node_apiserver() {
  local etcd_port peer_port pki="$QY_NODE_WORK/pki"
  etcd_port="$(_qy_node_free_port)"
  peer_port="$(_qy_node_free_port)"
  _qy_node_spawn etcd "$QY_NODE_BIN_ETCD/etcd" --name node --data-dir "$QY_NODE_WORK/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "node=http://127.0.0.1:$peer_port" --listen-metrics-urls "" \
    --log-level error --unsafe-no-fsync
  # As verify/lib/apiserver.sh's start_cluster, plus what a node needs: the bridge address (pods
  # reach it as the kubernetes Service), Node authorization + NodeRestriction, the kubelet's
  # client certificate and CA, InternalIP for exec/logs (no host DNS lookup of the node name).
  _qy_node_spawn kube-apiserver "$QY_NODE_BIN_K8S/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address "$QY_NODE_IP" --advertise-address "$QY_NODE_IP" --secure-port "$QY_NODE_API_PORT" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" --token-auth-file "$pki/tokens.csv" \
    --authorization-mode Node,RBAC \
    --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range "$QY_NODE_SERVICE_CIDR" \
    --enable-admission-plugins NodeRestriction,PodSecurity,NamespaceLifecycle,LimitRanger,ServiceAccount,ResourceQuota \
    --allow-privileged=false --profiling=false \
    --kubelet-preferred-address-types InternalIP \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$pki/ca.crt" \
    --cert-dir "$QY_NODE_WORK/apiserver-certs"
  local deadline=$((SECONDS + 90))
  until qy_node_kubectl get --raw /readyz >/dev/null 2>&1; do
    if ! _qy_node_alive etcd || ! _qy_node_alive kube-apiserver; then
      tail -n 20 "$QY_NODE_WORK/logs/etcd.log" "$QY_NODE_WORK/logs/kube-apiserver.log" >&2
      _qy_node_die "etcd or kube-apiserver exited during start"
      return 1
    fi
    ((SECONDS < deadline)) || { tail -n 20 "$QY_NODE_WORK/logs/kube-apiserver.log" >&2; _qy_node_die "kube-apiserver not ready after 90s"; return 1; }
    sleep 0.3
  done
}

# --- containerd --------------------------------------------------------------------------------
_qy_node_containerd() {
  local c="$QY_NODE_WORK/containerd" h
  mkdir -p "$c/root" "$c/opt" "$QY_NODE_RUN/containerd" "$QY_NODE_RUN/runc" || return 1
  if [[ -z "$QY_NODE_SNAPSHOTTER" ]]; then
    # overlayfs when the kernel and the work dir's filesystem can do it.
    local o="$QY_NODE_WORK/overlay-probe"
    mkdir -p "$o"/{l,u,w,m}
    if mount -t overlay overlay -o "lowerdir=$o/l,upperdir=$o/u,workdir=$o/w" "$o/m" 2>/dev/null; then
      umount "$o/m"
      QY_NODE_SNAPSHOTTER=overlayfs
    else
      QY_NODE_SNAPSHOTTER=native
    fi
    rm -rf "$o"
  fi
  export QY_NODE_SNAPSHOTTER
  # Every registry is 127.0.0.1:<closed port>: a missing image fails at once, no packet out.
  for h in _default docker.io registry.k8s.io k8s.gcr.io quay.io ghcr.io gcr.io registry-1.docker.io public.ecr.aws mcr.microsoft.com; do
    mkdir -p "$c/certs.d/$h"
    printf 'server = "http://127.0.0.1:%s"\n\n[host."http://127.0.0.1:%s"]\n  capabilities = ["pull", "resolve"]\n' \
      "$QY_NODE_CLOSED_PORT" "$QY_NODE_CLOSED_PORT" >"$c/certs.d/$h/hosts.toml"
  done
  cat >"$QY_NODE_WORK/cni/net.d/10-qingyu.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "qy-pods",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$QY_NODE_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$QY_NODE_WORK/cni/ipam",
        "ranges": [[{"subnet": "$QY_NODE_POD_CIDR", "gateway": "$QY_NODE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF
  cat >"$c/config.toml" <<EOF
version = 2
root = "$c/root"
state = "$QY_NODE_RUN/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$QY_NODE_CONTAINERD_SOCK"

[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$QY_NODE_SANDBOX_IMAGE"
  # CAP_SYS_RESOURCE may be withheld even from root: runc cannot then set the negative
  # oom_score_adj the kubelet asks for, and every sandbox fails ("can't get final child's PID").
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "$QY_NODE_SNAPSHOTTER"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$QY_NODE_RUN/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$QY_NODE_WORK/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$c/certs.d"
EOF
  _qy_node_spawn containerd containerd --config "$c/config.toml"
  local deadline=$((SECONDS + 30))
  until qy_ctr version >/dev/null 2>&1; do
    _qy_node_alive containerd || { tail -n 20 "$QY_NODE_WORK/logs/containerd.log" >&2; _qy_node_die "containerd exited"; return 1; }
    ((SECONDS < deadline)) || { _qy_node_die "containerd not up after 30s"; return 1; }
    sleep 0.2
  done
}

# The node's own images: pause (the sandbox), CoreDNS, kube-network-policies.
_qy_node_system_images() {
  local root
  root="$(qy_rootfs_new)" || return 1
  qy_rootfs_add_static "$root" "$QY_NODE_BIN_PAUSE/pause" /pause || return 1
  qy_image_build "$QY_NODE_SANDBOX_IMAGE" "$root" '{"Entrypoint":["/pause"],"User":"65535:65535"}' >/dev/null || return 1
  rm -rf "$root"
  root="$(qy_rootfs_new)" || return 1
  qy_rootfs_users "$root" 65532:nonroot
  qy_rootfs_add_static "$root" "$QY_NODE_BIN_COREDNS/coredns" /coredns || return 1
  qy_image_build "$QY_NODE_COREDNS_IMAGE" "$root" '{"Entrypoint":["/coredns"],"ExposedPorts":{"53/tcp":{},"53/udp":{}}}' >/dev/null || return 1
  rm -rf "$root"
  root="$(qy_rootfs_new)" || return 1
  qy_rootfs_add_static "$root" "$QY_NODE_BIN_NETPOL/netpol" /bin/netpol || return 1
  qy_image_build "$QY_NODE_NETPOL_IMAGE" "$root" '{"Cmd":["/bin/netpol"]}' >/dev/null || return 1
  rm -rf "$root"
}

# --- kube-controller-manager, kube-scheduler (as verify/lib/rollout.sh starts them) --------------
_qy_node_controllers() {
  local pki="$QY_NODE_WORK/pki"
  _qy_node_spawn kube-controller-manager "$QY_NODE_BIN_CTL/kube-controller-manager" \
    --kubeconfig "$QY_NODE_KUBECONFIG" \
    --bind-address 127.0.0.1 --secure-port "$(_qy_node_free_port)" \
    --authentication-kubeconfig "$QY_NODE_KUBECONFIG" --authorization-kubeconfig "$QY_NODE_KUBECONFIG" \
    --leader-elect=false --use-service-account-credentials=false \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --cluster-name "$QY_NODE_NAME" \
    --controllers '*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route'
  _qy_node_spawn kube-scheduler "$QY_NODE_BIN_CTL/kube-scheduler" --kubeconfig "$QY_NODE_KUBECONFIG" \
    --bind-address 127.0.0.1 --secure-port "$(_qy_node_free_port)" \
    --authentication-kubeconfig "$QY_NODE_KUBECONFIG" --authorization-kubeconfig "$QY_NODE_KUBECONFIG" \
    --leader-elect=false
}

# --- kubelet ---------------------------------------------------------------------------------------
_qy_node_kubelet() {
  local k="$QY_NODE_WORK/kubelet" pki="$QY_NODE_WORK/pki"
  # Pods get the cluster DNS only: no search domain or nameserver of the host's.
  : >"$QY_NODE_WORK/resolv.conf"
  cat >"$QY_NODE_WORK/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $QY_NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$QY_NODE_CONTAINERD_SOCK
cgroupDriver: cgroupfs
cgroupRoot: $QY_NODE_POD_CGROUP_ROOT
failSwapOn: false
clusterDNS: [$QY_NODE_DNS_IP]
clusterDomain: cluster.local
resolvConf: $QY_NODE_WORK/resolv.conf
podLogsDir: $QY_NODE_WORK/pod-logs
volumePluginDir: $k/volume-plugins
systemReserved: {cpu: 100m, memory: 256Mi}
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, nodefs.inodesFree: 1%, imagefs.available: 1%}
# Never collect the imported images: no registry could bring them back.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
rotateCertificates: false
serverTLSBootstrap: false
EOF
  _qy_node_spawn kubelet "$QY_NODE_BIN_NODE/kubelet" --config "$QY_NODE_WORK/kubelet.yaml" \
    --kubeconfig "$QY_NODE_WORK/kubelet.kubeconfig" --root-dir "$k" --cert-dir "$k/pki" \
    --hostname-override "$QY_NODE_NAME" --node-ip "$QY_NODE_IP" \
    --node-labels "topology.kubernetes.io/zone=$QY_NODE_ZONE,topology.kubernetes.io/region=verify"
  local deadline=$((SECONDS + 90))
  until [[ "$(qy_node_kubectl get node "$QY_NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]; do
    _qy_node_alive kubelet || { tail -n 30 "$QY_NODE_WORK/logs/kubelet.log" >&2; _qy_node_die "kubelet exited"; return 1; }
    ((SECONDS < deadline)) || { tail -n 30 "$QY_NODE_WORK/logs/kubelet.log" >&2; _qy_node_die "node not Ready after 90s"; return 1; }
    sleep 0.5
  done
}

# --- kube-proxy ------------------------------------------------------------------------------------
_qy_node_kube_proxy() {
  cat >"$QY_NODE_WORK/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $QY_NODE_WORK/kube-proxy.kubeconfig}
mode: iptables
hostnameOverride: $QY_NODE_NAME
bindAddress: $QY_NODE_IP
clusterCIDR: $QY_NODE_POD_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# NodePorts only on the bridge address (not on the machine's outside interface, not 127.0.0.1,
# which would need route_localnet).
nodePortAddresses: [$QY_NODE_IP/32]
# Leave the conntrack table's limits and timeouts as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
  _qy_node_rec "kube-proxy-cleanup $QY_NODE_BIN_NODE/kube-proxy"
  _qy_node_spawn kube-proxy "$QY_NODE_BIN_NODE/kube-proxy" --config "$QY_NODE_WORK/kube-proxy.yaml"
  # Ready when the kubernetes Service's ClusterIP answers from the host.
  local svc_ip
  svc_ip="$(qy_node_kubectl get service kubernetes -o jsonpath='{.spec.clusterIP}')"
  _qy_node_wait 60 "kube-proxy's rules for $svc_ip" \
    curl -sk --max-time 2 -o /dev/null "https://$svc_ip:443/readyz" || {
    tail -n 20 "$QY_NODE_WORK/logs/kube-proxy.log" >&2
    return 1
  }
}

# --- CoreDNS, kube-network-policies, storage --------------------------------------------------------
_qy_node_addons() {
  local m="$QY_NODE_WORK/manifests"
  cat >"$m/coredns.yaml" <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: system:coredns}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: system:coredns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:coredns}
subjects: [{kind: ServiceAccount, name: coredns, namespace: kube-system}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  # No forward plugin: names outside the cluster are NXDOMAIN here, never asked outside.
  Corefile: |
    cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {
        errors
        health {
            lameduck 3s
        }
        ready
        kubernetes cluster.local in-addr.arpa ip6.arpa {
            pods insecure
            fallthrough in-addr.arpa ip6.arpa
            ttl 30
        }
        cache 30
        loop
        reload
        loadbalance
    }
    .:53 {
        errors
        template ANY ANY {
            rcode NXDOMAIN
        }
    }
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels: {k8s-app: kube-dns}
spec:
  replicas: 1
  selector:
    matchLabels: {k8s-app: kube-dns}
  template:
    metadata:
      labels: {k8s-app: kube-dns}
    spec:
      serviceAccountName: coredns
      priorityClassName: system-cluster-critical
      dnsPolicy: Default
      securityContext:
        runAsUser: 65532
        runAsGroup: 65532
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
        # Port 53 without NET_BIND_SERVICE: a namespaced, safe sysctl.
        sysctls: [{name: net.ipv4.ip_unprivileged_port_start, value: "53"}]
      containers:
      - name: coredns
        image: $QY_NODE_COREDNS_IMAGE
        imagePullPolicy: IfNotPresent
        args: [-conf, /etc/coredns/Corefile]
        ports:
        - {name: dns, containerPort: 53, protocol: UDP}
        - {name: dns-tcp, containerPort: 53, protocol: TCP}
        resources:
          requests: {cpu: 50m, memory: 70Mi}
          limits: {memory: 170Mi}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
        livenessProbe:
          httpGet: {path: /health, port: 8080}
          initialDelaySeconds: 5
          periodSeconds: 10
        readinessProbe:
          httpGet: {path: /ready, port: 8181}
          periodSeconds: 2
        volumeMounts: [{name: config, mountPath: /etc/coredns, readOnly: true}]
      volumes:
      - name: config
        configMap: {name: coredns}
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, kubernetes.io/name: CoreDNS}
spec:
  clusterIP: $QY_NODE_DNS_IP
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
EOF
  cat >"$m/netpol.yaml" <<EOF
# kube-network-policies (upstream install.yaml, adapted): host network with NET_ADMIN only (no
# privileged container, no NRI, no netns mount), its metrics on 127.0.0.1.
apiVersion: v1
kind: ServiceAccount
metadata: {name: kube-network-policies, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kube-network-policies}
rules:
- apiGroups: [""]
  resources: [pods, namespaces, nodes]
  verbs: [list, watch]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kube-network-policies}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kube-network-policies}
subjects: [{kind: ServiceAccount, name: kube-network-policies, namespace: kube-system}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: kube-network-policies
  namespace: kube-system
  labels: {k8s-app: kube-network-policies}
spec:
  selector:
    matchLabels: {k8s-app: kube-network-policies}
  template:
    metadata:
      labels: {k8s-app: kube-network-policies}
    spec:
      hostNetwork: true
      dnsPolicy: ClusterFirstWithHostNet
      priorityClassName: system-node-critical
      serviceAccountName: kube-network-policies
      tolerations: [{operator: Exists}]
      containers:
      - name: kube-network-policies
        image: $QY_NODE_NETPOL_IMAGE
        imagePullPolicy: IfNotPresent
        command: [/bin/netpol]
        args:
        - --hostname-override=\$(MY_NODE_NAME)
        - --nfqueue-id=98
        - --metrics-bind-address=127.0.0.1:9080
        - --netfilter-bug-1766-fix=false
        - --disable-nri
        - --v=2
        env:
        - name: MY_NODE_NAME
          valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
        - {name: QY_NETPOL_QUEUE, value: "${QY_NETPOL_QUEUE:-auto}"}
        resources:
          requests: {cpu: 50m, memory: 50Mi}
        securityContext:
          capabilities: {add: [NET_ADMIN], drop: [ALL]}
          readOnlyRootFilesystem: true
        readinessProbe:
          httpGet: {host: 127.0.0.1, path: /metrics, port: 9080}
          periodSeconds: 2
EOF
  local spec n size i=0 pvs=""
  for spec in $QY_NODE_PVS; do
    n="${spec%%x*}"
    size="${spec#*x}"
    for ((; n > 0; n--, i++)); do
      mkdir -p "$QY_NODE_WORK/pv/pv-$i"
      pvs+="---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $QY_NODE_NAME-pv-$i
  labels: {qingyu.verify/node-pv: \"true\"}
spec:
  storageClassName: $QY_NODE_STORAGE_CLASS
  capacity: {storage: $size}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  volumeMode: Filesystem
  local: {path: $QY_NODE_WORK/pv/pv-$i}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [$QY_NODE_NAME]}]
"
    done
  done
  cat >"$m/storage.yaml" <<EOF
# The default StorageClass: static local volumes (directories under the work dir), bound when
# the first pod of a claim is scheduled.
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $QY_NODE_STORAGE_CLASS
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Retain
$pvs
EOF
  qy_node_kubectl apply --server-side --field-manager=qingyu-node -f "$m/storage.yaml" -f "$m/coredns.yaml" -f "$m/netpol.yaml" \
    >"$QY_NODE_WORK/logs/addons.log" 2>&1 || { cat "$QY_NODE_WORK/logs/addons.log" >&2; return 1; }
  qy_node_kubectl -n kube-system rollout status deployment/coredns --timeout=120s >/dev/null ||
    { qy_node_kubectl -n kube-system get pods -o wide >&2; _qy_node_die "CoreDNS did not become ready"; return 1; }
  qy_node_kubectl -n kube-system rollout status daemonset/kube-network-policies --timeout=120s >/dev/null ||
    { qy_node_kubectl -n kube-system get pods -o wide >&2; _qy_node_die "kube-network-policies did not become ready"; return 1; }
}

# qy_node_record_link NAME: a network interface the caller is about to create, for node_down to
# delete (also after a crash).
qy_node_record_link() { _qy_node_rec "link $1"; }

# qy_node_install_crds DIR: CRDs (e.g. ../shared/crds) applied and Established, as start_cluster.
qy_node_install_crds() {
  qy_node_kubectl apply --server-side --field-manager=qingyu-node -R -f "$1" >"$QY_NODE_WORK/logs/crds.log" 2>&1 ||
    { cat "$QY_NODE_WORK/logs/crds.log" >&2; return 1; }
  qy_node_kubectl wait --for condition=Established --timeout=60s crd --all >/dev/null
}

# qy_node_egress_counts: the daemons' packets (v4 + v6) as seen by the guard:
# "lo=N bridge=N rejected=N"; rejected ones went toward anything else (0 is the expected
# answer). "n/a" without the cgroup guard.
qy_node_egress_counts() {
  [[ -n "${QY_NODE_HOST_CGROUP:-}" ]] || { echo n/a; return; }
  { iptables -w -L QY-NODE-EGRESS -vnx; ip6tables -w -L QY-NODE-EGRESS -vnx; } 2>/dev/null |
    awk -v br="$QY_NODE_BRIDGE" '
      $3 == "RETURN" && $7 == "lo" { lo += $1 }
      $3 == "RETURN" && $7 == br { b += $1 }
      $3 == "REJECT" { r += $1 }
      END { printf "lo=%d bridge=%d rejected=%d\n", lo, b, r }'
}

# qy_node_forward_dropped: packets dropped between the bridge and other interfaces.
qy_node_forward_dropped() {
  nft list table inet qingyu-node 2>/dev/null | awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) } END { print n + 0 }'
}

# ------------------------------------------------------------------------------------------
# node_down: stop and remove everything node_up recorded; safe to call at any point, twice, or
# from another process. Leaves the work dir (logs) to its owner. Non-zero when something could
# not be removed (it says what).
node_down() {
  [[ -e "$QY_NODE_RUN/record" ]] || return 0
  (set +e; _qy_node_down)
  local rc=$?
  QY_NODE_KUBECONFIG=""
  return "$rc"
}

_qy_node_stop() { # SECONDS NAME...: TERM the recorded daemons together, KILL what is left after SECONDS
  local secs="$1" name pid start n live=()
  shift
  for name in "$@"; do
    read -r pid start < <(awk -v n="$name" '$1 == "pid" && $2 == n { p = $3; s = $4 } END { print p, s }' "$QY_NODE_RUN/record")
    [[ -n "$pid" && -d /proc/$pid && "$(_qy_node_starttime "$pid")" == "$start" ]] || continue
    kill "$pid" 2>/dev/null && live+=("$pid:$start")
  done
  for ((n = 0; n < secs * 10 && ${#live[@]} > 0; n++)); do
    local still=() p
    for p in "${live[@]}"; do
      [[ -d /proc/${p%%:*} && "$(_qy_node_starttime "${p%%:*}")" == "${p#*:}" ]] && still+=("$p")
    done
    live=("${still[@]}")
    ((${#live[@]} == 0)) || sleep 0.1
  done
  for p in "${live[@]}"; do kill -9 "${p%%:*}" 2>/dev/null; done
  ((${#live[@]} == 0)) || sleep 0.1
}

_qy_node_cgroup_pids() { # pids in the recorded cgroups (the pods' and the daemons')
  awk '$1 == "cgroup" { print $2 }' "$QY_NODE_RUN/record" | while read -r d; do
    [[ -d "$d" ]] && find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -un
}

_qy_node_down() {
  local work ok=true line t0="${EPOCHREALTIME/,/.}"
  _qy_step() { [[ -z "${QY_NODE_DEBUG:-}" ]] || _qy_node_log "node_down: $* at $(_qy_node_since "$t0")s"; }
  work="$(awk '$1 == "work" { print $2 }' "$QY_NODE_RUN/record")"
  # 1. The node agents first, so that nothing restarts the containers.
  _qy_node_stop 10 kubelet kube-proxy kube-scheduler kube-controller-manager
  _qy_step "agents stopped"
  # 2. Every container process (the pods' cgroups), then containerd, then its shims (they are in
  # the daemons' cgroup: all that is left there but etcd and kube-apiserver).
  local pod_pids=() p n
  for ((n = 0; n < 50; n++)); do
    mapfile -t pod_pids < <(awk '$1 == "cgroup" && $2 !~ /'"$QY_NODE_HOST_CGROUP_NAME"'$/ { print $2 }' "$QY_NODE_RUN/record" |
      while read -r d; do [[ -d "$d" ]] && find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null; done | sort -un)
    ((${#pod_pids[@]} == 0)) && break
    kill -9 "${pod_pids[@]}" 2>/dev/null
    sleep 0.1
  done
  _qy_step "containers killed"
  _qy_node_stop 10 containerd
  _qy_step "containerd stopped"
  local keep
  keep=" $(_qy_node_pid_of etcd) $(_qy_node_pid_of kube-apiserver) "
  for ((n = 0; n < 50; n++)); do
    local left=()
    for p in $(_qy_node_cgroup_pids); do
      [[ "$keep" == *" $p "* ]] || left+=("$p")
    done
    ((${#left[@]} == 0)) && break
    kill -9 "${left[@]}" 2>/dev/null
    sleep 0.1
  done
  _qy_step "shims killed"
  _qy_node_stop 3 kube-apiserver
  _qy_node_stop 10 etcd
  _qy_step "apiserver, etcd stopped"
  # Anything still alive that we started (by recorded pid and start time).
  while read -r _ name pid start; do
    if [[ -d /proc/$pid && "$(_qy_node_starttime "$pid")" == "$start" ]]; then
      _qy_node_log "killing $name ($pid)"
      kill -9 "$pid" 2>/dev/null
    fi
  done < <(awk '$1 == "pid"' "$QY_NODE_RUN/record")

  # 3. Mounts under the work dir and /run/qingyu-node (overlay rootfs, netns, kubelet's volumes
  # and its rshared root), deepest first.
  local mp
  for ((n = 0; n < 5; n++)); do
    mapfile -t mps < <(_qy_node_mounts "$work")
    ((${#mps[@]} == 0)) && break
    for mp in "${mps[@]}"; do
      umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null
    done
  done
  mapfile -t mps < <(_qy_node_mounts "$work")
  ((${#mps[@]} == 0)) || { _qy_node_log "still mounted: ${mps[*]}"; ok=false; }

  _qy_step "unmounted"
  # 4. kube-proxy's and kubelet's rules, the CNI's, ours.
  line="$(awk '$1 == "kube-proxy-cleanup" { print $2 }' "$QY_NODE_RUN/record")"
  [[ -n "$line" && -x "$line" ]] && "$line" --cleanup >/dev/null 2>&1
  _qy_node_iptables_cleanup
  nft delete table inet qingyu-node 2>/dev/null
  nft delete table inet kube-network-policies 2>/dev/null
  nft delete table inet qy-nfqueue-probe 2>/dev/null
  _qy_node_nft_cleanup

  # 5. Links: the bridge and any recorded with qy_node_record_link (the pods' veths went with
  # their network namespaces; any left on a bridge of ours goes with it).
  local link veth
  while read -r _ link; do
    for veth in $(ip -o link show master "$link" 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
      ip link del "$veth" 2>/dev/null
    done
    ip link del "$link" 2>/dev/null
    ip link show "$link" >/dev/null 2>&1 && { _qy_node_log "link left: $link"; ok=false; }
  done < <(awk '$1 == "link"' "$QY_NODE_RUN/record")

  # The kernel's connection tracking entries of the pods' and services' flows.
  local cidr
  for cidr in "-s $QY_NODE_POD_CIDR" "-d $QY_NODE_POD_CIDR" "-d $QY_NODE_SERVICE_CIDR"; do
    # shellcheck disable=SC2086 # two words on purpose
    conntrack -D $cidr >/dev/null 2>&1
  done
  _qy_step "rules, links and conntrack entries removed"
  # 6. cgroups, deepest first.
  while read -r _ d; do
    [[ -d "$d" ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    [[ -d "$d" ]] && { _qy_node_log "cgroup left: $d"; ok=false; }
  done < <(awk '$1 == "cgroup"' "$QY_NODE_RUN/record" | sort -u)

  # 7. sysctls back to what they were.
  while read -r _ k v; do
    [[ "$(sysctl -n "$k" 2>/dev/null)" == "$v" ]] || sysctl -qw "$k=$v" 2>/dev/null
  done < <(awk '$1 == "sysctl"' "$QY_NODE_RUN/record")

  # 8. Files outside the work dir: what did not exist before us; else only our entries.
  if [[ -d /var/log/containers && -n "$work" ]]; then
    find /var/log/containers -maxdepth 1 -type l -lname "$work/*" -delete 2>/dev/null
  fi
  if [[ -d /var/lib/cni/results ]]; then
    find /var/lib/cni/results -maxdepth 1 -name 'qy-pods-*' -delete 2>/dev/null
  fi
  if [[ -d /run/containerd/s && -e "$QY_NODE_RUN/containerd-s-before" ]]; then
    for p in /run/containerd/s/*; do
      [[ -e "$p" ]] || continue
      grep -qxF "$(basename "$p")" "$QY_NODE_RUN/containerd-s-before" || rm -f "$p"
    done
  fi
  while read -r _ p; do
    [[ -e "$p" ]] && rm -rf "$p"
  done < <(awk '$1 == "created-path"' "$QY_NODE_RUN/record")

  # 9. The record last.
  if $ok; then
    rm -rf "$QY_NODE_RUN"
  else
    _qy_node_log "keeping $QY_NODE_RUN/record: run node_down again"
    return 1
  fi
}

_qy_node_mounts() { # WORK: mount points under WORK or /run/qingyu-node, deepest first
  awk -v w="${1:-/nonexistent}" -v r="$QY_NODE_RUN" '
    { mp = $5; gsub(/\\040/, " ", mp) }
    (w != "" && (mp == w || index(mp, w "/") == 1)) || mp == r || index(mp, r "/") == 1 { print length(mp), mp }' /proc/self/mountinfo |
    sort -rn | cut -d' ' -f2- | awk '!seen[$0]++'
}

# iptables chains that were not there before node_up (KUBE-*, CNI-*, QY-*): every rule that jumps
# to one is deleted, then the chain.
_qy_node_iptables_cleanup() {
  local before="$QY_NODE_RUN/iptables-chains-before" ipt t chain rule
  for ipt in iptables ip6tables; do
    for t in filter nat mangle raw; do
      local chains=()
      while read -r chain; do
        [[ "$chain" =~ ^(KUBE-|CNI-|QY-) ]] || continue
        grep -qxF "$ipt $t $chain" "$before" 2>/dev/null && continue
        chains+=("$chain")
      done < <("$ipt" -w -t "$t" -S 2>/dev/null | awk '$1 == "-N" { print $2 }')
      ((${#chains[@]} == 0)) && continue
      # Rules that jump to them, in any chain.
      local re
      re="-j ($(
        IFS='|'
        echo "${chains[*]}"
      ))( |$)"
      while IFS= read -r rule; do
        [[ "$rule" =~ $re ]] || continue
        # -A CHAIN ... -> -D CHAIN ...
        eval "\"$ipt\" -w -t \"$t\" -D ${rule#-A }" 2>/dev/null
      done < <("$ipt" -w -t "$t" -S 2>/dev/null | grep '^-A ')
      for chain in "${chains[@]}"; do "$ipt" -w -t "$t" -F "$chain" 2>/dev/null; done
      for chain in "${chains[@]}"; do "$ipt" -w -t "$t" -X "$chain" 2>/dev/null; done
    done
  done
}

# nftables tables that did not exist before node_up and are now empty of rules (iptables-nft
# creates its tables on first use and leaves them).
_qy_node_nft_cleanup() {
  local fam name
  while read -r fam name; do
    python3 - "$QY_NODE_RUN/nft-tables-before.json" "$fam" "$name" <<'PY' && continue
import json, sys
before, fam, name = sys.argv[1:]
try:
    tables = json.load(open(before)).get("nftables", [])
except Exception:
    tables = []
sys.exit(0 if any(t.get("table", {}).get("family") == fam and t["table"].get("name") == name for t in tables) else 1)
PY
    if ! nft list table "$fam" "$name" 2>/dev/null | grep -qvE '^\s*(table|chain|type|policy|\}|$)|^\s*#'; then
      nft delete table "$fam" "$name" 2>/dev/null
    fi
  done < <(nft list tables 2>/dev/null | awk '$1 == "table" { print $2, $3 }')
}
