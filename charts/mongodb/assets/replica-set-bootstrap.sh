#!/usr/bin/env bash
# The `bootstrap` sidecar of every MongoDB member: forms the replica set and keeps it whole.
#
#   replica-set-bootstrap.sh            run the loop (the container's command)
#   replica-set-bootstrap.sh started    exit 0 once the loop has begun (readiness probe)
#   replica-set-bootstrap.sh healthy N  exit 0 if a pass began within N seconds (liveness probe)
#
# Every pass records which members resolve in DNS (RESOLVABLE_HOSTS) and runs replica-set.js in
# mongosh, which observes the set, decides and acts: initiate (member 0 only, once every member
# resolves and none has a config), add members that are missing from the config, create the
# users, or nothing. Running it again, on any member, after any restart, is safe.
# Passes repeat every RECONCILE_INTERVAL_SECONDS once the set is as desired; while it is forming,
# or after a failure, they repeat after RETRY_INTERVAL_SECONDS, doubling up to the interval.
set -Eeuo pipefail

readonly heartbeat_file=${HEARTBEAT_FILE:-/tmp/bootstrap-heartbeat}

log() {
  printf '{"time":"%s","component":"replica-set-bootstrap","message":"%s"}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

case "${1:-run}" in
  started)
    [[ -f $heartbeat_file ]] || { echo "the bootstrap loop has not started"; exit 1; }
    exit 0
    ;;
  healthy)
    max_age=${2:?usage: $0 healthy MAX_AGE_SECONDS}
    [[ -f $heartbeat_file ]] || { echo "the bootstrap loop has not started"; exit 1; }
    age=$(( $(date +%s) - $(stat -c %Y "$heartbeat_file") ))
    if (( age > max_age )); then
      echo "the last pass began ${age}s ago (more than ${max_age}s): the loop is stuck"
      exit 1
    fi
    exit 0
    ;;
  run) ;;
  *)
    echo "usage: $0 [run | started | healthy MAX_AGE_SECONDS]" >&2
    exit 2
    ;;
esac

: "${MEMBER_HOSTS:?MEMBER_HOSTS must list every member as host:port, comma separated}"
: "${POD_NAME:?POD_NAME must come from the downward API}"
: "${REPLICA_SET_NAME:?REPLICA_SET_NAME must be set}"
readonly script=${RECONCILE_SCRIPT:-/scripts/replica-set.js}
readonly interval=${RECONCILE_INTERVAL_SECONDS:-30}
readonly retry=${RETRY_INTERVAL_SECONDS:-5}
readonly pass_timeout=${PASS_TIMEOUT_SECONDS:-300}
for setting in "interval=$interval" "retry=$retry" "pass_timeout=$pass_timeout"; do
  [[ ${setting#*=} =~ ^[0-9]+$ ]] || { echo "$setting must be a whole number of seconds" >&2; exit 2; }
done

# Members whose host name resolves now, as host:port, comma separated.
resolvable_hosts() {
  local member resolvable=()
  local -a members
  IFS=',' read -r -a members <<<"$MEMBER_HOSTS"
  for member in "${members[@]}"; do
    if getent hosts "${member%:*}" >/dev/null; then
      resolvable+=("$member")
    fi
  done
  local IFS=','
  printf '%s' "${resolvable[*]}"
}

# SIGTERM (pod shutdown) ends the loop at once, also in the middle of a pass or a sleep.
child=""
stopping=false
on_term() {
  stopping=true
  if [[ -n $child ]]; then kill -TERM "$child" 2>/dev/null || true; fi
}
trap on_term TERM INT

backoff=$retry
log "starting: $POD_NAME of replica set $REPLICA_SET_NAME, members $MEMBER_HOSTS"
while ! $stopping; do
  touch "$heartbeat_file"
  # mongosh keeps a log file per run for 30 days; a run every few seconds would fill /tmp.
  find "${HOME:-/tmp}/.mongodb/mongosh" -maxdepth 1 -type f -name '*_log' -mmin +60 -delete 2>/dev/null || true
  RESOLVABLE_HOSTS=$(resolvable_hosts)
  export RESOLVABLE_HOSTS

  status=0
  timeout "$pass_timeout" mongosh --nodb --quiet --norc --file "$script" &
  child=$!
  wait "$child" || status=$?
  child=""
  $stopping && break

  case $status in
    0 | 10) ;;
    124) log "the pass took longer than ${pass_timeout}s and was stopped" ;;
    *) log "the pass failed with status $status" ;;
  esac
  if (( status == 0 )); then
    delay=$interval
    backoff=$retry
  else
    delay=$backoff
    backoff=$(( backoff * 2 > interval ? interval : backoff * 2 ))
  fi

  sleep "$delay" &
  child=$!
  wait "$child" || true
  child=""
done
log "stopping"
