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

# Versions: keep in step with verify/apiserver/*/go.mod.
K8S_VERSION=v1.30.14
ETCD_VERSION=v3.5.21
KWOK_VERSION=v0.6.1 # the last KWOK on the Kubernetes 1.30 libraries

controllers=false
case "${1:-}" in
  --controllers) controllers=true ;;
  "") ;;
  *) echo "usage: $0 [--controllers]" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${QINGYU_CACHE:-$HOME/.cache/qingyu}"
k8s_bin="$cache/bin/kubernetes-$K8S_VERSION"
etcd_bin="$cache/bin/etcd-$ETCD_VERSION"
ctl_bin="$cache/bin/kubernetes-controllers-$K8S_VERSION"
kwok_bin="$cache/bin/kwok-$KWOK_VERSION"

log() { printf 'build-apiserver: %s\n' "$*" >&2; }

command -v go >/dev/null || { log "go is not installed"; exit 1; }

export GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath -mod=readonly"
export CGO_ENABLED=0
# Never switch toolchains behind our back.
export GOTOOLCHAIN=local

# build_kubernetes DIR CMD...: build k8s.io/kubernetes/cmd/CMD... into DIR.
build_kubernetes() {
  local out="$1"
  shift
  local cmd missing=false
  for cmd in "$@"; do
    [[ -x "$out/$cmd" ]] || missing=true
  done
  if ! $missing; then
    log "cached: $out"
    return
  fi
  local minor="${K8S_VERSION#v1.}"
  minor="${minor%%.*}"
  local pkg
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
  local tmp
  tmp="$(mktemp -d "$cache/bin/.kubernetes-XXXXXX")"
  log "building $* $K8S_VERSION (first time only; long on 2 cores)"
  local start=$SECONDS
  (cd "$here/apiserver/kubernetes" && go build -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}") || {
    rm -rf "$tmp"
    return 1
  }
  chmod 755 "$tmp"
  rm -rf "$out"
  mv "$tmp" "$out"
  log "$* $K8S_VERSION built in $((SECONDS - start))s"
}

build_kwok() {
  if [[ -x "$kwok_bin/kwok" ]]; then
    log "cached: $kwok_bin"
    return
  fi
  local tmp
  tmp="$(mktemp -d "$cache/bin/.kwok-XXXXXX")"
  log "building kwok $KWOK_VERSION (first time only)"
  local start=$SECONDS
  GOBIN="$tmp" go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" || {
    rm -rf "$tmp"
    return 1
  }
  chmod 755 "$tmp"
  rm -rf "$kwok_bin"
  mv "$tmp" "$kwok_bin"
  log "kwok $KWOK_VERSION built in $((SECONDS - start))s"
}

build_etcd() {
  if [[ -x "$etcd_bin/etcd" ]]; then
    log "cached: $etcd_bin"
    return
  fi
  local tmp
  tmp="$(mktemp -d "$cache/bin/.etcd-XXXXXX")"
  log "building etcd $ETCD_VERSION (first time only)"
  local start=$SECONDS
  (cd "$here/apiserver/etcd" &&
    go build -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3) || {
    rm -rf "$tmp"
    return 1
  }
  chmod 755 "$tmp"
  rm -rf "$etcd_bin"
  mv "$tmp" "$etcd_bin"
  log "etcd $ETCD_VERSION built in $((SECONDS - start))s"
}

mkdir -p "$cache/bin"
build_etcd
build_kubernetes "$k8s_bin" kube-apiserver kubectl
if $controllers; then
  build_kubernetes "$ctl_bin" kube-controller-manager kube-scheduler
  build_kwok
fi

# For callers: the directories holding the binaries, one per line.
printf '%s\n' "$k8s_bin" "$etcd_bin"
if $controllers; then
  printf '%s\n' "$ctl_bin" "$kwok_bin"
fi
