# shellcheck shell=bash
# Cached builds of the verification binaries (sourced, not run). Every binary lives in
# ${QINGYU_CACHE:-~/.cache/qingyu}/bin/<name>-<version>/, so only the first run on a machine pays
# for a build, and a version change is a new directory, never an overwrite.

QY_BUILD_CACHE="${QINGYU_CACHE:-$HOME/.cache/qingyu}"
mkdir -p "$QY_BUILD_CACHE/bin"

export GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath -mod=readonly"
export CGO_ENABLED="${CGO_ENABLED:-0}"
# Never switch toolchains behind our back.
export GOTOOLCHAIN=local

qy_build_log() { printf '%s: %s\n' "${QY_BUILD_NAME:-build}" "$*" >&2; }

# cached_build OUT LABEL BIN... -- COMMAND...: unless every BIN is already in OUT, run COMMAND
# with BUILD_OUT set to a fresh directory and, when it succeeds, move that directory to OUT (a
# failed or interrupted build never leaves a half-filled OUT behind).
cached_build() {
  local out="$1" label="$2" missing=false
  shift 2
  while [[ $1 != -- ]]; do
    [[ -e "$out/$1" ]] || missing=true
    shift
  done
  shift
  if ! $missing; then
    qy_build_log "cached: $out"
    return
  fi
  local tmp start=$SECONDS
  tmp="$(mktemp -d "$QY_BUILD_CACHE/bin/.build-XXXXXX")"
  qy_build_log "building $label (first time only)"
  BUILD_OUT="$tmp" "$@" || {
    rm -rf "$tmp"
    return 1
  }
  chmod 755 "$tmp"
  rm -rf "$out"
  mv "$tmp" "$out"
  qy_build_log "$label built in $((SECONDS - start))s"
}
