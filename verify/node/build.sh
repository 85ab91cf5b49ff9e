#!/usr/bin/env bash
# Build (once) and cache everything a real single node needs beyond the control plane that
# verify/build-apiserver.sh builds, and install the node's Debian packages when missing.
#
#   bash verify/node/build.sh        # build what is missing; print the bin dirs, one per line
#
# Into ${QINGYU_CACHE:-~/.cache/qingyu}/bin/<name>-<version>/ (verify/lib/build.sh):
#   kubernetes-node-v1.30.14/{kubelet,kube-proxy}   k8s.io/kubernetes, verify/apiserver/kubernetes
#   coredns-v1.11.3/coredns                          github.com/coredns/coredns@v1.11.3
#   kube-network-policies-v0.8.0-<patch>/netpol      sigs.k8s.io/kube-network-policies@v0.8.0,
#                                                    built from a patched copy (NFQUEUE, below)
#   pause-v1.30.14/pause                             build/pause/linux/pause.c of k8s.io/kubernetes
#   qy-probe-<hash>/qy-probe                         verify/node/probe (our own test program)
# and, through verify/build-apiserver.sh --controllers, kube-apiserver, kubectl, etcd,
# kube-controller-manager and kube-scheduler. Every source comes from the Go module proxy or
# Debian; nothing built is committed. Builds run one after the other (2 cores).
set -euo pipefail

# Debian packages the node runs on (containerd 1.6, runc, CNI plugins, conntrack, iptables/nft)
# and gcc + the static libc for the pause binary.
NODE_DEBS=(containerd runc containernetworking-plugins conntrack iptables nftables gcc libc6-dev)

node_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
verify_dir="$(dirname "$node_dir")"
QY_BUILD_NAME=node-build
# shellcheck source=verify/lib/build.sh
source "$verify_dir/lib/build.sh"
# Versions and cache directories (shared with lib/node.sh).
# shellcheck source=verify/node/lib/paths.sh
source "$node_dir/lib/paths.sh"
PAUSE_TAG=$QY_NODE_PAUSE_TAG

log() { printf 'node-build: %s\n' "$*" >&2; }

command -v go >/dev/null || { log "go is not installed"; exit 1; }

# --- Debian packages ------------------------------------------------------------------------
install_debs() {
  local missing=() p
  for p in "${NODE_DEBS[@]}"; do
    [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == "install ok installed" ]] || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && { log "Debian packages present"; return; }
  ((EUID == 0)) || { log "needs root to install: ${missing[*]}"; exit 1; }
  local t0=$SECONDS
  log "installing ${missing[*]}"
  # Installing containerd must not start a daemon on a machine with an init system.
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "Debian packages installed in $((SECONDS - t0))s"
}

# A module's directory in the module cache (downloaded through the proxy when missing), from
# outside any main module.
mod_dir() {
  local tmp dir
  tmp="$(mktemp -d)"
  dir="$(cd "$tmp" && GOFLAGS="" go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  rmdir "$tmp"
  [[ -n "$dir" && -d "$dir" ]] || { log "could not download $1"; return 1; }
  printf '%s\n' "$dir"
}

# --- kubelet, kube-proxy --------------------------------------------------------------------
go_build_node() {
  local minor="${QY_NODE_K8S_VERSION#v1.}" pkg
  minor="${minor%%.*}"
  local ldflags="-s -w"
  # The release build's version stamps (hack/lib/version.sh), as verify/build-apiserver.sh.
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$QY_NODE_K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  (cd "$verify_dir/apiserver/kubernetes" &&
    go build -ldflags "$ldflags" -o "$BUILD_OUT/" k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy)
}

# --- CoreDNS --------------------------------------------------------------------------------
go_install_coredns() {
  GOBIN="$BUILD_OUT" go install -ldflags "-s -w" "github.com/coredns/coredns@$QY_NODE_COREDNS_VERSION"
}

