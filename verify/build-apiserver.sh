#!/usr/bin/env bash
# Build kube-apiserver, kubectl and etcd from Go modules into a cache outside
# the repository, keyed by version: only the first run pays for the build.
#
#   bash verify/build-apiserver.sh          # build what is missing, print bin dirs
#   bash verify/build-apiserver.sh --controllers   # also kube-controller-manager,
#                                           # kube-scheduler and KWOK (for a rollout check)
#   QINGYU_CACHE=/some/dir bash verify/...  # cache elsewhere (default ~/.cache/qingyu)
#
# The module scaffolding (go.mod/go.sum/tools.go) is committed under
# verify/apiserver/{kubernetes,etcd}; the binaries never enter the repo.
set -euo pipefail

# Versions: keep in step with verify/apiserver/*/go.mod (Renovate updates both).
# renovate: datasource=go depName=k8s.io/kubernetes
K8S_VERSION=v1.30.14
# renovate: datasource=go depName=go.etcd.io/etcd/server/v3
ETCD_VERSION=v3.5.21
# The last KWOK on the Kubernetes 1.30 libraries.
# renovate: datasource=go depName=sigs.k8s.io/kwok
KWOK_VERSION=v0.6.1

controllers=false
case "${1:-}" in
  --controllers) controllers=true ;;
  "") ;;
  *) echo "usage: $0 [--controllers]" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
QY_BUILD_NAME=build-apiserver
# shellcheck source=verify/lib/build.sh
source "$here/lib/build.sh"
cache="$QY_BUILD_CACHE"
k8s_bin="$cache/bin/kubernetes-$K8S_VERSION"
etcd_bin="$cache/bin/etcd-$ETCD_VERSION"
ctl_bin="$cache/bin/kubernetes-controllers-$K8S_VERSION"
kwok_bin="$cache/bin/kwok-$KWOK_VERSION"

command -v go >/dev/null || { qy_build_log "go is not installed"; exit 1; }

# go_build_kubernetes CMD...: build k8s.io/kubernetes/cmd/CMD... into BUILD_OUT.
go_build_kubernetes() {
  local minor="${K8S_VERSION#v1.}" pkg cmd
  minor="${minor%%.*}"
  local ldflags="-s -w"
  # Same version stamps as the Kubernetes release build (hack/lib/version.sh),
  # so discovery reports a real version and kubectl sees no skew.
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  local pkgs=()
  for cmd in "$@"; do
    pkgs+=("k8s.io/kubernetes/cmd/$cmd")
  done
  (cd "$here/apiserver/kubernetes" && go build -ldflags "$ldflags" -o "$BUILD_OUT/" "${pkgs[@]}")
}

go_build_etcd() {
  (cd "$here/apiserver/etcd" && go build -ldflags "-s -w" -o "$BUILD_OUT/etcd" go.etcd.io/etcd/server/v3)
}

go_install_kwok() {
  GOBIN="$BUILD_OUT" go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
}

cached_build "$etcd_bin" "etcd $ETCD_VERSION" etcd -- go_build_etcd
# The longest: ~16 min on 2 cores with a cold Go cache.
cached_build "$k8s_bin" "kube-apiserver kubectl $K8S_VERSION" kube-apiserver kubectl -- \
  go_build_kubernetes kube-apiserver kubectl
if $controllers; then
  cached_build "$ctl_bin" "kube-controller-manager kube-scheduler $K8S_VERSION" \
    kube-controller-manager kube-scheduler -- go_build_kubernetes kube-controller-manager kube-scheduler
  cached_build "$kwok_bin" "kwok $KWOK_VERSION" kwok -- go_install_kwok
fi

# For callers: the directories holding the binaries, one per line.
printf '%s\n' "$k8s_bin" "$etcd_bin"
if $controllers; then
  printf '%s\n' "$ctl_bin" "$kwok_bin"
fi
