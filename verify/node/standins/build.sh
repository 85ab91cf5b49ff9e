#!/usr/bin/env bash
# Builds the stand-ins (go-backend, python-ai), the static `sleep` for their preStop hook and
# the probe client into OUT: static (CGO_ENABLED=0), stripped, reproducible (-trimpath), from
# the versions pinned in go.mod/go.sum only.
#
#   bash verify/node/standins/build.sh OUT        (or BUILD_OUT=OUT bash .../build.sh)
#
# GOOS/GOARCH pass through (e.g. GOARCH=arm64 for an arm64 node). Prints one line per binary
# and the build time.
set -euo pipefail

out="${1:-${BUILD_OUT:-}}"
if [[ -z "$out" ]]; then
  echo "usage: $0 OUT_DIR (or BUILD_OUT=OUT_DIR)" >&2
  exit 64
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

export CGO_ENABLED=0
export GOTOOLCHAIN=local
export GOFLAGS=-mod=readonly

start=$SECONDS
cd "$here"
for cmd in go-backend python-ai sleep probe; do
  go build -trimpath -ldflags "-s -w" -o "$out/$cmd" "./cmd/$cmd"
  printf 'standins: built %s (%s bytes)\n' "$out/$cmd" "$(wc -c <"$out/$cmd" | tr -d ' ')"
done
printf 'standins: %s/%s binaries in %s, %ss\n' "$(go env GOOS)" "$(go env GOARCH)" "$out" "$((SECONDS - start))"
