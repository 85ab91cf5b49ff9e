# shellcheck shell=bash
# shellcheck disable=SC2034 # read by the files that source this one
# Versions and cache directories of everything verify/node/ runs (sourced by build.sh and
# lib/node.sh, so both name the same directories).

# renovate: datasource=go depName=k8s.io/kubernetes
QY_NODE_K8S_VERSION=v1.30.14     # keep in step with verify/build-apiserver.sh
# renovate: datasource=go depName=go.etcd.io/etcd/server/v3
QY_NODE_ETCD_VERSION=v3.5.21     # idem
# renovate: datasource=go depName=github.com/coredns/coredns
QY_NODE_COREDNS_VERSION=v1.11.3
# renovate: datasource=go depName=sigs.k8s.io/kube-network-policies
QY_NODE_NETPOL_VERSION=v0.8.0    # sigs.k8s.io/kube-network-policies (v0.7.0 and v0.8.0 are served)
QY_NODE_PAUSE_TAG=3.9            # build/pause/Makefile TAG of 1.30: kubelet's default sandbox image
QY_NODE_NETPOL_PATCH_REV=1       # bump when build.sh patches the netpol copy differently

QY_NODE_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" # verify/node
QY_NODE_CACHE="${QINGYU_CACHE:-$HOME/.cache/qingyu}"

_qy_node_hash() { cat "$@" | sha256sum | cut -c1-"${QY_HASH_LEN:-12}"; }

QY_NODE_BIN_K8S="$QY_NODE_CACHE/bin/kubernetes-$QY_NODE_K8S_VERSION"                  # kube-apiserver kubectl
QY_NODE_BIN_CTL="$QY_NODE_CACHE/bin/kubernetes-controllers-$QY_NODE_K8S_VERSION"      # kube-controller-manager kube-scheduler
QY_NODE_BIN_ETCD="$QY_NODE_CACHE/bin/etcd-$QY_NODE_ETCD_VERSION"                      # etcd
QY_NODE_BIN_NODE="$QY_NODE_CACHE/bin/kubernetes-node-$QY_NODE_K8S_VERSION"            # kubelet kube-proxy
QY_NODE_BIN_COREDNS="$QY_NODE_CACHE/bin/coredns-$QY_NODE_COREDNS_VERSION"             # coredns
QY_NODE_BIN_NETPOL="$QY_NODE_CACHE/bin/kube-network-policies-$QY_NODE_NETPOL_VERSION-$(
  printf '%s\n' "$QY_NODE_NETPOL_PATCH_REV" | QY_HASH_LEN=10 _qy_node_hash - "$QY_NODE_SRC/netpol/queue_compat.go.in")" # netpol
QY_NODE_BIN_PAUSE="$QY_NODE_CACHE/bin/pause-$QY_NODE_K8S_VERSION"                     # pause
QY_NODE_PROBE_ID="$(_qy_node_hash "$QY_NODE_SRC/probe/go.mod" "$QY_NODE_SRC/probe/main.go")"
QY_NODE_BIN_PROBE="$QY_NODE_CACHE/bin/qy-probe-$QY_NODE_PROBE_ID"                     # qy-probe
