# shellcheck shell=bash
# The platform's images on the real node, without a registry or docker (sourced, not run):
# every image the synthesized YAML names is built here from source (Go module proxy, PyPI,
# Debian) or stood in for, under the exact name the YAML uses, or declared absent with its
# reason. Used by verify/node/images.sh (table) and verify/node/platform.sh (the node checks).
#
#   source verify/node/lib/platform-images.sh      # (after lib/node.sh)
#   qy_pimg_plan DIST                              # which images, and what each will be
#   qy_pimg_build                                  # build what is missing into the cache
#   qy_pimg_import                                 # (node up) rootfs + docker-archive + import
#   qy_pimg_table                                  # image | real/stand-in/absent | what | build
#
# Versions: an image's version is its tag in the YAML (the etcd tag is the etcd Go module
# version, Prometheus v3.M.P is module v0.3MM.P, milvusdb/milvus vX is PyPI milvus==X, ...):
# nothing here names a platform image's tag. What is pinned here is what the YAML does not
# say: the Prometheus Operator the node runs for the Prometheus resource, the one redis_exporter
# the proxy serves, and the commit behind MinIO's release tag.
#
# Cache: ${QINGYU_CACHE:-~/.cache/qingyu}/bin/<name>-<version>/ (verify/lib/build.sh's
# cached_build), each with .qy-build (how it was built, and its build time in seconds).

# ---- pins: the only place they are set --------------------------------------------------------
# The operator that turns the Prometheus resource into pods (test infrastructure, in its own
# namespace): v0.93 is the line of the CRDs in ../shared/crds (cdk8s.yaml) and of the platform's
# Prometheus default (pkg/operator/defaults.go).
# renovate: datasource=go depName=github.com/prometheus-operator/prometheus-operator
PROMETHEUS_OPERATOR_VERSION=v0.93.0
# redis_exporter: the proxy serves v1.88.0 and refuses v1.89.0 and later and the version list
# (403). When the YAML's tag cannot be had, this one is built and labelled a stand-in.
# renovate: datasource=go depName=github.com/oliver006/redis_exporter
REDIS_EXPORTER_FALLBACK_VERSION=v1.88.0
# MinIO release tags as Go pseudo-versions of their release commits (the proxy refuses the
# RELEASE.* tags: 403). A tag that is not listed cannot be built: the image is absent.
QY_PIMG_MINIO_RELEASES=(
  "RELEASE.2023-03-20T20-16-18Z=v0.0.0-20230320201618-05444a0f6af8"
)
# The Milvus client the node's checks use from the host (checks 6b, 9, 10b): the server's 2.3
# line (PyPI pymilvus 2.3.0, released with Milvus v2.3.0: milvus-io/pymilvus tag v2.3.0), with
# the pins pymilvus 2.3.0 needs on today's PyPI (QY_PIMG_PYMILVUS_PINS, as measured in
# ../shared/real-node-facts.md).
# renovate: datasource=pypi depName=pymilvus
PYMILVUS_VERSION=2.3.0
QY_PIMG_PYMILVUS_PINS=("marshmallow<3.24" "environs<10")
# A Gateway API implementation for the opt-in check 5b (QINGYU_VERIFY_GATEWAY=1): Traefik, pure
# Go. v3.6.12 is the newest that builds from the proxy: v3.7.x replaces the module
# github.com/traefik/traefik/dynamic/ext with a directory its zip leaves out, and the proxy
# refuses that module (403).
# renovate: datasource=go depName=github.com/traefik/traefik/v3
TRAEFIK_VERSION=v3.6.12
# Debian packages (bookworm) the stand-ins and the Milvus image take from the machine's mirror:
# Redis (7.0 in bookworm: the 7.2 image's stand-in), tini (the milvusdb/milvus entrypoint is
# tini v0.19.0, bookworm's too), dash for /bin/sh.
QY_PIMG_REDIS_DEBS=(redis-server redis-tools libjemalloc2 liblzf1 libatomic1)
# The busybox applets of the grpcurl image (the Milvus auth Job's script: charts/milvus/assets/
# milvus-auth.sh), linked in /bin as alpine's image has them.
QY_PIMG_GRPCURL_APPLETS=(sh base64 sed tr grep cat mkdir sleep date printf head wc cut awk env ls rm echo test)
# -------------------------------------------------------------------------------------------------

QY_PIMG_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" # verify/node
QY_PIMG_REPO="$(cd "$QY_PIMG_SRC/../.." && pwd)"
QY_BUILD_NAME="${QY_BUILD_NAME:-node-images}"
# shellcheck source=verify/lib/build.sh
source "$QY_PIMG_REPO/verify/lib/build.sh"
QY_PIMG_CACHE="$QY_BUILD_CACHE/bin"

# The plan, one image a line (tab-separated): image, handler, kind (real|stand-in|absent), what,
# cache dir ("-" when absent), and, after qy_pimg_build, build (seconds or a note).
QY_PIMG_PLAN=""

_pimg_log() { printf '%s: %s\n' "${QY_LOG_NAME:-node-images}" "$*" >&2; }

# _pimg_mod_json MODULE@VERSION: `go mod download -json` from outside any module (empty on failure).
_pimg_mod_json() {
  local tmp
  tmp="$(mktemp -d)"
  (cd "$tmp" && GOFLAGS="" GOWORK=off go mod download -json "$1" 2>/dev/null) || true
  rmdir "$tmp"
}
_pimg_json_field() { # FIELD (Dir, Origin.Hash, Error...) of the JSON on stdin
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{let v=JSON.parse(s);for(const k of process.argv[1].split("."))v=v?.[k];process.stdout.write(v==null?"":String(v))}catch{}})' "$1"
}
_pimg_mod_dir() { _pimg_mod_json "$1" | _pimg_json_field Dir; }
_pimg_mod_hash() { _pimg_mod_json "$1" | _pimg_json_field Origin.Hash; }

# _pimg_deb_version PACKAGE: the candidate version of a Debian package (empty when unknown).
_pimg_deb_version() { apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }'; }
_pimg_safe() { printf '%s' "$1" | tr -c 'A-Za-z0-9._-' '_'; }
_pimg_hash() { cat "$@" | sha256sum | cut -c1-12; }

# _pimg_timed LABEL FUNC ARGS...: run a build (inside cached_build: BUILD_OUT is set) and write
# BUILD_OUT/.qy-build: what was built and how long it took.
_pimg_timed() {
  local label="$1" t0=$SECONDS
  shift
  "$@" || return 1
  printf 'built=%s\nseconds=%s\ngo=%s\ndate=%s\n' "$label" "$((SECONDS - t0))" "$(go env GOVERSION 2>/dev/null)" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$BUILD_OUT/.qy-build"
}

