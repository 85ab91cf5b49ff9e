# shellcheck shell=bash disable=SC2034 # globals here are read by the scripts that source this file
# Shared by the scripts of verify/ (sourced, not run). The operations scripts' library comes
# first: one qy_log/qy_die (prefixed with the script's QY_LOG_NAME), one facts reader (qy_facts),
# one field manager, so the proofs read the output and apply it the way a deploy does.

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"
QY_VERIFY_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
QY_VERIFY_CACHE="${QINGYU_CACHE:-$HOME/.cache/qingyu}"
QY_VERIFY_SHARED="${QINGYU_SHARED:-$QY_VERIFY_REPO/../shared}"
# The environments to prove, in order; QINGYU_VERIFY_ENVS narrows it (e.g. "staging").
read -r -a QY_VERIFY_ENVS <<<"${QINGYU_VERIFY_ENVS:-production staging development}"

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

# qy_verify_facts DIR FILE: the facts of the YAML in DIR (scripts/lib/manifests.mjs) into FILE,
# which becomes QY_FACTS, the file qy_facts reads.
qy_verify_facts() {
  qy_manifests facts "$1" >"$2" || qy_die "cannot read the objects of $1"
  QY_FACTS="$2"
}

# qy_free_port: an unused TCP port on 127.0.0.1.
qy_free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# qy_prompt_placeholders ENV URL_BASE VALUE_PREFIX: for every `prompt` key of ENV's secret
# catalogue (scripts/secrets-catalog.mjs) whose variable (qy_prompt_variable) the caller has not
# set, exports a placeholder, as automation would give it to scripts/create-secrets.sh:
# URL_BASE/<secret>/<key> for a *-url key, VALUE_PREFIX<key>-<random hex> otherwise. Read from
# the catalogue, so a new receiver or credential needs no change in the callers.
qy_prompt_placeholders() {
  local env="$1" url_base="$2" prefix="$3" secret key variable
  while IFS=$'\t' read -r _ secret key _; do
    variable=$(qy_prompt_variable "$secret" "$key")
    [[ -z "${!variable:-}" ]] || continue
    case $key in
      *-url) export "$variable=$url_base/$secret/$key" ;;
      *) export "$variable=$prefix$key-$(openssl rand -hex 12)" ;;
    esac
  done < <(node "$QY_VERIFY_REPO/scripts/secrets-catalog.mjs" --env "$env" --format tsv | awk -F'\t' '$1 == "key" && $4 == "prompt"')
}
