#!/usr/bin/env bash
# Run the ecosystem's manifest validators on every environment's synthesized YAML.
#
#   bash verify/validators.sh               (npm run verify:validators)
#   bash verify/validators.sh --build-only  install the tools into the cache, validate nothing
#
# Tools (pinned below, installed once into ${QINGYU_CACHE:-~/.cache/qingyu}, never into the repo):
#   kubeconform          strict schema validation against each Kubernetes version checked and the
#                        CRDs in ../shared/crds, with schemas generated offline by
#                        verify/gen-schemas.mjs from ../shared/k8s-schemas/v<version>
#   kube-score           reliability and security scoring
#   checkov              security policies (CKV_K8S_*)
#   kubernetes-validate  a second, independent strict schema validation, per version checked
# The Kubernetes versions checked are the oldest and the newest the platform supports, read from
# scripts/lib/preflight.sh (QY_MIN_KUBE_MINOR, QY_MAX_KUBE_MINOR_EXCLUSIVE): 1.27.0 and 1.36.0.
# The two schema tools run once per version, each run a row of the summary table.
# Polaris and kube-linter are not used: their Go modules are not served by the module proxy
# reachable here (see verify/README.md).
#
# Each tool has verify/<tool>.conf: its flags ("arg ...") and its exceptions ("except RULE
# Kind/name REASON"). Exits non-zero on any finding that is not excepted.
#
# Environment: QINGYU_CACHE, QINGYU_SHARED, QINGYU_VERIFY_ENVS, QINGYU_VERIFY_DIST (see
# verify/lib/common.sh), QINGYU_VERIFY_TOOLS (default: all four, space-separated),
# QINGYU_VERIFY_K8S_VERSIONS (default: the oldest and newest supported, e.g. "1.27.0 1.36.0").
set -euo pipefail
QY_LOG_NAME=verify:validators
# shellcheck source=verify/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# renovate: datasource=go depName=github.com/yannh/kubeconform
KUBECONFORM_VERSION=v0.7.0
# renovate: datasource=go depName=github.com/zegl/kube-score
KUBE_SCORE_VERSION=v1.20.0
# renovate: datasource=go depName=github.com/aquasecurity/trivy
TRIVY_VERSION=v0.74.0
# renovate: datasource=go depName=github.com/controlplaneio/kubesec/v2
KUBESEC_VERSION=v2.14.2
# renovate: datasource=pypi depName=checkov
CHECKOV_VERSION=3.3.30
# renovate: datasource=pypi depName=kubernetes-validate
KUBERNETES_VALIDATE_VERSION=1.37.0

read -r -a tools <<<"${QINGYU_VERIFY_TOOLS:-kubeconform kube-score trivy kubesec checkov kubernetes-validate}"
build_only=false
case "${1:-}" in
  '') ;;
  --build-only) build_only=true ;;
  *) qy_die "unknown argument '$1' (allowed: --build-only)" ;;
esac
started=$SECONDS
verify="$QY_VERIFY_REPO/verify"
cache="$QY_VERIFY_CACHE"
mkdir -p "$cache/bin"

# The Kubernetes versions the schema tools check: the two ends of the range the deploy preflight
# accepts, so that the claim and the proof stay in step (raise the range there, and this needs
# ../shared/k8s-schemas for the new end).
if [[ -n "${QINGYU_VERIFY_K8S_VERSIONS:-}" ]]; then
  read -r -a k8s_versions <<<"$QINGYU_VERIFY_K8S_VERSIONS"
else
  preflight="$QY_VERIFY_REPO/scripts/lib/preflight.sh"
  min="$(sed -n 's/^QY_MIN_KUBE_MINOR=\([0-9]\{1,\}\).*/\1/p' "$preflight")"
  max="$(sed -n 's/^QY_MAX_KUBE_MINOR_EXCLUSIVE=\([0-9]\{1,\}\).*/\1/p' "$preflight")"
  [[ -n "$min" && -n "$max" ]] || qy_die "cannot read the supported Kubernetes range from $preflight"
  k8s_versions=("1.$min.0" "1.$((max - 1)).0")
