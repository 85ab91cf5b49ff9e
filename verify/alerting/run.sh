#!/usr/bin/env bash
# Prove alerting rules, routes and inhibitions with the real tools, offline, on 127.0.0.1.
#
#   bash verify/alerting/run.sh DIR
#
# DIR is one case (it holds at least one of the input files below) or a directory of cases
# (each immediate subdirectory that holds one, e.g. DIR/production, DIR/staging-stack). Per case:
#   rules.yaml            promtool check rules (lint fatal)
#   rules.test.yaml       every alert of rules.yaml has a firing test; promtool test rules
#   alertmanager.yaml     amtool check-config
#   routes.test.json      amtool config routes test --verify.receivers, one check per case
#   inhibition.test.json  per scenario: a fresh alertmanager on 127.0.0.1, the alerts posted to
#                         its API, deliveries recorded by a local webhook, inhibited alerts read
#                         back from /api/v2/alerts
# Formats: verify/alerting/README.md. DIR is only read: each case is copied into a temporary
# directory, where the runner writes the secret files (secrets/<name>) that alertmanager.yaml
# names and alertmanager.live.yaml for the live scenarios (every group_wait longer than
# QINGYU_ALERTING_GROUP_WAIT seconds, default 1, cut to it).
#
# Prints one PASS/FAIL line per check with its wall time, then "alerting: N passed, N failed";
# exits 1 if any check failed, 2 on bad usage. Stops every process it started on exit.
# Knobs: QINGYU_ALERTING_GROUP_WAIT (s, default 1), QINGYU_ALERTING_SETTLE_MS (how long to wait
# for unexpected notifications after the expected ones, default 1000), QINGYU_CACHE (binaries).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
QY_LOG_NAME=alerting
# shellcheck source=verify/lib/common.sh
source "$here/../lib/common.sh"