# ---- builders (each run by cached_build, with BUILD_OUT set) ------------------------------------
# etcd, etcdctl, etcdutl: go.etcd.io/etcd/{server,etcdctl,etcdutl}/v3 at the YAML's tag. Their
# go.mod files replace the sibling modules with ../ paths (so `go install` is refused): a
# scaffold module requires the three at that version and builds their main packages, as
# verify/apiserver/etcd does for the control plane's etcd (without a committed go.mod: the
# version comes from the YAML).
_pimg_build_etcd() {
  local v="$1" tmp sha
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now
  trap "rm -rf '$tmp'; trap - RETURN" RETURN
  sha="$(_pimg_mod_hash "go.etcd.io/etcd/server/v3@$v")"
  (cd "$tmp" && GOFLAGS="" go mod init qingyu.local/verify/etcd-image >/dev/null 2>&1 &&
    GOFLAGS="-trimpath" go get "go.etcd.io/etcd/server/v3@$v" "go.etcd.io/etcd/etcdctl/v3@$v" "go.etcd.io/etcd/etcdutl/v3@$v" >/dev/null) || return 1
  local ld="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=${sha:0:8}"
  (cd "$tmp" && go build -ldflags "$ld" -o "$BUILD_OUT/etcd" go.etcd.io/etcd/server/v3 &&
    go build -ldflags "$ld" -o "$BUILD_OUT/etcdctl" go.etcd.io/etcd/etcdctl/v3 &&
    go build -ldflags "$ld" -o "$BUILD_OUT/etcdutl" go.etcd.io/etcd/etcdutl/v3)
}

# minio: github.com/minio/minio at the pseudo-version of the release commit, with the release
# build's version stamps (buildscripts/gen-ldflags.go), so `minio --version` names the release.
_pimg_build_minio() {
  local tag="$1" pseudo="$2" hash stamp
  hash="$(_pimg_mod_hash "github.com/minio/minio@$pseudo")"
  [[ -n "$hash" ]] || hash="${pseudo##*-}"
  # RELEASE.2023-03-20T20-16-18Z -> 2023-03-20T20:16:18Z
  stamp="${tag#RELEASE.}"
  stamp="${stamp:0:13}:${stamp:14:2}:${stamp:17}"
  local p=github.com/minio/minio/cmd
  GOBIN="$BUILD_OUT" GOFLAGS="-trimpath" go install \
    -ldflags "-s -w -X $p.Version=$stamp -X $p.ReleaseTag=$tag -X $p.CommitID=$hash -X $p.ShortCommitID=${hash:0:12}" \
    "github.com/minio/minio@$pseudo"
}

# The mc stand-in (verify/node/images/mc: minio-go and madmin-go, its own go.mod/go.sum).
_pimg_build_mc() {
  (cd "$QY_PIMG_SRC/images/mc" && go build -ldflags "-s -w" -o "$BUILD_OUT/mc" .)
}

# prometheus + promtool: github.com/prometheus/prometheus at v0.3MM.P, built with the module as
# the main module (its go.mod has a replace, so `go install` is refused), as
# verify/alerting/build.sh builds promtool. Without the builtinassets tag: no web UI (the API is
# all the checks use).
_pimg_build_prometheus() {
  local version="$1" module_version="$2" dir hash
  dir="$(_pimg_mod_dir "github.com/prometheus/prometheus@$module_version")"
  [[ -n "$dir" && -f "$dir/go.mod" ]] || { _pimg_log "cannot download github.com/prometheus/prometheus@$module_version"; return 1; }
  hash="$(_pimg_mod_hash "github.com/prometheus/prometheus@$module_version")"
  local p=github.com/prometheus/common/version
  local ld="-s -w -X $p.Version=$version -X $p.Revision=$hash -X $p.Branch=HEAD -X $p.BuildUser=qingyu-verify -X $p.BuildDate=19700101-00:00:00"
  (cd "$dir" && GOWORK=off go build -ldflags "$ld" -o "$BUILD_OUT/prometheus" ./cmd/prometheus &&
    GOWORK=off go build -ldflags "$ld" -o "$BUILD_OUT/promtool" ./cmd/promtool)
}

# operator + prometheus-config-reloader: the module replaces pkg/apis/monitoring and pkg/client
# with ./ paths, which are modules of their own (not in its zip). A writable copy gets both at
# the same version, then builds as the release does (its own go.sum). Also keeps the bundle's
# RBAC (bundle.yaml without its CRDs) for the node's operator deployment.
_pimg_build_operator() {
  local v="$1" dir tmp sub subdir hash
  dir="$(_pimg_mod_dir "github.com/prometheus-operator/prometheus-operator@$v")"
  [[ -n "$dir" ]] || { _pimg_log "cannot download the prometheus-operator $v"; return 1; }
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now
  trap "chmod -R u+w '$tmp' 2>/dev/null || true; rm -rf '$tmp'; trap - RETURN" RETURN
  cp -R "$dir" "$tmp/src"
  chmod -R u+w "$tmp/src"
  for sub in pkg/apis/monitoring pkg/client; do
    subdir="$(_pimg_mod_dir "github.com/prometheus-operator/prometheus-operator/$sub@$v")"
    [[ -n "$subdir" ]] || { _pimg_log "cannot download prometheus-operator/$sub@$v"; return 1; }
    rm -rf "${tmp:?}/src/$sub"
    mkdir -p "$(dirname "$tmp/src/$sub")"
    cp -R "$subdir" "$tmp/src/$sub"
    chmod -R u+w "$tmp/src/$sub"
  done
  hash="$(_pimg_mod_hash "github.com/prometheus-operator/prometheus-operator@$v")"
  local p=github.com/prometheus/common/version
  local ld="-s -w -X $p.Version=${v#v} -X $p.Revision=$hash -X $p.Branch=HEAD -X $p.BuildUser=qingyu-verify -X $p.BuildDate=19700101-00:00:00"
  (cd "$tmp/src" && GOWORK=off go build -ldflags "$ld" -o "$BUILD_OUT/operator" ./cmd/operator &&
    GOWORK=off go build -ldflags "$ld" -o "$BUILD_OUT/prometheus-config-reloader" ./cmd/prometheus-config-reloader) || return 1
  node -e '
    const Y = require(process.argv[1]);
    const docs = Y.parseAllDocuments(require("fs").readFileSync(process.argv[2], "utf8")).map((d) => d.toJS());
    const keep = docs.filter((o) => o && ["ClusterRole", "ClusterRoleBinding", "ServiceAccount", "Deployment"].includes(o.kind));
    process.stdout.write(keep.map((o) => Y.stringify(o)).join("---\n"));
  ' "$QY_PIMG_REPO/node_modules/yaml" "$tmp/src/bundle.yaml" >"$BUILD_OUT/bundle-rbac.yaml"
}