fi
((${#k8s_versions[@]} > 0)) || qy_die "QINGYU_VERIFY_K8S_VERSIONS names no version"

# --- installs (idempotent; a half-finished install is never taken for a finished one) -----------
# The Go tools are built by verify/lib/build.sh's cached_build into $cache/bin/<name>-<version>/,
# each with .qy-build (how it was built and how long it took).
QY_BUILD_NAME=$QY_LOG_NAME
# shellcheck source=verify/lib/build.sh
source "$verify/lib/build.sh"

# _go_stamp LABEL SECONDS: what was built and how long it took, into BUILD_OUT/.qy-build.
_go_stamp() {
  printf 'built=%s\nseconds=%s\ngo=%s\ngoexperiment=%s\ndate=%s\n' "$1" "$2" "$(go env GOVERSION)" \
    "${GOEXPERIMENT:-}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$BUILD_OUT/.qy-build"
}
_go_install() { # NAME PKG@VERSION LDFLAGS (inside cached_build)
  local t0=$SECONDS
  GOBIN="$BUILD_OUT" GOFLAGS=-trimpath go install -ldflags "$3" "$2" >&2 || return 1
  _go_stamp "go install $2" $((SECONDS - t0))
}
_go_build() { # NAME MODULE@VERSION PACKAGE LDFLAGS (inside cached_build)
  local t0=$SECONDS dir
  dir="$(cd "$BUILD_OUT" && GOFLAGS="" GOWORK=off go mod download -json "$2" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -n "$dir" && -f "$dir/go.mod" ]] || { qy_log "go mod download $2 failed"; return 1; }
  (cd "$dir" && GOWORK=off go build -ldflags "$4" -o "$BUILD_OUT/$1" "$3") >&2 || return 1
  _go_stamp "go mod download $2 + go build $3" $((SECONDS - t0))
}

# go_tool NAME MODULE/PATH VERSION [LDFLAGS] -> path of the binary, built with `go install
# MODULE/PATH@VERSION` (the caller's GOEXPERIMENT, if any, is the build's).
go_tool() {
  local name="$1" pkg="$2" version="$3" ldflags="${4:--s -w}"
  local dir="$cache/bin/$name-$version"
  command -v go >/dev/null || [[ -x "$dir/$name" ]] || qy_die "go is required to install $name"
  cached_build "$dir" "$name $version" "$name" -- _go_install "$name" "$pkg@$version" "$ldflags" ||
    qy_die "go install $pkg@$version failed"
  printf '%s\n' "$dir/$name"
}

# go_module_tool NAME MODULE VERSION PACKAGE [LDFLAGS] -> path of the binary, built with `go build
# PACKAGE` in the downloaded module MODULE@VERSION, as its main module (its own go.sum): for a
# module `go install` refuses (the proxy answers 403 for its version list, which go install reads).
go_module_tool() {
  local name="$1" module="$2" version="$3" package="$4" ldflags="${5:--s -w}"
  local dir="$cache/bin/$name-$version"
  command -v go >/dev/null || [[ -x "$dir/$name" ]] || qy_die "go is required to install $name"
  cached_build "$dir" "$name $version" "$name" -- _go_build "$name" "$module@$version" "$package" "$ldflags" ||
    qy_die "building $module@$version failed"
  printf '%s\n' "$dir/$name"
}

py_tool() { # NAME PACKAGE VERSION -> path of the console script NAME
  local name="$1" package="$2" version="$3"
  local venv="$cache/venv-$package-$version"
  if [[ ! -f "$venv/.installed" ]]; then
    command -v python3 >/dev/null || qy_die "python3 is required to install $package"
    qy_log "installing $package $version into $venv (first time only)"
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$package==$version" >&2 ||
      { rm -rf "$venv"; qy_die "pip install $package==$version failed"; }
    touch "$venv/.installed"
  fi
  printf '%s\n' "$venv/bin/$name"
}

# schemas_dir VERSION: kubeconform's schemas for Kubernetes VERSION (1.27.0) and the CRDs, keyed by
# the generator and its inputs: regenerated when any of them changes (~1 s).
schemas_dir() {
  local version="v$1"
  local defs="$QY_VERIFY_SHARED/k8s-schemas/$version/_definitions.json"
  [[ -f "$defs" ]] || qy_die "no $defs (set QINGYU_SHARED)"
  local key
  key="$({
    cat "$verify/gen-schemas.mjs" "$defs"
    find "$QY_VERIFY_SHARED/crds" -name '*.yaml' -print0 | sort -z | xargs -0 cat
  } | sha256sum | cut -c1-16)"
  local dir="$cache/schemas/$version-$key"
  if [[ ! -f "$dir/.done" ]]; then
    rm -rf "$dir"
    node "$verify/gen-schemas.mjs" "$defs" "$QY_VERIFY_SHARED/crds" "$dir" >&2 || qy_die "schema generation failed"
    touch "$dir/.done"
  fi
  printf '%s\n' "$dir"
}

# conf_args TOOL: the "arg" lines of verify/TOOL.conf, one argument per line.
conf_args() {
  local conf="$verify/$1.conf"
  [[ -f "$conf" ]] || qy_die "missing $conf"
  sed -n 's/^arg[[:space:]]\{1,\}\([^#]*[^#[:space:]]\).*$/\1/p' "$conf"
}

declare -A bin
for tool in "${tools[@]}"; do
  case "$tool" in
    kubeconform) bin[$tool]="$(go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION")" ;;
    kube-score) bin[$tool]="$(go_tool kube-score github.com/zegl/kube-score/cmd/kube-score "$KUBE_SCORE_VERSION")" ;;
    trivy)
      # As Trivy's release builds it (goreleaser.yml in the module, build "build-linux"): main
      # ./cmd/trivy, CGO_ENABLED=0, GOEXPERIMENT=jsonv2 (pkg/rpc imports encoding/json/v2), the
      # version stamped into pkg/version/app.ver ({{.Version}}: the tag without its "v"). Its
      # "-extldflags '-static'" is moot with CGO off (Go's own linker, a static binary anyway).
      bin[$tool]="$(GOEXPERIMENT=jsonv2 go_tool trivy github.com/aquasecurity/trivy/cmd/trivy "$TRIVY_VERSION" \
        "-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=${TRIVY_VERSION#v}")"
      ;;
    kubesec)
      # `go install` is refused (the proxy answers 403 for the module's version list; the version
      # itself is served): built in the module, stamped as its .goreleaser.yml does.
      bin[$tool]="$(go_module_tool kubesec github.com/controlplaneio/kubesec/v2 "$KUBESEC_VERSION" . \
        "-s -w -X github.com/controlplaneio/kubesec/v2/cmd.version=${KUBESEC_VERSION#v}")"
      ;;
    checkov) bin[$tool]="$(py_tool checkov checkov "$CHECKOV_VERSION")" ;;
    kubernetes-validate) bin[$tool]="$(py_tool kubernetes-validate kubernetes-validate "$KUBERNETES_VALIDATE_VERSION")" ;;
    *) qy_die "unknown tool $tool" ;;
  esac