# --- kube-network-policies ------------------------------------------------------------------
# Its nftables rules end in the "queue" statement, which needs the kernel's nft_queue
# (CONFIG_NFT_QUEUE). Some kernels (this machine's monolithic 6.18) lack it but have nft_compat
# and the xtables NFQUEUE target. A copy of the module gets netpol/queue_compat.go.in, and each of
# its three queue statements is routed through qyQueue(), which at the first rule sync tries a
# queue rule in a scratch table and uses the xtables target only where the kernel refuses it:
# on a standard kernel the binary behaves as the stock one.
# (The cache directory's name hashes queue_compat.go.in and QY_NODE_NETPOL_PATCH_REV, which is
# bumped when what follows changes.)
go_build_netpol() {
  local src tmp
  src="$(mod_dir "sigs.k8s.io/kube-network-policies@$QY_NODE_NETPOL_VERSION")" || return 1
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now: tmp is local
  trap "rm -rf '$tmp'" RETURN
  cp -r "$src" "$tmp/src"
  chmod -R u+w "$tmp/src"
  local pkg="$tmp/src/pkg/networkpolicy"
  cp "$node_dir/netpol/queue_compat.go.in" "$pkg/queue_compat.go"
  # controller.go (twice):  queue := &expr.Queue{Num: uint16(c.config.QueueID)}
  #                         if c.config.FailOpen {
  #                                 queue.Flag = expr.QueueFlagBypass
  #                         }
  # dnsagent.go (once):     &expr.Queue{Num: uint16(n.nfQueueID), Flag: expr.QueueFlagBypass},
  local n
  n="$(perl -0pi -e '$n += s/queue := &expr\.Queue\{Num: uint16\(c\.config\.QueueID\)\}\n\s*if c\.config\.FailOpen \{\n\s*queue\.Flag = expr\.QueueFlagBypass\n\s*\}/queue := qyQueue(uint16(c.config.QueueID), c.config.FailOpen)/g; END { print STDERR $n + 0 }' \
    "$pkg/controller.go" 2>&1)"
  [[ "$n" == 2 ]] || { log "netpol patch: expected 2 queue statements in controller.go, found $n"; return 1; }
  n="$(perl -0pi -e '$n += s/&expr\.Queue\{Num: uint16\(n\.nfQueueID\), Flag: expr\.QueueFlagBypass\}/qyQueue(uint16(n.nfQueueID), true)/g; END { print STDERR $n + 0 }' \
    "$pkg/dnsagent.go" 2>&1)"
  [[ "$n" == 1 ]] || { log "netpol patch: expected 1 queue statement in dnsagent.go, found $n"; return 1; }
  if grep -rn 'expr\.Queue{' "$pkg"/*.go | grep -v _test.go | grep -v queue_compat.go; then
    log "netpol patch: a queue statement was left unpatched"
    return 1
  fi
  (cd "$tmp/src" && go build -ldflags "-s -w" -o "$BUILD_OUT/netpol" ./cmd)
}

# --- pause ----------------------------------------------------------------------------------
build_pause() {
  local src
  src="$(mod_dir "k8s.io/kubernetes@$QY_NODE_K8S_VERSION")/build/pause/linux/pause.c" || return 1
  [[ -f "$src" ]] || { log "no $src"; return 1; }
  # As build/pause/Makefile: CFLAGS = -Os -Wall -Werror -static -DVERSION=v$(TAG)-$(REV)
  gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_TAG-qingyu" -o "$BUILD_OUT/pause" "$src"
  strip "$BUILD_OUT/pause"
}

# --- qy-probe (our own static test program) -------------------------------------------------
go_build_probe() {
  (cd "$node_dir/probe" && go build -ldflags "-s -w" -o "$BUILD_OUT/qy-probe" .)
}

timed() { # timed LABEL CMD...: run, remember the seconds it took
  local t0=$SECONDS
  "${@:2}"
  timings+=("$1 $((SECONDS - t0))s")
}

timings=()
timed debs install_debs
# The control plane (cached after its first build).
cp_out="$(bash "$verify_dir/build-apiserver.sh" --controllers)"
mapfile -t cp_dirs <<<"$cp_out"

timed pause cached_build "$QY_NODE_BIN_PAUSE" "pause $PAUSE_TAG" pause -- build_pause
timed probe cached_build "$QY_NODE_BIN_PROBE" "qy-probe" qy-probe -- go_build_probe
timed kubelet+kube-proxy cached_build "$QY_NODE_BIN_NODE" "kubelet kube-proxy $QY_NODE_K8S_VERSION" kubelet kube-proxy -- go_build_node
timed coredns cached_build "$QY_NODE_BIN_COREDNS" "coredns $QY_NODE_COREDNS_VERSION" coredns -- go_install_coredns
timed netpol cached_build "$QY_NODE_BIN_NETPOL" "kube-network-policies $QY_NODE_NETPOL_VERSION (patched)" netpol -- go_build_netpol
log "times: ${timings[*]}"

printf '%s\n' "${cp_dirs[@]}" "$QY_NODE_BIN_NODE" "$QY_NODE_BIN_COREDNS" "$QY_NODE_BIN_NETPOL" "$QY_NODE_BIN_PAUSE" "$QY_NODE_BIN_PROBE"