# Alertmanager (+ amtool): as verify/alerting/build.sh builds it, from a writable copy of the
# module with a placeholder page where the web UI's compiled assets go (ui/app/dist, not in the
# module): the API is whole.
_pimg_build_alertmanager() {
  local v="$1" dir tmp
  dir="$(_pimg_mod_dir "github.com/prometheus/alertmanager@$v")"
  [[ -n "$dir" ]] || { _pimg_log "cannot download github.com/prometheus/alertmanager@$v"; return 1; }
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now
  trap "chmod -R u+w '$tmp' 2>/dev/null || true; rm -rf '$tmp'; trap - RETURN" RETURN
  cp -R "$dir" "$tmp/src" && chmod -R u+w "$tmp/src" && mkdir -p "$tmp/src/ui/app/dist" || return 1
  printf '<!doctype html><title>Alertmanager</title><p>Web UI not built (qingyu verification build).</p>\n' >"$tmp/src/ui/app/dist/index.html"
  local p=github.com/prometheus/common/version
  local ld="-s -w -X $p.Version=${v#v} -X $p.Branch=HEAD -X $p.BuildUser=qingyu-verify"
  (cd "$tmp/src" && GOWORK=off go build -ldflags "$ld" -o "$BUILD_OUT/alertmanager" ./cmd/alertmanager &&
    GOWORK=off go build -ldflags "$ld" -o "$BUILD_OUT/amtool" ./cmd/amtool)
}

# restic: github.com/restic/restic in its module directory (cmd/restic), stamped as build.go does.
_pimg_build_restic() {
  local v="$1" dir
  dir="$(_pimg_mod_dir "github.com/restic/restic@$v")"
  [[ -n "$dir" ]] || { _pimg_log "cannot download github.com/restic/restic@$v"; return 1; }
  (cd "$dir" && GOWORK=off go build -ldflags "-s -w -X main.version=${v#v}" -o "$BUILD_OUT/restic" ./cmd/restic)
}

# kube-state-metrics: k8s.io/kube-state-metrics/v2 at the YAML's tag. `go install` fails (the
# proxy refuses the module's version list, which go install reads for deprecations), so it is
# built in its module directory as the main module (its own go.sum), stamped as the Makefile does.
_pimg_build_ksm() {
  local v="$1" dir hash
  dir="$(_pimg_mod_dir "k8s.io/kube-state-metrics/v2@$v")"
  [[ -n "$dir" ]] || { _pimg_log "cannot download k8s.io/kube-state-metrics/v2@$v"; return 1; }
  hash="$(_pimg_mod_hash "k8s.io/kube-state-metrics/v2@$v")"
  local p=github.com/prometheus/common/version
  (cd "$dir" && GOWORK=off go build -ldflags "-s -w -X $p.Version=$v -X $p.Revision=$hash -X $p.Branch=HEAD -X $p.BuildUser=qingyu-verify" \
    -o "$BUILD_OUT/kube-state-metrics" .)
}

# redis_exporter at VERSION, in its module directory (as kube-state-metrics, same reason).
_pimg_build_redis_exporter() {
  local v="$1" dir hash
  dir="$(_pimg_mod_dir "github.com/oliver006/redis_exporter@$v")"
  [[ -n "$dir" ]] || { _pimg_log "cannot download github.com/oliver006/redis_exporter@$v"; return 1; }
  hash="$(_pimg_mod_hash "github.com/oliver006/redis_exporter@$v")"
  (cd "$dir" && GOWORK=off go build -ldflags "-s -w -X main.BuildVersion=$v -X main.BuildCommitSha=$hash -X main.BuildDate=1970-01-01T00:00:00Z" \
    -o "$BUILD_OUT/redis_exporter" .)
}

# Milvus: the PyPI package milvus==X (embedded Milvus) ships the Milvus X server and its shared
# libraries as xz streams (milvus/data/bin/*.lzma) and its config template: laid out as the
# milvusdb/milvus image lays them out (bin/milvus, lib/, configs/milvus.yaml). The config is the
# template rendered as the image's milvus.yaml: external etcd (etcd.use.embed false) and object
# storage (common.storageType minio), data under /var/lib/milvus, logs to stdout only; the
# manifest's environment overrides the endpoints and credentials.
_pimg_build_milvus() {
  local v="$1" tmp whl
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now
  trap "rm -rf '$tmp'; trap - RETURN" RETURN
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --dest "$tmp" "milvus==$v" || return 1
  whl="$(compgen -G "$tmp/milvus-$v-*.whl" | head -n 1)"
  [[ -n "$whl" ]] || { _pimg_log "no milvus $v wheel"; return 1; }
  sha256sum "$whl" | awk '{ print "wheel_sha256=" $1 }' >"$BUILD_OUT/.qy-wheel"
  python3 - "$whl" "$tmp/x" <<'PY' || return 1
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
  mkdir -p "$BUILD_OUT"/{bin,lib,configs}
  local f b
  for f in "$tmp"/x/milvus/data/bin/*.lzma; do
    b="$(basename "$f" .lzma)"
    if [[ "$b" == milvus ]]; then
      xz -dc "$f" >"$BUILD_OUT/bin/milvus" && chmod 755 "$BUILD_OUT/bin/milvus"
    else
      xz -dc "$f" >"$BUILD_OUT/lib/$b" && chmod 644 "$BUILD_OUT/lib/$b"
    fi || return 1
  done
  python3 - "$tmp/x/milvus/data/config.yaml.template" "$BUILD_OUT/configs/milvus.yaml" <<'PY' || return 1
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
# The template's variables ({{ name(type): default }}), as the image's milvus.yaml has them.
values = {
    "etcd_data_dir": "default.etcd",
    "etcd_log_path": "stdout",
    "local_storage_dir": "/var/lib/milvus/data/",
    "rocksmq_data_dir": "/var/lib/milvus/rdb_data",
    "system_log_path": '""',
}
def sub(m):
    key, _, default = m.group(1).partition(":")
    key = re.sub(r"\(.*\)", "", key).strip()
    if key in values:
        return values[key]
    if default.strip():
        return default.strip()
    raise SystemExit(f"milvus config template: no value for {key}")
text = re.sub(r"\{\{(.*?)\}\}", sub, text)
# The embedded-Milvus settings of the template, back to the server image's.
for pattern, repl in [
    (r"(\n  use:\n    embed: )true", r"\1false"),
    (r"(\n  storageType: )local", r"\1minio"),
]:
    text, n = re.subn(pattern, repl, text)
    if n != 1:
        raise SystemExit(f"milvus config template: {pattern!r} matched {n} times")
open(sys.argv[2], "w", encoding="utf-8").write(text)
PY
  sed -e 's|^--logtostdout=.*|--logtostdout=true|' -e 's|^--log_dir=.*|--log_dir=/var/lib/milvus/logs/|' \
    "$tmp/x/milvus/data/glog.conf" >"$BUILD_OUT/configs/glog.conf"
}

# Debian packages, unpacked (dpkg -x) into BUILD_OUT: PACKAGE...
_pimg_build_debs() {
  local tmp p
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now
  trap "rm -rf '$tmp'; trap - RETURN" RETURN
  (cd "$tmp" && apt-get download -qq "$@" >/dev/null) || return 1
  for p in "$tmp"/*.deb; do
    dpkg -x "$p" "$BUILD_OUT" || return 1
    dpkg-deb -f "$p" Package Version | paste -sd' ' >>"$BUILD_OUT/.qy-debs"
  done
}

# grpcurl at the YAML's tag (fullstorydev/grpcurl:v1.9.4-alpine is module
# github.com/fullstorydev/grpcurl@v1.9.4, cmd/grpcurl), static (CGO_ENABLED=0), stamped as its
# release build does (goreleaser: main.version).
_pimg_build_grpcurl() {
  local v="$1"
  GOBIN="$BUILD_OUT" CGO_ENABLED=0 GOFLAGS="-trimpath" go install -ldflags "-s -w -X main.version=$v" \
    "github.com/fullstorydev/grpcurl/cmd/grpcurl@$v"
}

# The stand-ins of go-backend and python-ai (+ sleep, probe): verify/node/standins/build.sh.
_pimg_build_standins() {
  bash "$QY_PIMG_SRC/standins/build.sh" "$BUILD_OUT" >/dev/null
}

# ---- the plan -------------------------------------------------------------------------------------
# _pimg_repo IMAGE / _pimg_tag IMAGE: repository and tag of an image reference.
_pimg_repo() { local r="${1%@*}"; [[ "${r##*/}" == *:* ]] && r="${r%:*}"; printf '%s\n' "$r"; }
_pimg_tag() { local r="${1%@*}"; [[ "${r##*/}" == *:* ]] && printf '%s\n' "${r##*:}"; }

