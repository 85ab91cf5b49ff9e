#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Creates the Secrets an environment's manifests reference, as lib/secrets.ts catalogues them:
# strong random values where the value is ours to choose, the OpenAI key asked for (or read
# from an environment variable), fixed user names as catalogued.
#
# It never prints a value and never changes an existing value unless asked (--overwrite NAME):
# a Secret that exists keeps its values; keys it lacks are added. Values travel through files in
# a private directory (umask 077) that is shredded on exit, never through arguments.
# On a new environment it first creates the namespace, as the manifests define it: Secrets cannot
# exist outside one, and the deploy's preflight wants the Secrets before it applies anything.
# Runbook: docs/operations.md.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/create-secrets.sh --env ENV [--overwrite NAME...] [options]

  --env ENV            production, staging or development
  --overwrite NAME...  replace these Secrets with new values (rotation; read docs/operations.md:
                       a data store keeps its old password until it is changed there too)
  --context CTX        kubectl context (default: the current one)
  --force-context      allow a context whose name does not match the environment
  --release-dir DIR    read the references from a rendered release (DIR/dist) instead of synthesizing
  --yes                do not ask before overwriting
  -h, --help           this help

Keys of source `prompt` are read from QINGYU_SECRET_<SECRET>_<KEY> (upper case, '-' -> '_'),
e.g. QINGYU_SECRET_PYTHON_AI_SECRETS_OPENAI_API_KEY, or asked for without echo on a terminal.
EOF
}

source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/preflight.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/release.sh"

QY_ENV=''
QY_CONTEXT=''
QY_FORCE_CONTEXT=false
RELEASE_DIR=''
QY_YES=false
OVERWRITE=()

while (($# > 0)); do
  case $1 in
    --overwrite)
      shift
      while (($# > 0)) && [[ $1 != --* ]]; do
        OVERWRITE+=("$1")
        shift
      done
      ((${#OVERWRITE[@]} > 0)) || qy_die '--overwrite needs at least one Secret name' 2
      continue
      ;;
    --release-dir) qy_need_value "$@" && RELEASE_DIR=$2 && shift ;;
    *)
      qy_common_option "$@"
      shift $((QY_SHIFT - 1))
      ;;
  esac
  shift
done

[[ -n $QY_ENV ]] || qy_die '--env is required (production, staging or development)' 2
qy_check_env "$QY_ENV"
qy_require_command kubectl node openssl base64
qy_make_workdir
# Values live in memory (tmpfs /dev/shm) where there is one, so they never reach a disk.
if [[ -d /dev/shm && -w /dev/shm ]]; then
  SECRET_FILES=$(umask 077 && mktemp -d /dev/shm/qingyu-secrets.XXXXXX)
else
  SECRET_FILES="$QY_WORK/values"
  (umask 077 && mkdir -p "$SECRET_FILES")
fi
cleanup() {
  if [[ -d $SECRET_FILES ]]; then
    find "$SECRET_FILES" -type f -exec shred -u {} + 2>/dev/null || true
    rm -rf "$SECRET_FILES"
  fi
  rm -rf "$QY_WORK"
}
trap cleanup EXIT

if [[ -z $QY_CONTEXT ]]; then
  QY_CONTEXT=$(kubectl config current-context 2>/dev/null || true)
fi
export QY_CONTEXT QY_ENV

# ---- which Secrets ---------------------------------------------------------------------
qy_step "Find the Secrets the ${QY_ENV} manifests reference"
if [[ -n $RELEASE_DIR ]]; then
  [[ -d $RELEASE_DIR/dist ]] || qy_die "${RELEASE_DIR} has no dist/" 2
  DIST=$RELEASE_DIR/dist
else
  DIST="$QY_WORK/dist"
  QINGYU_ENV=$QY_ENV node "$QY_ROOT/scripts/synth.mjs" --output "$DIST" 2>&1 | qy_progress
  ((PIPESTATUS[0] == 0)) || qy_die 'synthesis failed' 3
fi
QY_FACTS="$QY_WORK/facts"
qy_manifests facts "$DIST" >"$QY_FACTS"
QY_NAMESPACE=$(qy_facts namespace name)
[[ -n $QY_NAMESPACE && $(grep -c . <<<"$QY_NAMESPACE") -eq 1 ]] || qy_die "the manifests must target exactly one namespace, found: ${QY_NAMESPACE:-none}" 3
CATALOGUE=$(qy_secret_catalogue)
# Read whole before matching: `qy_facts ... | grep -q` fails at random under pipefail, since grep
# exits at the first match and qy_facts (printf, a write per line) then dies of SIGPIPE.
SECRET_NAMES=$(qy_facts secret name)
qy_step_done "$(grep -c . <<<"$SECRET_NAMES" || true) Secret(s) in namespace ${QY_NAMESPACE}"

verdict=$(qy_context_verdict "$QY_ENV" "$QY_CONTEXT" "$QY_FORCE_CONTEXT")
qy_print_verdicts "$verdict" || exit 3

for name in "${OVERWRITE[@]}"; do
  grep -qxF -- "$name" <<<"$SECRET_NAMES" || qy_die "--overwrite ${name}: the ${QY_ENV} manifests reference no such Secret" 2
done

# Writes the value of key $2 of Secret $1 (source $3, fixed value $4) to file $5, never to a
# terminal or an argument list.
generate_value() {
  local secret=$1 key=$2 source=$3 fixed=$4 file=$5 variable value
  (
    umask 077
    case $source in
      random)
        if [[ $key == keyfile || $secret == *keyfile* ]]; then
          # MongoDB keyFile: 6 to 1024 characters of the base64 alphabet. 756 random bytes encode
          # to 1008 characters with no '=' padding (mongod rejects '='), as MongoDB's docs do.
          openssl rand -base64 756 | tr -d '\n' >"$file"
        else
          openssl rand -hex 32 | tr -d '\n' >"$file"
        fi
        ;;
      fixed) printf '%s' "$fixed" >"$file" ;;
      prompt)
        variable=$(qy_prompt_variable "$secret" "$key")
        if [[ -n ${!variable:-} ]]; then
          printf '%s' "${!variable}" >"$file"
        elif [[ -t 0 ]]; then
          IFS= read -r -s -p "Value of ${secret}/${key} (input hidden): " value
          printf '\n' >&2
          [[ -n $value ]] || qy_die "empty value for ${secret}/${key}" 3
          printf '%s' "$value" >"$file"
        else
          qy_die "${secret}/${key} must be given: set ${variable}, or run on a terminal" 3
        fi
        ;;
      *) qy_die "unknown source '${source}' for ${secret}/${key} in lib/secrets.ts" 3 ;;
    esac
  )
}

