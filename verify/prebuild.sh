#!/usr/bin/env bash
# Build every binary and image the verification steps use into the cache
# (${QINGYU_CACHE:-~/.cache/qingyu}), in two lanes at once, and nothing else:
#
#   bash verify/prebuild.sh
#
# On a machine with nothing cached the builds take about an hour one after the other on 2 cores
# (measured 2026-12-02: Trivy 723 s, promtool 602 s, the node's images 893 s, the API server
# 438 s ...), which with the runs themselves exceeded CI's 90 minutes. Much of a Go build is not
# parallel (module downloads, linking, pip), so two builds at once fill the cores better: .ci/run
# starts this in the background after npm ci and waits for it before the first step that needs
# a binary. Each lane is the steps' own build code (verify/lib/build.sh's cached_build: a
# version's directory appears whole or not at all), so a step finds its binaries ready, or,
# where a lane failed, builds them itself and fails there with the tool's own message.
#   lane 1: the validators (validators.sh --build-only), then promtool, Alertmanager, amconfig
#   lane 2: the control plane and the node (node/build.sh: apt packages, kube-apiserver,
#           controllers, KWOK, kubelet, CoreDNS, the policy agent), then the platform's images
# Each lane's log is lane<N>.log in QINGYU_PREBUILD_LOGS (default: a new temporary directory);
# exits non-zero when a lane failed, after both have ended.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
logs="${QINGYU_PREBUILD_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/qingyu-prebuild.XXXXXX")}"
mkdir -p "$logs"

# build SCRIPT ARGS...: one of the steps' own build scripts (its stdout, the paths it prints, is
# not needed here); the first failure ends the lane.
build() {
  echo "== $*"
  bash "$here/$1" "${@:2}" >/dev/null || { echo "prebuild: $* failed"; return 1; }
}
lane1() { build validators.sh --build-only && build alerting/build.sh; }
lane2() { build node/build.sh && build node/images.sh; }

lane() { # N: run laneN into its log, then say how it ended
  local began=$SECONDS rc=0 verdict="done"
  case "$1" in
    1) lane1 ;;
    2) lane2 ;;
  esac >"$logs/lane$1.log" 2>&1 || { rc=1; verdict=FAILED; }
  printf 'prebuild: lane %s %s in %ds (log %s)\n' "$1" "$verdict" $((SECONDS - began)) "$logs/lane$1.log"
  return "$rc"
}

start=$SECONDS
lane 1 &
one=$!
lane 2 &
two=$!
rc=0
wait "$one" || rc=1
wait "$two" || rc=1
printf 'prebuild: %ds in all\n' $((SECONDS - start))
exit "$rc"