_pimg_plan_add() { QY_PIMG_PLAN+="$1"$'\t'"$2"$'\t'"$3"$'\t'"$4"$'\t'"$5"$'\n'; }

# The version of the node's own infrastructure images (not in the YAML).
qy_pimg_operator_image() { printf 'quay.io/prometheus-operator/prometheus-operator:%s\n' "$PROMETHEUS_OPERATOR_VERSION"; }
qy_pimg_traefik_image() { printf 'docker.io/library/traefik:%s\n' "$TRAEFIK_VERSION"; }
qy_pimg_reloader_image() { printf 'quay.io/prometheus-operator/prometheus-config-reloader:%s\n' "$PROMETHEUS_OPERATOR_VERSION"; }
QY_PIMG_STANDINS_ID="$(cd "$QY_PIMG_SRC/standins" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum -o -name build.sh \) | sort | xargs cat | sha256sum | cut -c1-12)"
QY_PIMG_MC_ID="$(_pimg_hash "$QY_PIMG_SRC/images/mc/go.mod" "$QY_PIMG_SRC/images/mc/go.sum" "$QY_PIMG_SRC/images/mc/main.go")"
qy_pimg_probe_image() { printf 'qingyu.local/verify/probe:%s-%s\n' "$QY_PIMG_STANDINS_ID" "$QY_NODE_PROBE_ID"; }

