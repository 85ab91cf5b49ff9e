# shellcheck shell=bash disable=SC2034 # globals here are read by the scripts that source this file
# Shared helpers of the operations scripts: logging with step timing, errors, the pinned
# kubectl, argument checks. Sourced, never run. No function here prints a secret value, and
# nothing turns on `set -x`: a trace would print every value a script handles.

if ((BASH_VERSINFO[0] < 4)); then
  printf 'error: bash 4 or newer is required (this is %s; on macOS: brew install bash)\n' "$BASH_VERSION" >&2
  exit 2
fi

# Repository root (scripts/lib/..).
QY_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export QY_ROOT

QY_ENVIRONMENTS=(production staging development)

# The field manager of everything the scripts apply server-side: one, so that a later deploy owns
# what an earlier script applied (the namespace create-secrets.sh makes) without a conflict.
QY_FIELD_MANAGER=qingyu-deploy

if [[ -t 2 && -z ${NO_COLOR:-} ]]; then
  QY_BOLD=$'\e[1m' QY_RED=$'\e[31m' QY_GREEN=$'\e[32m' QY_YELLOW=$'\e[33m' QY_DIM=$'\e[2m' QY_RESET=$'\e[0m'
else
  QY_BOLD='' QY_RED='' QY_GREEN='' QY_YELLOW='' QY_DIM='' QY_RESET=''
fi

# Seconds since the epoch with microseconds (bash 5).
qy_now() { printf '%s' "${EPOCHREALTIME:-$(date +%s)}"; }

# Elapsed time since $1 (a qy_now value), as "1.2s" or "2m03s".
qy_elapsed() {
  local start=$1 now
  now=$(qy_now)
  awk -v s="$start" -v n="$now" 'BEGIN { d = n - s; if (d < 0) d = 0;
    if (d < 60) printf "%.1fs", d; else printf "%dm%02ds", int(d / 60), int(d) % 60 }'
}

# QY_LOG_NAME, when set, prefixes every line (the verify/ scripts name themselves with it).
qy_log() { printf '%s\n' "${QY_LOG_NAME:+$QY_LOG_NAME: }$*" >&2; }
qy_info() { printf '  %s\n' "$*" >&2; }
qy_warn() { printf '%s\n' "${QY_LOG_NAME:+$QY_LOG_NAME: }${QY_YELLOW}warning:${QY_RESET} $*" >&2; }
qy_error() { printf '%s\n' "${QY_LOG_NAME:+$QY_LOG_NAME: }${QY_RED}error:${QY_RESET} $*" >&2; }
qy_die() {
  qy_error "$1"
  exit "${2:-1}"
}

QY_SCRIPT_START=$(qy_now)
QY_STEP_NAME=''
QY_STEP_START=''
QY_STEP_NUMBER=0

# Starts a step: prints its number and what it does; the previous step must be finished.
qy_step() {
  QY_STEP_NUMBER=$((QY_STEP_NUMBER + 1))
  QY_STEP_NAME=$1
  QY_STEP_START=$(qy_now)
  printf '\n%s\n' "${QY_BOLD}[${QY_STEP_NUMBER}] ${QY_STEP_NAME}${QY_RESET}" >&2
}

# Ends the current step with how long it took.
qy_step_done() {
  local note=${1:-done}
  printf '%s\n' "  ${QY_GREEN}✓${QY_RESET} ${note} ${QY_DIM}($(qy_elapsed "$QY_STEP_START"))${QY_RESET}" >&2
}

qy_step_failed() {
  printf '%s\n' "  ${QY_RED}✗${QY_RESET} ${1:-failed} ${QY_DIM}($(qy_elapsed "$QY_STEP_START"))${QY_RESET}" >&2
}

# Prefixes each line of stdin with the time since the step began, for long waits.
qy_progress() {
  local line
  while IFS= read -r line; do
    printf '  %s %s\n' "${QY_DIM}[+$(qy_elapsed "$QY_STEP_START")]${QY_RESET}" "$line" >&2
  done
}

# kubectl pinned to the context chosen at start (QY_CONTEXT), so that a `kubectl config
# use-context` in another terminal can never redirect a deploy half-way through.
qy_kubectl() {
  if [[ -n ${QY_CONTEXT:-} ]]; then
    kubectl --context "$QY_CONTEXT" "$@"
  else
    kubectl "$@"
  fi
}

qy_require_command() {
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 || qy_die "'$cmd' is required but not on PATH" 2
  done
}

# Fails unless $1 is a known environment name.
qy_check_env() {
  local env=$1 known
  for known in "${QY_ENVIRONMENTS[@]}"; do
    [[ $env == "$known" ]] && return 0
  done
  qy_die "unknown environment '${env}'; expected one of: ${QY_ENVIRONMENTS[*]}" 2
}

