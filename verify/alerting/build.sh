#!/usr/bin/env bash
# Build promtool, amtool + alertmanager and amconfig from the Go module proxy into the cache
# outside the repository: only the first run on a machine pays for a build.
#
#   bash verify/alerting/build.sh           # build what is missing, print the bin dirs
#   QINGYU_CACHE=/some/dir bash verify/...  # cache elsewhere (default ~/.cache/qingyu)
#
# Prints three lines: the directory holding promtool, the one holding amtool + alertmanager,
# and the one holding amconfig (the Prometheus Operator's rendering of a dist/, ./amconfig).
# Nothing is committed but this script and amconfig's sources: promtool and alertmanager are
# the modules as the proxy serves them (`go mod download`), built as the main module (their own
# go.mod/go.sum, so the dependency versions are the release's); amconfig is built on its own
# go.mod/go.sum. The binaries live only in the cache.
set -euo pipefail

# ---------------------------------------------------------------------------------------------
# Versions: the only place they are set.
# - Prometheus 3.13.5 (the 3.13 line; the Prometheus 3.x Go module is numbered v0.3MM.P): the
#   newest v0.313.x that the Go module proxy serves (`go list -m -versions
#   github.com/prometheus/prometheus`: ... v0.313.4 v0.313.5 v0.314.0 ... v0.316.0), whose
#   CHANGELOG.md in the module reads "## 3.13.5 / 2026-10-21" (VERSION: 3.13.5).
# - Alertmanager v0.34.2: the proxy serves it (`go list -m -versions
#   github.com/prometheus/alertmanager`: ... v0.33.1 v0.34.0 v0.34.1 v0.34.2 v0.35.0); its
#   CHANGELOG.md in the module: "## 0.34.2 / 2026-10-29", two [SECURITY] changes: "api:
#   Alertmanager no longer sends CORS headers by default" (#5664; the runner's API calls are not
#   cross-origin) and "Build with Go 1.26.10, which distrusts the eight compromised eMudhra
#   intermediate CA certificates" (a property of the release build: this one uses the machine's
#   Go). 0.34.1 fixed inhibitions that un-muted alerts (#5542, #5449, #5559). Newer than the
#   operator's default (v0.33.1, pkg/operator/defaults.go), which v0.93 has not tested with
#   0.34; v0.35.0 brings breaking [CHANGE]s. The platform's image pin (config/images.ts) is the
#   same version, and amconfig renders for it by default.
# - Prometheus Operator v0.93.0: the line of the CRDs in ../shared/crds. amconfig links its
#   pkg/alertmanager; amconfig/go.mod must require the same version (checked below).
# renovate: datasource=go depName=github.com/prometheus/prometheus
PROMETHEUS_MODULE_VERSION=v0.313.5
# renovate: datasource=go depName=github.com/prometheus/alertmanager
ALERTMANAGER_VERSION=v0.34.2
# renovate: datasource=go depName=github.com/prometheus-operator/prometheus-operator
PROMETHEUS_OPERATOR_VERSION=v0.93.0
# ---------------------------------------------------------------------------------------------

# Prometheus 3.M.P is module v0.3MM.P (v0.313.5 -> 3.13.5).
if [[ $PROMETHEUS_MODULE_VERSION =~ ^v0\.3([0-9]{2})\.([0-9]+)$ ]]; then
  PROMETHEUS_VERSION="3.$((10#${BASH_REMATCH[1]})).${BASH_REMATCH[2]}"
else
  echo "build-alerting: PROMETHEUS_MODULE_VERSION $PROMETHEUS_MODULE_VERSION is not v0.3MM.P (Prometheus 3.MM.P)" >&2
  exit 1
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
QY_BUILD_NAME=build-alerting
# shellcheck source=verify/lib/build.sh
source "$here/../lib/build.sh"

promtool_bin="$QY_BUILD_CACHE/bin/promtool-v$PROMETHEUS_VERSION"
alertmanager_bin="$QY_BUILD_CACHE/bin/alertmanager-$ALERTMANAGER_VERSION"
# amconfig is built from this repository: keyed by its sources (and what is linked into it),
# so an edit is a new directory, never a stale binary.
amconfig_src="$here/amconfig"
amconfig_key="$(cd "$amconfig_src" && { printf '%s\n' "$ALERTMANAGER_VERSION"; cat go.mod go.sum ./*.go; } | sha256sum)"
amconfig_bin="$QY_BUILD_CACHE/bin/amconfig-$PROMETHEUS_OPERATOR_VERSION-${amconfig_key:0:12}"

command -v go >/dev/null || { qy_build_log "go is not installed"; exit 1; }
# The prometheus module ships a go.work naming directories its zip leaves out: build each module
# on its own go.mod.
export GOWORK=off
# Modules come from the proxy only, never straight from their VCS hosts.
GOPROXY="$(go env GOPROXY)"
export GOPROXY="${GOPROXY//[,|]direct/}"