# qy_pimg_plan DIST: decide, for every image the YAML uses (and the node's operator), what it
# will be. Absent images carry their reason in "what".
qy_pimg_plan() {
  local dist="$1" image repo tag
  QY_PIMG_PLAN=""
  local images
  images="$(node "$QY_PIMG_SRC/lib/platform.mjs" images "$dist" | cut -f1 | awk '!seen[$0]++')" || return 1
  while IFS= read -r image; do
    [[ -n "$image" ]] || continue
    repo="$(_pimg_repo "$image")"
    tag="$(_pimg_tag "$image")"
    case "$repo" in
      quay.io/coreos/etcd)
        _pimg_plan_add "$image" etcd real "etcd $tag (go.etcd.io/etcd/{server,etcdctl,etcdutl}/v3@$tag)" "$QY_PIMG_CACHE/etcd-image-$tag" ;;
      quay.io/minio/minio)
        local pseudo="" e
        for e in "${QY_PIMG_MINIO_RELEASES[@]}"; do [[ "${e%%=*}" == "$tag" ]] && pseudo="${e#*=}"; done
        if [[ -n "$pseudo" ]]; then
          _pimg_plan_add "$image" minio real "MinIO $tag (github.com/minio/minio@$pseudo)" "$QY_PIMG_CACHE/minio-$tag"
        else
          _pimg_plan_add "$image" none absent "no pseudo-version known for MinIO $tag (the proxy refuses release tags; add it to QY_PIMG_MINIO_RELEASES)" -
        fi ;;
      quay.io/minio/mc)
        _pimg_plan_add "$image" mc stand-in "mc stand-in (verify/node/images/mc: the mc commands of the platform's scripts on minio-go/madmin-go; mc's release pseudo-version is refused)" "$QY_PIMG_CACHE/mc-standin-$QY_PIMG_MC_ID" ;;
      quay.io/prometheus/alertmanager)
        _pimg_plan_add "$image" alertmanager real "Alertmanager ${tag#v} (github.com/prometheus/alertmanager@$tag; a placeholder web UI)" "$QY_PIMG_CACHE/alertmanager-image-$tag" ;;
      ghcr.io/restic/restic | restic/restic | docker.io/restic/restic)
        _pimg_plan_add "$image" restic real "restic ${tag#v} (github.com/restic/restic@v${tag#v}), with dash and the host's coreutils instead of alpine's busybox" "$QY_PIMG_CACHE/restic-v${tag#v}" ;;
      fullstorydev/grpcurl | docker.io/fullstorydev/grpcurl)
        # The -alpine variant is grpcurl on alpine (busybox sh): here grpcurl on Debian's
        # busybox-static (the Job runs busybox sh and its applets; an explicit runAsUser).
        local gv="${tag%%-*}"
        _pimg_plan_add "$image" grpcurl real "grpcurl $gv (github.com/fullstorydev/grpcurl/cmd/grpcurl@$gv), with Debian's busybox-static instead of alpine's busybox" "$QY_PIMG_CACHE/grpcurl-$gv" ;;
      milvusdb/milvus)
        _pimg_plan_add "$image" milvus real "Milvus ${tag#v} server from PyPI milvus==${tag#v} (the embedded package's build of the ${tag#v} code; tini, glibc from the host)" "$QY_PIMG_CACHE/milvus-pypi-${tag#v}" ;;
      redis | docker.io/library/redis)
        local dv
        dv="$(_pimg_deb_version redis-server)"
        if [[ -n "$dv" ]]; then
          _pimg_plan_add "$image" redis stand-in "Debian redis-server ${dv#*:} under the $tag name" "$QY_PIMG_CACHE/debian-redis-$(_pimg_safe "${dv#*:}")"
        else
          _pimg_plan_add "$image" none absent "no Redis: Debian's redis-server is not available (apt-get update?)" -
        fi ;;
      oliver006/redis_exporter)
        if [[ -n "$(_pimg_mod_dir "github.com/oliver006/redis_exporter@$tag")" ]]; then
          _pimg_plan_add "$image" redis_exporter real "redis_exporter $tag (github.com/oliver006/redis_exporter@$tag)" "$QY_PIMG_CACHE/redis_exporter-$tag"
        else
          _pimg_plan_add "$image" redis_exporter stand-in "redis_exporter $REDIS_EXPORTER_FALLBACK_VERSION ($tag: the proxy refuses it)" "$QY_PIMG_CACHE/redis_exporter-$REDIS_EXPORTER_FALLBACK_VERSION"
        fi ;;
      quay.io/prometheus/prometheus)
        local mv=""
        if [[ "$tag" =~ ^v3\.([0-9]+)\.([0-9]+)$ ]]; then
          mv="v0.$((300 + BASH_REMATCH[1])).${BASH_REMATCH[2]}"
        elif [[ "$tag" =~ ^v2\.([0-9]+)\.([0-9]+)$ ]]; then
          mv="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"
        fi
        if [[ -n "$mv" ]]; then
          _pimg_plan_add "$image" prometheus real "Prometheus ${tag#v} (github.com/prometheus/prometheus@$mv; no web UI assets)" "$QY_PIMG_CACHE/prometheus-$tag"
        else
          _pimg_plan_add "$image" none absent "Prometheus tag $tag maps to no Go module version" -
        fi ;;
      registry.k8s.io/kube-state-metrics/kube-state-metrics)
        if [[ -n "$(_pimg_mod_dir "k8s.io/kube-state-metrics/v2@$tag")" ]]; then
          _pimg_plan_add "$image" ksm real "kube-state-metrics $tag (k8s.io/kube-state-metrics/v2@$tag)" "$QY_PIMG_CACHE/kube-state-metrics-$tag"
        else
          _pimg_plan_add "$image" none absent "the proxy refuses k8s.io/kube-state-metrics/v2@$tag" -
        fi ;;
      ghcr.io/qingyu-platform/go-backend | ghcr.io/qingyu-platform/python-ai)
        _pimg_plan_add "$image" "app-${repo##*/}" stand-in "${repo##*/} stand-in (verify/node/standins)" "$QY_PIMG_CACHE/standins-$QY_PIMG_STANDINS_ID" ;;
      mongo | docker.io/library/mongo)
        _pimg_plan_add "$image" none absent "MongoDB: no build or binary is reachable (not in Debian; its npm/PyPI helpers download from a host this machine cannot reach)" - ;;
      percona/mongodb_exporter)
        _pimg_plan_add "$image" none absent "the proxy refuses github.com/percona/mongodb_exporter (every version: 403); and nothing to export without MongoDB" - ;;
      grafana/grafana)
        _pimg_plan_add "$image" none absent "Grafana is AGPL (no Go dependency on it here) and its image cannot be had" - ;;
      *)
        _pimg_plan_add "$image" none absent "no builder for this image in verify/node/lib/platform-images.sh" - ;;
    esac
  done <<<"$images"
  # The node's test infrastructure: the operator for the Prometheus resource, and the probes.
  _pimg_plan_add "$(qy_pimg_operator_image)" operator real "Prometheus Operator ${PROMETHEUS_OPERATOR_VERSION#v} (node infrastructure, namespace qy-prometheus-operator)" "$QY_PIMG_CACHE/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION"
  _pimg_plan_add "$(qy_pimg_reloader_image)" reloader real "prometheus-config-reloader ${PROMETHEUS_OPERATOR_VERSION#v} (injected by the operator)" "$QY_PIMG_CACHE/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION"
  if [[ "${QINGYU_VERIFY_GATEWAY:-}" == 1 ]]; then
    _pimg_plan_add "$(qy_pimg_traefik_image)" traefik real "Traefik ${TRAEFIK_VERSION#v} (Gateway API implementation for check 5b, namespace of the platform's parent Gateway)" "$QY_PIMG_CACHE/traefik-$TRAEFIK_VERSION"
  fi
  _pimg_plan_add "$(qy_pimg_probe_image)" probe test "probe pods: verify/node/standins probe + qy-probe" "$QY_PIMG_CACHE/standins-$QY_PIMG_STANDINS_ID"
}

# qy_pimg_dir HANDLER: the cache dir of the first plan entry with that handler.
qy_pimg_dir() { awk -F'\t' -v h="$1" '$2 == h { print $5; exit }' <<<"$QY_PIMG_PLAN"; }
# qy_pimg_absent: the absent images, "image<TAB>reason" lines.
qy_pimg_absent() { awk -F'\t' '$3 == "absent" { print $1 "\t" $4 }' <<<"$QY_PIMG_PLAN"; }