if [[ $# -ne 1 || ! -d "$1" ]]; then
  echo "usage: $0 DIR   (a case directory, or a directory of case directories)" >&2
  exit 2
fi
dir="$(cd "$1" && pwd)"
group_wait="${QINGYU_ALERTING_GROUP_WAIT:-1}"
settle_ms="${QINGYU_ALERTING_SETTLE_MS:-1000}"
[[ "$group_wait" =~ ^[0-9]+$ && "$settle_ms" =~ ^[0-9]+$ ]] ||
  qy_die "QINGYU_ALERTING_GROUP_WAIT and QINGYU_ALERTING_SETTLE_MS must be whole numbers"

inputs=(rules.yaml rules.test.yaml alertmanager.yaml routes.test.json inhibition.test.json)
is_case() {
  local f
  for f in "${inputs[@]}"; do
    [[ -f "$1/$f" ]] && return 0
  done
  return 1
}
cases=()
if is_case "$dir"; then
  cases=("$dir")
else
  for d in "$dir"/*/; do
    d="${d%/}"
    if is_case "$d"; then cases+=("$d"); fi
  done
fi
[[ ${#cases[@]} -gt 0 ]] || qy_die "no case in $dir (none of ${inputs[*]} in it or its subdirectories)"

# build.sh prints the promtool, alertmanager and amconfig directories (amconfig is not used here).
mapfile -t bins < <(bash "$here/build.sh")
[[ ${#bins[@]} -eq 3 ]] || qy_die "verify/alerting/build.sh failed"
promtool="${bins[0]}/promtool"
amtool="${bins[1]}/amtool"
alertmanager="${bins[1]}/alertmanager"

work="$(mktemp -d "${TMPDIR:-/tmp}/qy-alerting.XXXXXX")"
pids=()
cleanup() {
  while [[ ${#pids[@]} -gt 0 ]]; do
    stop "${pids[0]}"
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tool() { node "$here/lib/tool.mjs" "$@"; }
# stop PID: end a process this script started and forget it (so the EXIT trap never signals a
# reused PID).
stop() {
  local pid="$1" p kept=()
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${pids[@]}"; do
    [[ $p == "$pid" ]] || kept+=("$p")
  done
  pids=("${kept[@]}")
}
now_us() { printf '%s' "${EPOCHREALTIME//[!0-9]/}"; }

passed=0
failed=0
label=""
# report PASS|FAIL START_US NAME [LOG]: the check's line; a failure's output indented below it.
report() {
  local ms=$((($(now_us) - $2) / 1000))
  printf '%s %3d.%03ds  %s: %s\n' "$1" $((ms / 1000)) $((ms % 1000)) "$label" "$3"
  if [[ $1 == PASS ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    # Indented, with the temporary copy's path left out (file names are the case's).
    [[ -s "${4:-}" ]] && sed -e "s|$work/case-[0-9]*/||g" -e 's/^/      /' "$4"
  fi
  return 0
}
# check NAME COMMAND...: run COMMAND (output captured), report it.
n=0
check() {
  local name="$1" start log
  shift
  n=$((n + 1))
  log="$work/check-$n.log"
  start="$(now_us)"
  if "$@" </dev/null >"$log" 2>&1; then
    report PASS "$start" "$name"
  else
    report FAIL "$start" "$name" "$log"
  fi
}

# The webhook recorder, started on first use, one for the whole run.
hook=""
ensure_webhook() {
  [[ -z "$hook" ]] || return 0
  local port_file="$work/webhook.port" i
  node "$here/lib/webhook.mjs" "$port_file" >"$work/webhook.log" 2>&1 &
  pids+=("$!")
  for ((i = 0; i < 100; i++)); do
    if [[ -s "$port_file" ]]; then
      hook="http://127.0.0.1:$(<"$port_file")"
      return 0
    fi
    sleep 0.05
  done
  qy_die "the webhook recorder did not start: $(cat "$work/webhook.log")"
}

# run_scenario CASE_WORK INDEX: one inhibition scenario against a fresh Alertmanager (its own
# storage, no cluster, 127.0.0.1 only), stopped afterwards.
run_scenario() {
  local cw="$1" i="$2" port pid rc=0
  port="$(qy_free_port)" || return 1
  # From the case's directory: Alertmanager reads a webhook's url_file relative to its working
  # directory (http_config's *_file relative to the configuration file; here both are the same).
  (cd "$cw" && exec "$alertmanager" --config.file="$cw/alertmanager.live.yaml" \
    --storage.path="$cw/am-data-$i" --web.listen-address="127.0.0.1:$port" \
    --cluster.listen-address= --log.level=warn) >"$cw/am-$i.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  if tool ready "http://127.0.0.1:$port/-/ready" 10000; then
    tool scenario "$cw/inhibition.test.json" "$i" "http://127.0.0.1:$port" "$hook" \
      $((group_wait * 1000)) "$settle_ms" || rc=1
  else
    rc=1
  fi
  stop "$pid"
  if [[ $rc -ne 0 && -s "$cw/am-$i.log" ]]; then
    echo "alertmanager log:"
    cat "$cw/am-$i.log"
  fi
  return "$rc"
}

missing() {
  echo "$1 needs $2 next to it"
  return 1
}

case_no=0
for c in "${cases[@]}"; do
  case_no=$((case_no + 1))
  label="$(basename "$c")"
  cw="$work/case-$case_no"
  mkdir -p "$cw"
  for f in "${inputs[@]}"; do
    if [[ -f "$c/$f" ]]; then cp "$c/$f" "$cw/"; fi
  done

  if [[ -f "$cw/rules.yaml" ]]; then
    check "promtool check rules" "$promtool" check rules --lint-fatal "$cw/rules.yaml"
  fi
  if [[ -f "$cw/rules.test.yaml" ]]; then
    if [[ -f "$cw/rules.yaml" ]]; then
      check "every alert has a firing unit test" tool coverage "$cw/rules.yaml" "$cw/rules.test.yaml"
      # promtool resolves rule_files relative to the test file.
      check "promtool test rules" "$promtool" test rules "$cw/rules.test.yaml"
    else
      check "promtool test rules" missing rules.test.yaml rules.yaml
    fi
  fi

  has_am=false
  [[ -f "$cw/alertmanager.yaml" ]] && has_am=true
  if $has_am; then
    ensure_webhook
    start="$(now_us)"
    if tool prepare "$cw" "$hook" "${group_wait}s" >"$work/prepare-$case_no.log" 2>&1; then
      check "amtool check-config" "$amtool" check-config "$cw/alertmanager.yaml"
    else
      report FAIL "$start" "alertmanager.yaml secrets and live copy" "$work/prepare-$case_no.log"
      has_am=false
    fi
  fi

  if [[ -f "$cw/routes.test.json" ]]; then
    if ! $has_am; then
      check "routes.test.json" missing routes.test.json "a valid alertmanager.yaml"
    else
      start="$(now_us)"
      if tool routes "$cw/routes.test.json" >"$cw/routes.tsv" 2>"$work/routes-$case_no.log"; then
        while IFS=$'\t' read -r -a fields; do
          check "route ${fields[0]} -> ${fields[1]}" "$amtool" config routes test \
            --config.file="$cw/alertmanager.yaml" --verify.receivers="${fields[1]}" "${fields[@]:2}"
        done <"$cw/routes.tsv"
      else
        report FAIL "$start" "routes.test.json" "$work/routes-$case_no.log"
      fi
    fi
  fi

  if [[ -f "$cw/inhibition.test.json" ]]; then
    if ! $has_am; then
      check "inhibition.test.json" missing inhibition.test.json "a valid alertmanager.yaml"
    else
      start="$(now_us)"
      if tool scenarios "$cw/inhibition.test.json" >"$cw/scenarios.txt" 2>"$work/scenarios-$case_no.log"; then
        i=0
        while IFS= read -r name; do
          check "scenario '$name'" run_scenario "$cw" "$i"
          i=$((i + 1))
        done <"$cw/scenarios.txt"
      else
        report FAIL "$start" "inhibition.test.json" "$work/scenarios-$case_no.log"
      fi
    fi
  fi
done

echo "alerting: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
