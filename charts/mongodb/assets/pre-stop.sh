#!/usr/bin/env bash
# preStop hook of the mongod container: a primary hands its role to a caught-up secondary
# before mongod receives SIGTERM, so that clients see one quick, orderly election instead of
# waiting for a vanished primary. Never fails the hook: mongod (5.0+) also steps down on SIGTERM.
set -uo pipefail

RS_MODE=step-down timeout "${STEP_DOWN_TIMEOUT_SECONDS:-45}" \
  mongosh --nodb --quiet --norc --file "${RECONCILE_SCRIPT:-/scripts/replica-set.js}" \
  || echo "step-down did not complete (status $?); mongod steps down on SIGTERM"
exit 0
