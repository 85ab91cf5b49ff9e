#!/usr/bin/env bash
# Self-test of verify/alerting: the committed example must pass run.sh, and a copy of it broken
# in four ways (in a temporary directory, never committed) must fail in exactly the checks that
# catch those breaks, and no other. Then amconfig: its Go tests (each fixture of
# amconfig/testdata renders exactly as committed, or fails with the operator's message), and
# run.sh on cases made from the renderings of the own-mode and stack-mode fixtures.
#
#   bash verify/alerting/selftest.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/qy-alerting-selftest.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "== example (must pass)"
bash "$here/run.sh" "$here/example"

echo "== broken copy of the example (must fail)"
broken="$tmp/broken"
cp -R "$here/example" "$broken"
# 1. TargetDown after 1m instead of 5m: the unit test's quiet case at 4m now sees it.
sed -i '0,/for: 5m/s//for: 1m/' "$broken/rules.yaml"
# 2. An alert without a firing test.
cat >>"$broken/rules.yaml" <<'EOF'
      - alert: QingyuUntested
        expr: vector(0) > 1
        labels: {severity: warning, namespace: qingyu}
EOF
# 3. The dead-man's switch route matches a name no alert has: the Watchdog lands in chat.
sed -i 's/alertname="QingyuWatchdog"/alertname="Watchdog"/' "$broken/alertmanager.yaml"
# 4. The ComponentDown => TargetDown inhibition compares `instance` instead of `job`:
#    ComponentDown has no instance label, so it never equals a target's and nothing is inhibited.
sed -i 's/equal: \[namespace, job\]/equal: [namespace, instance]/' "$broken/alertmanager.yaml"
set +e
bash "$here/run.sh" "$broken" | tee "$tmp/out"
rc=${PIPESTATUS[0]}
set -e

want=(
  "promtool test rules"
  "every alert has a firing unit test"
  "route watchdog to heartbeat -> heartbeat"
  "scenario 'redis down: ComponentDown pages, its TargetDown is inhibited'"
  "scenario 'watchdog reaches the heartbeat receiver only'"
)
ok=true
[[ $rc -eq 1 ]] || { echo "selftest: run.sh on the broken copy exited $rc, not 1"; ok=false; }
for w in "${want[@]}"; do
  grep -qF -- "FAIL" <(grep -F -- ": $w" "$tmp/out") || { echo "selftest: no FAIL for '$w'"; ok=false; }
done
fails="$(grep -c '^FAIL' "$tmp/out" || true)"
[[ $fails -eq ${#want[@]} ]] || { echo "selftest: $fails FAIL lines, expected ${#want[@]}"; ok=false; }
$ok && echo "selftest: the example passes and each break is caught"

echo "== amconfig: go test (fixtures render as committed; broken ones fail with the operator's message)"
mapfile -t bins < <(bash "$here/build.sh")
[[ ${#bins[@]} -eq 3 ]] || { echo "selftest: verify/alerting/build.sh failed"; exit 1; }
amconfig="${bins[2]}/amconfig"
# With the build flags of verify/lib/build.sh, so the test reuses the packages build.sh compiled.
(cd "$here/amconfig" && GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 \
  GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath -mod=readonly" go test -count=1 ./...) ||
  { echo "selftest: amconfig's go test failed"; ok=false; }

echo "== amconfig: the renderings of testdata/own and testdata/stack pass run.sh"
for c in own stack; do
  mkdir -p "$tmp/rendered/$c"
  "$amconfig" --dist "$here/amconfig/testdata/$c/dist" >"$tmp/rendered/$c/alertmanager.yaml"
  cp "$here/amconfig/testdata/$c/"*.test.json "$tmp/rendered/$c/"
done
bash "$here/run.sh" "$tmp/rendered" || { echo "selftest: run.sh failed on the amconfig renderings"; ok=false; }

echo "== amconfig: a route naming an undefined receiver fails with the operator's message"
broken="$here/amconfig/testdata/reject-undefined-receiver"
if "$amconfig" --dist "$broken/dist" >"$tmp/broken.yaml" 2>"$tmp/broken.err"; then
  echo "selftest: amconfig rendered $broken/dist"
  ok=false
else
  cat "$tmp/broken.err"
  grep -qF -- "$(cat "$broken/error.txt")" "$tmp/broken.err" ||
    { echo "selftest: amconfig's error is not: $(cat "$broken/error.txt")"; ok=false; }
fi
$ok && echo "selftest: all passed"
$ok