operator_in_gomod="$(sed -n 's|^[[:space:]]*github.com/prometheus-operator/prometheus-operator \(v[^ ]*\).*|\1|p' "$amconfig_src/go.mod")"
if [[ "$operator_in_gomod" != "$PROMETHEUS_OPERATOR_VERSION" ]]; then
  qy_build_log "amconfig/go.mod requires prometheus-operator ${operator_in_gomod:-(none)}, PROMETHEUS_OPERATOR_VERSION is $PROMETHEUS_OPERATOR_VERSION: bump both"
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/qy-alerting-build.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# module_dir MODULE VERSION: download MODULE@VERSION from the proxy (module cache) and print its
# directory. Run outside any module, so no go.mod is read or written.
module_dir() {
  local json dir
  json="$(cd "$work" && go mod download -json "$1@$2")"
  dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")"
  [[ -n "$dir" && -f "$dir/go.mod" ]] || { qy_build_log "no module directory for $1@$2: $json"; return 1; }
  printf '%s\n' "$dir"
}

# Same version stamp as the release build (promu), so `--version` tells what was built.
version_ldflags() {
  printf '%s' "-s -w -X github.com/prometheus/common/version.Version=$1 -X github.com/prometheus/common/version.BuildUser=qingyu-verify"
}

# timed LABEL COMMAND...: run COMMAND, log its wall time.
timed() {
  local label="$1" start=$SECONDS
  shift
  "$@"
  qy_build_log "$label: $((SECONDS - start))s"
}

# promtool: `go install ...@v0.313.5` is refused ("The go.mod file for the module providing named
# packages contains one or more replace directives"), so build it with the prometheus module as
# the main module, in place (the build writes nothing into the module cache directory).
go_build_promtool() {
  local dir
  dir="$(module_dir github.com/prometheus/prometheus "$PROMETHEUS_MODULE_VERSION")"
  (cd "$dir" && timed "go build promtool" \
    go build -ldflags "$(version_ldflags "$PROMETHEUS_VERSION")" -o "$BUILD_OUT/promtool" ./cmd/promtool)
}

# amtool + alertmanager: ui/web.go has `//go:embed app/dist`, the compiled web UI, which is not in
# the module (it is built by npm at release time), so the embed fails ("pattern app/dist: no
# matching files found"). Build from a writable copy of the module with a stub page in
# ui/app/dist: the API, which is all the checks use, is unaffected; the web UI shows the stub.
go_build_alertmanager() {
  local dir src="$work/alertmanager"
  dir="$(module_dir github.com/prometheus/alertmanager "$ALERTMANAGER_VERSION")"
  cp -R "$dir" "$src"
  chmod -R u+w "$src"
  mkdir -p "$src/ui/app/dist"
  printf '<!doctype html><title>Alertmanager</title><p>Web UI not built (qingyu verification build).</p>\n' \
    >"$src/ui/app/dist/index.html"
  local ldflags
  ldflags="$(version_ldflags "${ALERTMANAGER_VERSION#v}")"
  (cd "$src" && timed "go build amtool" go build -ldflags "$ldflags" -o "$BUILD_OUT/amtool" ./cmd/amtool)
  (cd "$src" && timed "go build alertmanager" \
    go build -ldflags "$ldflags" -o "$BUILD_OUT/alertmanager" ./cmd/alertmanager)
}

# amconfig: its own module (go.mod/go.sum, -mod=readonly), which links the operator's
# pkg/alertmanager; its --alertmanager-version default is ALERTMANAGER_VERSION, so the rendering
# is for the Alertmanager the checks run.
go_build_amconfig() {
  (cd "$amconfig_src" && timed "go build amconfig" go build \
    -ldflags "-s -w -X main.defaultAlertmanagerVersion=${ALERTMANAGER_VERSION#v}" -o "$BUILD_OUT/amconfig" .)
}

# Sequential on purpose (2 cores). Cold (empty module and build caches) on 2 cores: promtool
# ~7 min, amtool + alertmanager ~1.5 min, amconfig ~2 min; see verify/alerting/README.md.
cached_build "$promtool_bin" "promtool $PROMETHEUS_VERSION" promtool -- go_build_promtool
cached_build "$alertmanager_bin" "amtool alertmanager $ALERTMANAGER_VERSION" amtool alertmanager -- \
  go_build_alertmanager
cached_build "$amconfig_bin" "amconfig (prometheus-operator $PROMETHEUS_OPERATOR_VERSION)" amconfig -- go_build_amconfig

# For callers: the directories holding the binaries, one per line.
printf '%s\n' "$promtool_bin" "$alertmanager_bin" "$amconfig_bin"