# _pimg_build_one HANDLER IMAGE DIR: build the binaries behind one plan entry (cached).
_pimg_build_one() {
  local h="$1" image="$2" dir="$3" tag
  tag="$(_pimg_tag "$image")"
  case "$h" in
    etcd) cached_build "$dir" "etcd $tag" etcd etcdctl etcdutl -- _pimg_timed "go.etcd.io/etcd/server/v3@$tag" _pimg_build_etcd "$tag" ;;
    minio)
      local e pseudo=""
      for e in "${QY_PIMG_MINIO_RELEASES[@]}"; do [[ "${e%%=*}" == "$tag" ]] && pseudo="${e#*=}"; done
      cached_build "$dir" "minio $tag" minio -- _pimg_timed "github.com/minio/minio@$pseudo" _pimg_build_minio "$tag" "$pseudo" ;;
    mc) cached_build "$dir" "mc stand-in" mc -- _pimg_timed "verify/node/images/mc" _pimg_build_mc ;;
    milvus) cached_build "$dir" "milvus ${tag#v} (PyPI)" bin/milvus configs/milvus.yaml -- _pimg_timed "PyPI milvus==${tag#v}" _pimg_build_milvus "${tag#v}" ;;
    redis)
      cached_build "$dir" "Debian redis" usr/bin/redis-check-rdb usr/bin/redis-cli -- _pimg_timed "Debian ${QY_PIMG_REDIS_DEBS[*]}" _pimg_build_debs "${QY_PIMG_REDIS_DEBS[@]}" ;;
    redis_exporter)
      local v="${dir##*/redis_exporter-}"
      cached_build "$dir" "redis_exporter $v" redis_exporter -- _pimg_timed "github.com/oliver006/redis_exporter@$v" _pimg_build_redis_exporter "$v" ;;
    prometheus)
      local mv
      mv="$(awk -F'\t' '$2 == "prometheus" { print $4; exit }' <<<"$QY_PIMG_PLAN" | sed -n 's/.*prometheus@\(v[0-9.]*\).*/\1/p')"
      cached_build "$dir" "prometheus ${tag#v}" prometheus promtool -- _pimg_timed "github.com/prometheus/prometheus@$mv" _pimg_build_prometheus "${tag#v}" "$mv" ;;
    alertmanager) cached_build "$dir" "alertmanager $tag" alertmanager amtool -- _pimg_timed "github.com/prometheus/alertmanager@$tag" _pimg_build_alertmanager "$tag" ;;
    restic) cached_build "$dir" "restic ${tag#v}" restic -- _pimg_timed "github.com/restic/restic@v${tag#v}" _pimg_build_restic "v${tag#v}" ;;
    ksm) cached_build "$dir" "kube-state-metrics $tag" kube-state-metrics -- _pimg_timed "k8s.io/kube-state-metrics/v2@$tag" _pimg_build_ksm "$tag" ;;
    operator | reloader)
      cached_build "$dir" "prometheus-operator $PROMETHEUS_OPERATOR_VERSION" operator prometheus-config-reloader bundle-rbac.yaml -- \
        _pimg_timed "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" _pimg_build_operator "$PROMETHEUS_OPERATOR_VERSION" ;;
    app-* | probe) cached_build "$dir" "stand-ins" go-backend python-ai sleep probe -- _pimg_timed "verify/node/standins" _pimg_build_standins ;;
    grpcurl)
      local gv="${tag%%-*}"
      _pimg_build_one busybox - "$(qy_pimg_busybox_dir)" || return 1
      cached_build "$dir" "grpcurl $gv" grpcurl -- _pimg_timed "github.com/fullstorydev/grpcurl/cmd/grpcurl@$gv" _pimg_build_grpcurl "$gv" ;;
    busybox) cached_build "$dir" "Debian busybox-static" bin/busybox -- _pimg_timed "Debian busybox-static" _pimg_build_debs busybox-static ;;
    tini) cached_build "$dir" "Debian tini" usr/bin/tini-static -- _pimg_timed "Debian tini" _pimg_build_debs tini ;;
    dash) cached_build "$dir" "Debian dash" bin/dash -- _pimg_timed "Debian dash" _pimg_build_debs dash ;;
    traefik) cached_build "$dir" "traefik $TRAEFIK_VERSION" traefik -- _pimg_timed "github.com/traefik/traefik/v3@$TRAEFIK_VERSION" _pimg_build_traefik "$TRAEFIK_VERSION" ;;
    pymilvus) cached_build "$dir" "pymilvus $PYMILVUS_VERSION" site/pymilvus -- _pimg_timed "PyPI pymilvus==$PYMILVUS_VERSION" _pimg_build_pymilvus ;;
    none) return 0 ;;
    *) _pimg_log "no builder $h"; return 1 ;;
  esac
}

# Traefik, in its module directory as the main module (its go.mod has replaces): the web UI is
# the module's placeholder (webui/static), the proxy and the Gateway provider are whole.
_pimg_build_traefik() {
  local v="$1" dir
  dir="$(_pimg_mod_dir "github.com/traefik/traefik/v3@$v")"
  [[ -n "$dir" ]] || { _pimg_log "cannot download github.com/traefik/traefik/v3@$v"; return 1; }
  local p=github.com/traefik/traefik/v3/pkg/version
  (cd "$dir" && GOWORK=off go build -ldflags "-s -w -X $p.Version=$v -X $p.Codename=qingyu-verify" -o "$BUILD_OUT/traefik" ./cmd/traefik)
}

# pymilvus and its dependencies, installed into BUILD_OUT/site (run with PYTHONPATH).
_pimg_build_pymilvus() {
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-input \
    --ignore-installed --no-warn-conflicts --target "$BUILD_OUT/site" \
    "pymilvus==$PYMILVUS_VERSION" "${QY_PIMG_PYMILVUS_PINS[@]}"
}

# Helper packages (not images of their own): tini for Milvus, dash for the shells, pymilvus.
qy_pimg_pymilvus_dir() {
  printf '%s/pymilvus-%s-py%s\n' "$QY_PIMG_CACHE" "$PYMILVUS_VERSION" "$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
}
qy_pimg_tini_dir() { printf '%s/debian-tini-%s\n' "$QY_PIMG_CACHE" "$(_pimg_safe "$(_pimg_deb_version tini)")"; }
qy_pimg_busybox_dir() { printf '%s/debian-busybox-static-%s\n' "$QY_PIMG_CACHE" "$(_pimg_safe "$(_pimg_deb_version busybox-static)")"; }
qy_pimg_dash_dir() { printf '%s/debian-dash-%s\n' "$QY_PIMG_CACHE" "$(_pimg_safe "$(_pimg_deb_version dash)")"; }

# _pimg_build_seconds DIR: "<s>s" from DIR/.qy-build.
_pimg_build_seconds() { awk -F= '$1 == "seconds" { print $2 "s" }' "$1/.qy-build" 2>/dev/null; }

# qy_pimg_build: build every plan entry's binaries (one after the other: 2 cores). The build
# column says the first (cold) build's time, and whether it was built now or came from the
# cache; a failed build makes the image absent, with the reason.
qy_pimg_build() {
  local image h kind what dir t0 plan_new=""
  local -A state=()
  _pimg_build_one tini - "$(qy_pimg_tini_dir)" || return 1
  _pimg_build_one dash - "$(qy_pimg_dash_dir)" || return 1
  _pimg_build_one pymilvus - "$(qy_pimg_pymilvus_dir)" || return 1
  while IFS=$'\t' read -r image h kind what dir _; do
    [[ -n "$image" ]] || continue
    if [[ "$dir" != - && -z "${state[$dir]:-}" ]]; then
      t0=$SECONDS
      if [[ -e "$dir/.qy-build" ]]; then state[$dir]=cached; else state[$dir]=new; fi
      if _pimg_build_one "$h" "$image" "$dir"; then
        [[ "${state[$dir]}" == new ]] && state[$dir]="built now, $((SECONDS - t0))s with the downloads"
      else
        _pimg_log "build of $image failed"
        state[$dir]=failed
      fi
    fi
    if [[ "$dir" != - && "${state[$dir]}" == failed ]]; then
      kind=absent
      what="its build failed ($what): see the log"
      dir=-
    fi
    if [[ "$dir" == - ]]; then
      plan_new+="$image"$'\t'"$h"$'\t'"$kind"$'\t'"$what"$'\t-\t-\n'
    else
      plan_new+="$image"$'\t'"$h"$'\t'"$kind"$'\t'"$what"$'\t'"$dir"$'\t'"cold build $(_pimg_build_seconds "$dir") (${state[$dir]})"$'\n'
    fi
  done <<<"$QY_PIMG_PLAN"
  QY_PIMG_PLAN="$plan_new"
}

