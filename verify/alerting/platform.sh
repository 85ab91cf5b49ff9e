#!/usr/bin/env bash
# The platform's own alerting, proven with the real tools, for every environment and the
# kube-prometheus-stack variant (npm run verify:alerting; CI runs it):
#   - its rules: `promtool check rules`, and every alert's unit cases as promtool tests
#     (scripts/alerting-cases.mjs writes them from the alerts' firing and quiet cases);
#   - its Alertmanager configuration as the Prometheus Operator renders it from dist/ (amconfig,
#     the operator's own code): `amtool check-config`, and where each kind of alert must go;
#   - each inhibition, on a real Alertmanager that delivers to a local webhook.
# Loopback only: run.sh runs in a network namespace of its own (`unshare -n`, only `lo` up), so
# a receiver that is no webhook (PagerDuty, WeCom) in a live scenario cannot reach out. Needs
# root for that (CI runs as root); without it the script refuses rather than risk the network.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
QY_LOG_NAME=verify:alerting
# shellcheck source=verify/lib/common.sh
source "$here/../lib/common.sh"

if ! command -v unshare >/dev/null || ! command -v ip >/dev/null; then qy_die "needs unshare and ip (util-linux, iproute2)"; fi
unshare -n true 2>/dev/null || qy_die "needs a network namespace of its own (unshare -n, as root): the live scenarios must not reach the network"

mapfile -t bins < <(bash "$here/build.sh")
[[ ${#bins[@]} -eq 3 ]] || qy_die "verify/alerting/build.sh failed"
amconfig="${bins[2]}/amconfig"

work="$(mktemp -d "${TMPDIR:-/tmp}/qy-alerting-platform.XXXXXX")"
trap 'rm -rf "$work"' EXIT

t0=$SECONDS
node "$QY_VERIFY_REPO/scripts/alerting-cases.mjs" "$work" >&2
for case in "$work"/*/; do
  "$amconfig" --dist "$case/dist" >"$case/alertmanager.yaml" 2>"$case/amconfig.log" || {
    sed 's/^/    /' "$case/amconfig.log" >&2
    qy_die "amconfig could not render $(basename "$case")'s Alertmanager configuration"
  }
done
qy_log "cases written and rendered in $((SECONDS - t0))s"

# shellcheck disable=SC2016 # expanded by the inner bash
unshare -n bash -c 'ip link set lo up && exec bash "$0" "$1"' "$here/run.sh" "$work"