done
if $build_only; then
  qy_log "tools ready: ${tools[*]}"
  exit 0
fi
# A check is a tool, or a tool and the Kubernetes version it validates against (TOOL@VERSION).
checks=()
declare -A schemas
for tool in "${tools[@]}"; do
  case "$tool" in
    kubeconform | kubernetes-validate)
      for version in "${k8s_versions[@]}"; do
        checks+=("$tool@$version")
        if [[ "$tool" == kubeconform ]]; then schemas[$version]="$(schemas_dir "$version")"; fi
      done
      ;;
    kubesec)
      checks+=("$tool")
      schemas[${k8s_versions[0]}]="$(schemas_dir "${k8s_versions[0]}")"
      ;;
    *) checks+=("$tool") ;;
  esac
done
QY_CRD_GROUPS="$(sed -n 's/^  group:[[:space:]]*//p' "$QY_VERIFY_SHARED"/crds/*/*.yaml | sort -u | tr '\n' ' ')"
export QY_CRD_GROUPS

work="$(mktemp -d "${TMPDIR:-/tmp}/qingyu-validators.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# split_objects DIST OUT: every object of DIST/*.yaml into OUT/<Kind>_<name>.yaml, its text as
# written (documents split at their "---" lines).
split_objects() {
  mkdir -p "$2"
  node -e '
    const fs = require("fs"), path = require("path"), YAML = require(process.argv[1]);
    const [dist, out] = process.argv.slice(2);
    for (const file of fs.readdirSync(dist).filter((f) => f.endsWith(".yaml")).sort()) {
      for (const text of fs.readFileSync(path.join(dist, file), "utf8").split(/^---[ \t]*$/m)) {
        const o = YAML.parse(text);
        if (!o) continue;
        const name = path.join(out, o.kind + "_" + o.metadata.name + ".yaml");
        if (fs.existsSync(name)) throw new Error(file + ": a second " + o.kind + "/" + o.metadata.name);
        fs.writeFileSync(name, text.replace(/^\n/, ""));
      }
    }
  ' "$QY_VERIFY_REPO/node_modules/yaml" "$1" "$2"
}