labels=(app.kubernetes.io/part-of=qingyu app.kubernetes.io/managed-by=create-secrets)

# Creates Secret $1 from the files of keys $2... (`kubectl create` fails if it exists: no race).
create_secret() {
  local name=$1 key args=()
  shift
  for key in "$@"; do args+=("--from-file=${key}=${SECRET_FILES}/${name}.${key}"); done
  qy_kubectl create secret generic "$name" -n "$QY_NAMESPACE" "${args[@]}" >/dev/null
  qy_kubectl label secret "$name" -n "$QY_NAMESPACE" --overwrite "${labels[@]}" >/dev/null
}

# Adds keys $2... to the existing Secret $1 with a merge patch; existing keys are untouched.
add_keys() {
  local name=$1 key sep=''
  local patch="${SECRET_FILES}/${name}.patch.json"
  shift
  (
    umask 077
    {
      printf '{"data":{'
      for key in "$@"; do
        printf '%s"%s":"%s"' "$sep" "$key" "$(base64 <"${SECRET_FILES}/${name}.${key}" | tr -d '\n')"
        sep=','
      done
      printf '}}'
    } >"$patch"
  )
  qy_kubectl patch secret "$name" -n "$QY_NAMESPACE" --type=merge --patch-file="$patch" >/dev/null
}

# Replaces Secret $1 with new values of keys $2... The manifest goes from one kubectl to the other
# through a pipe; `replace` (not `apply`) so no last-applied annotation keeps a copy.
replace_secret() {
  local name=$1 key args=()
  shift
  for key in "$@"; do args+=("--from-file=${key}=${SECRET_FILES}/${name}.${key}"); done
  qy_kubectl create secret generic "$name" -n "$QY_NAMESPACE" "${args[@]}" --dry-run=client -o yaml |
    qy_kubectl replace -f - >/dev/null
  qy_kubectl label secret "$name" -n "$QY_NAMESPACE" --overwrite "${labels[@]}" >/dev/null
}

# Creates the namespace when it does not exist: the Namespace of the manifests (labels, Pod
# Security), applied server-side by the deploy's field manager, so the first deploy takes it over
# as its own. An existing namespace is never touched.
ensure_namespace() {
  local out
  if out=$(qy_kubectl get namespace "$QY_NAMESPACE" -o name 2>&1); then
    return 0
  elif [[ $out != *NotFound* && $out != *'not found'* ]]; then
    qy_warn "cannot tell whether namespace ${QY_NAMESPACE} exists (${out%%$'\n'*}); going on as if it does"
    return 0
  fi
  out=$(qy_manifests namespace "$DIST")
  [[ -n $out ]] || qy_die "namespace ${QY_NAMESPACE} does not exist and the manifests do not define it; create it: kubectl create namespace ${QY_NAMESPACE}" 3
  qy_kubectl apply --server-side "--field-manager=${QY_FIELD_MANAGER}" -f - <<<"$out" >/dev/null ||
    qy_die "could not create namespace ${QY_NAMESPACE} (see above); create it, or ask a cluster admin to, then run this again" 3
  qy_info "namespace ${QY_NAMESPACE} does not exist yet: created it as the manifests define it"
}

