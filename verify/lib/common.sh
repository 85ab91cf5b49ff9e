# shellcheck shell=bash
# Shared by the scripts of verify/ (sourced, not run).

# shellcheck disable=SC2034 # these are read by the scripts that source this file
QY_VERIFY_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
QY_VERIFY_CACHE="${QINGYU_CACHE:-$HOME/.cache/qingyu}"
QY_VERIFY_SHARED="${QINGYU_SHARED:-$QY_VERIFY_REPO/../shared}"
# The environments to prove, in order; QINGYU_VERIFY_ENVS narrows it (e.g. "staging").
read -r -a QY_VERIFY_ENVS <<<"${QINGYU_VERIFY_ENVS:-production staging development}"

qy_log() { printf '%s: %s\n' "${QY_VERIFY_NAME:-verify}" "$*" >&2; }
qy_die() {
  qy_log "error: $*"
  exit 1
}

# qy_synth ENV OUTDIR: synthesize one environment into OUTDIR (which must not exist).
# QINGYU_VERIFY_DIST=DIR skips the synth and copies DIR/ENV (or DIR itself when it has no
# per-environment subdirectory): for checking YAML that was synthesized elsewhere.
qy_synth() {
  local env="$1" out="$2"
  if [[ -n "${QINGYU_VERIFY_DIST:-}" ]]; then
    local src="$QINGYU_VERIFY_DIST"
    [[ -d "$src/$env" ]] && src="$src/$env"
    mkdir -p "$out"
    cp "$src"/*.yaml "$out"/
    return
  fi
  local log="$out.synth.log"
  mkdir -p "$(dirname "$out")"
  if ! (cd "$QY_VERIFY_REPO" && QINGYU_ENV="$env" npm run --silent synth -- --output "$out") >"$log" 2>&1; then
    sed 's/^/    /' "$log" >&2
    qy_die "synth of $env failed (its output is above)"
  fi
  compgen -G "$out/*.yaml" >/dev/null || qy_die "synth of $env produced no YAML in $out"
}

# qy_objects DIR: file, apiVersion, kind, namespace, name, enforce and warn labels (tab-separated);
# qy_objects --documents KIND DIR: the documents of one kind (see lib/objects.mjs).
qy_objects() { node "$QY_VERIFY_REPO/verify/lib/objects.mjs" "$@"; }

# qy_free_port: an unused TCP port on 127.0.0.1.
qy_free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