# ---- images ---------------------------------------------------------------------------------------
# _pimg_add_shell ROOT: /bin/sh (Debian's dash and its libraries).
_pimg_add_shell() {
  local dash
  dash="$(qy_pimg_dash_dir)/bin/dash"
  qy_rootfs_add_dynamic "$1" "$dash" /bin/dash || return 1
  ln -sf dash "$1/bin/sh"
}
# _pimg_add_host_tool ROOT NAME...: host tools (coreutils, sed) with their libraries, at the
# host's paths, and a link in /bin.
_pimg_add_host_tool() {
  local root="$1" t p
  shift
  for t in "$@"; do
    p="$(command -v "$t")" || { _pimg_log "no $t on this machine"; return 1; }
    p="$(readlink -f "$p")"
    qy_rootfs_add_dynamic "$root" "$p" || return 1
    [[ -e "$root/bin/$t" ]] || ln -s "$p" "$root/bin/$t"
  done
}
# _pimg_add_dynamic_with ROOT LIBDIR BINARY DEST: a dynamic binary whose libraries are in LIBDIR
# (unpacked Debian packages) or the host: the libraries go where ldd finds them, the LIBDIR ones
# to the same path inside the image.
_pimg_add_dynamic_with() {
  local root="$1" libroot="$2" src="$3" dest="$4" lib missing
  qy_rootfs_add_static "$root" "$src" "$dest" || return 1
  missing="$(LD_LIBRARY_PATH="$libroot/usr/lib/x86_64-linux-gnu:$libroot/lib/x86_64-linux-gnu" ldd "$src" | grep 'not found' || true)"
  [[ -z "$missing" ]] || { _pimg_log "$src: libraries not found: $missing"; return 1; }
  while IFS= read -r lib; do
    [[ -n "$lib" && -e "$lib" ]] || continue
    if [[ "$lib" == "$libroot"/* ]]; then
      [[ -e "$root${lib#"$libroot"}" ]] || qy_rootfs_add_static "$root" "$lib" "${lib#"$libroot"}"
    else
      [[ -e "$root$lib" ]] || qy_rootfs_add_static "$root" "$lib"
    fi
  done < <(LD_LIBRARY_PATH="$libroot/usr/lib/x86_64-linux-gnu:$libroot/lib/x86_64-linux-gnu" ldd "$src" | awk '
    $2 == "=>" && $3 ~ /^\// { print $3; next }
    $1 ~ /^\// { print $1 }')
}

# _pimg_image HANDLER IMAGE DIR: assemble one image's rootfs and import it as IMAGE.
_pimg_image() {
  local h="$1" image="$2" dir="$3" root config
  root="$(qy_rootfs_new)" || return 1
  case "$h" in
    etcd)
      qy_rootfs_users "$root" 65532:nonroot
      for b in etcd etcdctl etcdutl; do qy_rootfs_add_static "$root" "$dir/$b" "/usr/local/bin/$b" || return 1; done
      mkdir -p "$root/var/lib/etcd"
      config='{"Entrypoint":["/usr/local/bin/etcd"],"ExposedPorts":{"2379/tcp":{},"2380/tcp":{}}}' ;;
    minio)
      qy_rootfs_users "$root" 1000:minio
      qy_rootfs_add_static "$root" "$dir/minio" /usr/bin/minio || return 1
      mkdir -p "$root/data"
      config='{"Entrypoint":["/usr/bin/minio"],"Cmd":["server","/data"],"ExposedPorts":{"9000/tcp":{}}}' ;;
    mc)
      qy_rootfs_add_static "$root" "$dir/mc" /usr/bin/mc || return 1
      _pimg_add_shell "$root" || return 1
      qy_rootfs_add_static "$root" "$(qy_pimg_dir app-go-backend)/sleep" /bin/sleep || return 1
      # The coreutils the scripts use; the real image (ubi-minimal) has them, and no find
      # (minio/mc#4469), so neither has this one.
      _pimg_add_host_tool "$root" cat mkdir wc || return 1
      config='{"Entrypoint":["mc"]}' ;;
    grpcurl)
      # As the upstream image: /bin/grpcurl, the entrypoint. Busybox (static) with a link per
      # applet the Job's script uses, in /bin.
      qy_rootfs_add_static "$root" "$dir/grpcurl" /bin/grpcurl || return 1
      qy_rootfs_add_static "$root" "$(qy_pimg_busybox_dir)/bin/busybox" /bin/busybox || return 1
      local applet
      for applet in "${QY_PIMG_GRPCURL_APPLETS[@]}"; do
        [[ -e "$root/bin/$applet" ]] || ln -s busybox "$root/bin/$applet"
      done
      config='{"Entrypoint":["/bin/grpcurl"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}' ;;
    alertmanager)
      qy_rootfs_add_static "$root" "$dir/alertmanager" /bin/alertmanager || return 1
      qy_rootfs_add_static "$root" "$dir/amtool" /bin/amtool || return 1
      mkdir -p "$root/etc/alertmanager" "$root/alertmanager"
      chmod 777 "$root/alertmanager"
      printf 'route:\n  receiver: default\nreceivers:\n- name: default\n' >"$root/etc/alertmanager/alertmanager.yml"
      config='{"Entrypoint":["/bin/alertmanager"],"Cmd":["--config.file=/etc/alertmanager/alertmanager.yml","--storage.path=/alertmanager"],"User":"nobody","WorkingDir":"/alertmanager","ExposedPorts":{"9093/tcp":{}}}' ;;
    restic)
      qy_rootfs_add_static "$root" "$dir/restic" /usr/bin/restic || return 1
      _pimg_add_shell "$root" || return 1
      # restic-env.sh (cat), restore-aside.sh (date, mv), the restore Job's fetch step (mkdir, ls).
      _pimg_add_host_tool "$root" cat date mv mkdir ls || return 1
      config='{"Entrypoint":["/usr/bin/restic"]}' ;;
    milvus)
      qy_rootfs_users "$root" 10001:milvus
      qy_rootfs_add_static "$root" "$(qy_pimg_tini_dir)/usr/bin/tini-static" /tini || return 1
      mkdir -p "$root/milvus" "$root/var/lib/milvus"
      cp -a "$dir/bin" "$dir/lib" "$dir/configs" "$root/milvus/" || return 1
      local lib
      # glibc (and what else the binary needs that the wheel does not ship) from the host.
      while IFS= read -r lib; do
        [[ -n "$lib" && "$lib" != "$dir"/* && ! -e "$root$lib" ]] && { qy_rootfs_add_static "$root" "$lib" || return 1; }
      done < <(LD_LIBRARY_PATH="$dir/lib" ldd "$dir/bin/milvus" | awk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }')
      if grep -q 'not found' <<<"$(LD_LIBRARY_PATH="$dir/lib" ldd "$dir/bin/milvus")"; then _pimg_log "milvus: libraries not found"; return 1; fi
      config='{"Entrypoint":["/tini","--"],"Cmd":["milvus","run","standalone"],"WorkingDir":"/milvus","Env":["PATH=/milvus/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","LD_LIBRARY_PATH=/milvus/lib:/usr/lib"],"ExposedPorts":{"19530/tcp":{},"9091/tcp":{}}}' ;;
    redis)
      qy_rootfs_users "$root" 999:redis
      # Debian's redis-server is redis-check-rdb under another name (the binary reads argv[0]).
      _pimg_add_dynamic_with "$root" "$dir" "$dir/usr/bin/redis-check-rdb" /usr/local/bin/redis-server || return 1
      _pimg_add_dynamic_with "$root" "$dir" "$dir/usr/bin/redis-cli" /usr/local/bin/redis-cli || return 1
      ln -s redis-server "$root/usr/local/bin/redis-check-aof"
      _pimg_add_shell "$root" || return 1
      # start-redis.sh (tr, sha256sum, cut), the probes (timeout, cat), backup-dump.sh (wc) and
      # restore-dump.sh (date, mv, mkdir, cp, rm): coreutils from the host.
      _pimg_add_host_tool "$root" timeout sed cat tr sha256sum cut wc date mv mkdir cp rm || return 1
      mkdir -p "$root/data"
      config='{"Entrypoint":["/usr/local/bin/redis-server"],"WorkingDir":"/data","ExposedPorts":{"6379/tcp":{}}}' ;;
    redis_exporter)
      qy_rootfs_add_static "$root" "$dir/redis_exporter" /redis_exporter || return 1
      config='{"Entrypoint":["/redis_exporter"],"User":"59000:59000","ExposedPorts":{"9121/tcp":{}}}' ;;
    prometheus)
      qy_rootfs_add_static "$root" "$dir/prometheus" /bin/prometheus || return 1
      qy_rootfs_add_static "$root" "$dir/promtool" /bin/promtool || return 1
      mkdir -p "$root/etc/prometheus" "$root/prometheus"
      chmod 777 "$root/prometheus"
      printf 'global:\n  scrape_interval: 15s\n' >"$root/etc/prometheus/prometheus.yml"
      config='{"Entrypoint":["/bin/prometheus"],"Cmd":["--config.file=/etc/prometheus/prometheus.yml","--storage.tsdb.path=/prometheus"],"User":"nobody","WorkingDir":"/prometheus","ExposedPorts":{"9090/tcp":{}}}' ;;
    ksm)
      qy_rootfs_add_static "$root" "$dir/kube-state-metrics" /kube-state-metrics || return 1
      config='{"Entrypoint":["/kube-state-metrics","--port=8080","--telemetry-port=8081"],"User":"65534","ExposedPorts":{"8080/tcp":{},"8081/tcp":{}}}' ;;
    operator)
      qy_rootfs_add_static "$root" "$dir/operator" /bin/operator || return 1
      config='{"Entrypoint":["/bin/operator"],"User":"65534"}' ;;
    reloader)
      qy_rootfs_add_static "$root" "$dir/prometheus-config-reloader" /bin/prometheus-config-reloader || return 1
      config='{"Entrypoint":["/bin/prometheus-config-reloader"],"User":"nobody"}' ;;
    app-go-backend | app-python-ai)
      local app="${h#app-}"
      qy_rootfs_users "$root" 10001:app
      qy_rootfs_add_static "$root" "$dir/$app" "/usr/local/bin/$app" || return 1
      qy_rootfs_add_static "$root" "$dir/sleep" /bin/sleep || return 1
      config="{\"Entrypoint\":[\"/usr/local/bin/$app\"],\"Env\":[\"PATH=/usr/local/bin:/bin\"],\"User\":\"10001:10001\"}" ;;
    traefik)
      qy_rootfs_users "$root" 65532:traefik
      qy_rootfs_add_static "$root" "$dir/traefik" /usr/local/bin/traefik || return 1
      config='{"Entrypoint":["/usr/local/bin/traefik"],"User":"65532:65532","ExposedPorts":{"8000/tcp":{},"8080/tcp":{}}}' ;;
    probe)
      qy_rootfs_users "$root" 10001:app
      qy_rootfs_add_static "$root" "$dir/probe" /probe || return 1
      qy_rootfs_add_static "$root" "$QY_NODE_BIN_PROBE/qy-probe" /qy-probe || return 1
      config='{"Entrypoint":["/qy-probe"],"Cmd":["sleep"],"User":"10001:10001"}' ;;
    *) rm -rf "$root"; _pimg_log "no image assembly for $h"; return 1 ;;
  esac
  qy_image_build "$image" "$root" "$config" >/dev/null || { rm -rf "$root"; return 1; }
  rm -rf "$root"
}

# qy_pimg_import: every image that is not absent, into the node's containerd; the import time
# is appended to the plan's build column.
qy_pimg_import() {
  local image h kind what dir build t plan_new=""
  while IFS=$'\t' read -r image h kind what dir build; do
    [[ -n "$image" ]] || continue
    if [[ "$kind" != absent ]]; then
      t="$(_qy_node_now)"
      if _pimg_image "$h" "$image" "$dir"; then
        build+="; image $(_qy_node_since "$t")s"
      else
        kind=absent
        what="its image could not be assembled ($what)"
      fi
    fi
    plan_new+="$image"$'\t'"$h"$'\t'"$kind"$'\t'"$what"$'\t'"$dir"$'\t'"$build"$'\n'
  done <<<"$QY_PIMG_PLAN"
  QY_PIMG_PLAN="$plan_new"
}

# qy_pimg_table: the plan as a table, and the counts.
qy_pimg_table() {
  local n_real n_stand n_absent
  printf '%-66s %-9s %s | %s\n' image kind what build
  awk -F'\t' 'NF > 1 && $2 != "probe" { printf "%-66s %-9s %s | %s\n", $1, $3, $4, ($6 == "" ? "-" : $6) }' <<<"$QY_PIMG_PLAN"
  n_real="$(awk -F'\t' '$3 == "real"' <<<"$QY_PIMG_PLAN" | grep -c . || true)"
  n_stand="$(awk -F'\t' '$3 == "stand-in"' <<<"$QY_PIMG_PLAN" | grep -c . || true)"
  n_absent="$(awk -F'\t' '$3 == "absent"' <<<"$QY_PIMG_PLAN" | grep -c . || true)"
  printf 'images: %s real, %s stand-in, %s absent\n' "$n_real" "$n_stand" "$n_absent"
}