# trivy_data DIR: the data Trivy's checks read, into DIR: the "trust REGISTRY REASON" lines of
# verify/trivy.conf become KSV-0125's trusted registries (ksv0125.trusted_registries, which
# replaces the check's default: Azure, ECR and GCR only).
trivy_data() {
  local conf="$verify/trivy.conf"
  mkdir -p "$1"
  awk -v conf="$conf" '
    $1 == "trust" {
      if (NF < 3) { printf "%s:%d: \"trust REGISTRY REASON\": the reason is missing\n", conf, NR > "/dev/stderr"; bad = 1 }
      list = list (list == "" ? "" : ",") "\"" $2 "\""
    }
    END { if (bad) exit 2; printf "{\"ksv0125\":{\"trusted_registries\":[%s]}}\n", list }
  ' "$conf" >"$1/ksv0125.json"
}

# run_tool TOOL[@VERSION] DIST RAW: run one check on one directory of YAML, its output into RAW.
# The tools' own exit codes are not trusted for the verdict: findings.mjs decides.
run_tool() {
  local tool="${1%@*}" version="" dist="$2" raw="$3"
  [[ "$1" == *@* ]] && version="${1#*@}"
  local args
  mapfile -t args < <(conf_args "$tool")
  local files=("$dist"/*.yaml)
  case "$tool" in
    kubeconform)
      "${bin[$tool]}" -strict -output json -verbose -kubernetes-version "$version" \
        -schema-location "${schemas[$version]}/kubernetes/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
        -schema-location "${schemas[$version]}/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
        "${args[@]}" "${files[@]}" >"$raw" 2>"$raw.err" || true
      ;;
    kube-score)
      "${bin[$tool]}" score --output-format json "${args[@]}" "${files[@]}" >"$raw" 2>"$raw.err" || true
      ;;
    trivy)
      # One file an object, named Kind_name.yaml ("_" is in no Kubernetes name), so that each
      # result names its object: in a multi-document file Trivy's line numbers can point into the
      # object before the one at fault (a ConfigMap's do), so they cannot say which it is.
      split_objects "$dist" "$raw.objects" || return 1
      trivy_data "$raw.data" || return 1
      # Misconfiguration scanning with the checks embedded in the binary, offline: no check bundle
      # or DB download (--skip-check-update; `trivy config` needs no vulnerability DB), no version
      # notice, no telemetry, a scratch cache. Its own exit code says nothing (--exit-code 0).
      # Not --quiet: that also hides the errors of checks that could not be evaluated.
      "${bin[$tool]}" config --format json --exit-code 0 --skip-check-update \
        --skip-version-check --disable-telemetry --cache-dir "$raw.cache" --misconfig-scanners kubernetes \
        --config-data "$raw.data" "${args[@]}" "$raw.objects" >"$raw" 2>"$raw.err" || true
      # A check whose Rego fails on one object is dropped for the whole scan, silently: its
      # verdict on every object is missing, which must not read as "0 findings". (KSV-0109's
      # config_map_secret_key is one: on a line with both ":" and "=" after a secret-like word it
      # yields two keys, an eval_conflict_error.)
      if grep -q 'Error occurred while applying rule' "$raw.err"; then
        qy_log "trivy: a check could not be evaluated, so it judged none of the objects:"
        grep 'Error occurred while applying rule' "$raw.err" | sed 's/^.*\[rego\] */    /' >&2
        : >"$raw"
        : >"$raw.err"
      fi
      ;;
    kubesec)
      # One file a run (kubesec scans one); each prints a JSON array, gathered into one array of
      # arrays. kubesec validates every object with kubeconform before scoring it: pointed at the
      # generated schemas of the oldest version checked, it never reaches for the network.
      local sep="" file
      {
        printf '['
        for file in "${files[@]}"; do
          printf '%s' "$sep"
          sep=,
          "${bin[$tool]}" scan --format json --kubernetes-version "${k8s_versions[0]}" \
            --schema-location "${schemas[${k8s_versions[0]}]}/kubernetes/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
            --schema-location "${schemas[${k8s_versions[0]}]}/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
            "${args[@]}" "$file" 2>>"$raw.err" || true
        done
        printf ']\n'
      } >"$raw"
      ;;
    checkov)
      # --skip-download: no calls home (there is no network, and the verdict must not depend on it).
      BC_SKIP_MAPPING=TRUE "${bin[$tool]}" --framework kubernetes --skip-download --quiet --compact \
        --output json "${args[@]}" --directory "$dist" >"$raw" 2>"$raw.err" || true
      ;;
    kubernetes-validate)
      "${bin[$tool]}" --kubernetes-version "$version" "${args[@]}" "${files[@]}" >"$raw" 2>"$raw.err" || true
      ;;
  esac
  if [[ ! -s "$raw" ]]; then
    sed 's/^/    /' "$raw.err" >&2
    return 1
  fi
}