# The keys of Secret $1 that the manifests read, one per line.
referenced_keys() {
  local secret key
  while IFS=$'\t' read -r secret key; do
    [[ $secret == "$1" ]] && printf '%s\n' "$key"
  done < <(qy_facts secret-key secret key)
  return 0
}

# ---- create ----------------------------------------------------------------------------
qy_step "Create the missing Secrets in ${QY_NAMESPACE} (context ${QY_CONTEXT:-<none>})"
ensure_namespace
failed=0
# The list comes in on fd 3 so that stdin stays the terminal for the prompts.
while IFS=$'\t' read -r -u 3 name type issuer; do
  [[ -n $name ]] || continue
  if [[ $type == kubernetes.io/tls ]]; then
    if [[ $issuer == cert-manager ]]; then
      qy_info "${name}: TLS certificate, issued by cert-manager"
    else
      qy_info "${name}: TLS certificate, not generated here; if it does not exist, create it from your certificate files: kubectl create secret tls ${name} -n ${QY_NAMESPACE} --cert=<path>/tls.crt --key=<path>/tls.key"
    fi
    continue
  fi
  keys=$(awk -F'\t' -v n="$name" '$1 == "key" && $2 == n { print $3 "\t" $4 "\t" $5 }' <<<"$CATALOGUE")
  if [[ -z $keys ]]; then
    qy_warn "${name} is not in lib/secrets.ts, so its values are unknown here; create it by hand: kubectl create secret generic ${name} -n ${QY_NAMESPACE} $(referenced_keys "$name" | sed 's/.*/--from-file=&=<file>/' | paste -sd' ' -)"
    failed=1
    continue
  fi
  refs=$(referenced_keys "$name")
  for ref in $refs; do
    grep -qxF -- "$ref" <<<"$(cut -f1 <<<"$keys")" || {
      qy_warn "${name}/${ref} is referenced by the manifests but not catalogued in lib/secrets.ts"
      failed=1
    }
  done
  # A value someone must type is asked only for a key this environment's manifests read
  # (alertmanager-receivers holds a key per kind of receiver; an environment configures a few).
  # Generated and fixed keys are always filled. A Secret referenced whole (envFrom, a volume
  # without items) gets every catalogued key.
  if [[ -n $refs ]]; then
    keys=$(while IFS=$'\t' read -r key source value; do
      [[ $source != prompt ]] || grep -qx -- "$key" <<<"$refs" || continue
      printf '%s\t%s\t%s\n' "$key" "$source" "$value"
    done <<<"$keys")
  fi

  qy_read_secret_keys "$name"
  if [[ $QY_LIVE_STATE == error:* ]]; then
    qy_error "${name}: cannot read it: ${QY_LIVE_STATE#error:}"
    failed=1
    continue
  fi
  overwrite=false
  for o in "${OVERWRITE[@]}"; do [[ $o == "$name" ]] && overwrite=true; done

  wanted=()
  if [[ $QY_LIVE_STATE == missing || $overwrite == true ]]; then
    mapfile -t wanted < <(cut -f1 <<<"$keys")
  else
    while IFS=$'\t' read -r key _source _value; do
      [[ ",${QY_LIVE_KEYS}," == *",${key},"* ]] || wanted+=("$key")
    done <<<"$keys"
  fi
  if ((${#wanted[@]} == 0)); then
    qy_info "${name}: exists with all its keys; left unchanged"
    continue
  fi
  for key in "${wanted[@]}"; do
    IFS=$'\t' read -r _key source value < <(awk -F'\t' -v k="$key" '$1 == k' <<<"$keys")
    generate_value "$name" "$key" "$source" "$value" "${SECRET_FILES}/${name}.${key}"
  done

  if [[ $QY_LIVE_STATE == missing ]]; then
    create_secret "$name" "${wanted[@]}"
    qy_info "${name}: created with ${wanted[*]}"
  elif [[ $overwrite == true ]]; then
    if [[ $QY_YES != true ]]; then
      [[ -t 0 ]] || qy_die "not a terminal: pass --yes to overwrite ${name}" 3
      read -r -p "Replace every value of Secret ${name} in ${QY_NAMESPACE}? Running pods keep the old values until restarted. [y/N] " answer
      [[ $answer == y || $answer == yes ]] || {
        qy_info "${name}: not overwritten"
        continue
      }
    fi
    replace_secret "$name" "${wanted[@]}"
    qy_info "${name}: replaced (${wanted[*]}); restart its users and change the password inside the data store too (docs/operations.md)"
  else
    add_keys "$name" "${wanted[@]}"
    qy_info "${name}: added missing key(s) ${wanted[*]}; existing values kept"
  fi
  find "$SECRET_FILES" -type f -name "${name}.*" -exec shred -u {} + 2>/dev/null || rm -f "$SECRET_FILES/${name}".*
done 3< <(qy_facts secret name type source)

if ((failed)); then
  qy_step_failed 'some Secrets need attention (see above)'
  exit 1
fi
qy_step_done 'every referenced Secret exists'