# Fails (exits) unless option $1 has a value "$2". Runs in the script's shell, not in $(…).
qy_need_value() {
  [[ $# -ge 2 && -n $2 && $2 != --* ]] || qy_die "$1 needs a value" 2
}

# qy_common_option ARGS...: parses the option at $1 that every operations script takes: --env,
# --context (both also as --name=value), --force-context, --yes/-y, -h/--help; anything else
# ends with the usage and exit 2. Sets QY_SHIFT to the number of arguments it used. Each script
# matches its own options first and hands the rest here.
qy_common_option() {
  QY_SHIFT=1
  case $1 in
    --env) qy_need_value "$@" && QY_ENV=$2 && QY_SHIFT=2 ;;
    --env=*) QY_ENV=${1#*=} ;;
    --context) qy_need_value "$@" && QY_CONTEXT=$2 && QY_SHIFT=2 ;;
    --context=*) QY_CONTEXT=${1#*=} ;;
    --force-context) QY_FORCE_CONTEXT=true ;;
    --yes | -y) QY_YES=true ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      qy_die "unknown argument '$1'" 2
      ;;
  esac
}

# Converts a duration like 90s, 10m, 1h or a bare number of seconds into seconds.
qy_duration_seconds() {
  local d=$1
  case $d in
    *h) printf '%d' $((${d%h} * 3600)) ;;
    *m) printf '%d' $((${d%m} * 60)) ;;
    *s) printf '%d' "${d%s}" ;;
    *) printf '%d' "$d" ;;
  esac
}

# The directory that keeps every release of every environment.
qy_releases_dir() { printf '%s' "${QINGYU_RELEASES:-$HOME/.qingyu/releases}"; }

# A private scratch directory, removed when the script exits.
qy_make_workdir() {
  QY_WORK=$(umask 077 && mktemp -d "${TMPDIR:-/tmp}/qingyu-ops.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the path is fixed
  trap "rm -rf '$QY_WORK'" EXIT
  export QY_WORK
}

# qy_facts TYPE [FIELD...]: the records of one type in the facts file $QY_FACTS (scripts/lib/
# manifests.mjs facts), tab-separated; with FIELDs, only those fields, in that order. Fields are
# named by the file's `#fields` lines (FACT_FIELDS in manifests.mjs), never counted: an unknown
# name is an error (exit 3), so a renamed field fails loudly instead of reading the wrong column.
# Bash builtins only: the checks call it often, and every process costs time at 2 a.m. too.
qy_facts() {
  local type=$1 line name i out
  shift
  local -a names=() picks=() values=()
  while IFS= read -r line; do
    if [[ $line == "#fields"$'\t'"${type}"$'\t'* ]]; then
      line=${line#*$'\t'}
      qy_split_tabs "${line#*$'\t'}" names
      for name in "$@"; do
        for i in "${!names[@]}"; do [[ ${names[i]} == "$name" ]] && picks+=("$i") && continue 2; done
        qy_error "facts: '${type}' has no field '${name}' (it has: ${names[*]})"
        return 3
      done
    elif [[ $line == "${type}"$'\t'* ]]; then
      if (($# == 0)); then
        printf '%s\n' "${line#*$'\t'}"
        continue
      fi
      ((${#picks[@]} == $#)) || { qy_error "facts: ${QY_FACTS} has no '#fields' line for '${type}'"; return 3; }
      qy_split_tabs "${line#*$'\t'}" values
      out=${values[${picks[0]}]}
      for i in "${picks[@]:1}"; do out+=$'\t'${values[i]}; done
      printf '%s\n' "$out"
    fi
  done <"$QY_FACTS"
  return 0
}

# qy_split_tabs STRING ARRAY: the tab-separated fields of STRING into ARRAY, empty ones kept
# (`read -a` with IFS=$'\t' would merge them: a tab is IFS white space).
qy_split_tabs() {
  local rest=$1
  local -n _fields=$2
  _fields=()
  while [[ $rest == *$'\t'* ]]; do
    _fields+=("${rest%%$'\t'*}")
    rest=${rest#*$'\t'}
  done
  _fields+=("$rest")
}

# Joins the lines of $2 with separator $1.
qy_join() {
  local sep=$1 out='' line
  while IFS= read -r line; do
    [[ -n $line ]] || continue
    out+="${out:+$sep}${line}"
  done <<<"$2"
  printf '%s' "$out"
}

# Runs scripts/lib/manifests.mjs (Node reads the YAML; bash only ever sees facts).
qy_manifests() { node "$QY_ROOT/scripts/lib/manifests.mjs" "$@"; }

# The namespace of environment $1, from the compiled configuration (config/environments.ts).
qy_env_namespace() {
  [[ -f $QY_ROOT/build/config/index.js ]] || node "$QY_ROOT/scripts/compile.mjs" >&2
  node -e 'process.stdout.write(require(process.argv[1]).ENVIRONMENTS[process.argv[2]].namespace)' \
    "$QY_ROOT/build/config/index.js" "$1"
}

# qy_prompt_variable SECRET KEY: the environment variable that may hold the value of a `prompt`
# key for scripts/create-secrets.sh: QINGYU_SECRET_<SECRET>_<KEY>, upper case, '-' -> '_'.
qy_prompt_variable() {
  printf 'QINGYU_SECRET_%s_%s' "$1" "$2" | tr '[:lower:]' '[:upper:]' | tr -c 'A-Z0-9_' '_'
}