declare -A accepted findings excepted
failed=0
for env in "${QY_VERIFY_ENVS[@]}"; do
  dist="$work/$env/dist"
  qy_synth "$env" "$dist"
  qy_verify_facts "$dist" "$work/$env/facts.tsv"
  total="$(qy_facts object name | wc -l)"
  for check in "${checks[@]}"; do
    tool="${check%@*}"
    raw="$work/$env/$check.out"
    result="$work/$env/$check.findings"
    # One exceptions file per tool: an exception holds for every Kubernetes version checked.
    if ! run_tool "$check" "$dist" "$raw" ||
      ! node "$verify/lib/findings.mjs" "$tool" "$raw" "$verify/$tool.conf" "$work/$env/facts.tsv" "$env" >"$result"; then
      qy_log "$env: ${check/@/ } did not run; its output:"
      sed 's/^/    /' "$raw" "$raw.err" 2>/dev/null | head -n 40 >&2
      accepted[$env.$check]="error"
      findings[$check]=$((${findings[$check]:-0} + 1))
      failed=1
      continue
    fi
    n="$(grep -c '^finding' "$result" || true)"
    x="$(grep -c '^excepted' "$result" || true)"
    accepted[$env.$check]="$(awk -F'\t' '$1 == "accepted" { print $2 "/" $4 }' "$result")"
    findings[$check]=$((${findings[$check]:-0} + n))
    excepted[$check]=$((${excepted[$check]:-0} + x))
    if ((n > 0)); then
      failed=1
      printf '\n%s on %s: %d finding(s)\n' "${check/@/ }" "$env" "$n"
      awk -F'\t' '$1 == "finding" { printf "  %-36s %-50s %s\n", $2, $3, $4 }' "$result"
    fi
  done
  [[ "$total" -gt 0 ]] || { qy_log "$env: no objects"; failed=1; }
done

printf '\nverify:validators (%ds): objects accepted per environment, findings per tool and Kubernetes version\n' \
  $((SECONDS - started))
printf '  %-20s %-8s' tool k8s
printf ' %-12s' "${QY_VERIFY_ENVS[@]}"
printf ' %8s %8s\n' findings excepted
for check in "${checks[@]}"; do
  version=-
  [[ "$check" == *@* ]] && version="${check#*@}"
  printf '  %-20s %-8s' "${check%@*}" "$version"
  for env in "${QY_VERIFY_ENVS[@]}"; do printf ' %-12s' "${accepted[$env.$check]:-?}"; done
  printf ' %8s %8s\n' "${findings[$check]:-0}" "${excepted[$check]:-0}"
done
((failed == 0)) || qy_die "findings that are not excepted (edit the code, or add a reasoned exception to verify/<tool>.conf)"
