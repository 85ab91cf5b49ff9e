# shellcheck shell=bash disable=SC2034 # globals here are read by the scripts that source this file
# Releases: what each deploy applied, which one is live, which one a rollback goes back to,
# and whether going there would downgrade a data store. Requires common.sh.
#
# A release is a directory `<releases>/<env>/<id>/` holding `dist/` (the rendered manifests,
# exactly as applied) and `release.env` (env, tag, git commit, time, context, status). The same
# two files are kept in the cluster, in the ConfigMap `qingyu-release-<id>` of the namespace,
# so that a rollback works from any machine. The live release id is the annotation
# `qingyu.io/release` on the Namespace.

QY_RELEASE_ANNOTATION=qingyu.io/release
QY_RELEASE_RECORD_LABEL=qingyu.io/release-record
QY_RELEASE_PREFIX=qingyu-release-
QY_RELEASES_KEPT_IN_CLUSTER=${QINGYU_RELEASES_KEPT:-15}

# ---- pure functions ----

# The version part of an image reference (`mongo:7.0.14` -> 7.0.14; digest-only -> '').
qy_image_tag() {
  local image=${1%%@*}
  local last=${image##*/}
  [[ $last == *:* ]] && printf '%s' "${last##*:}"
  return 0
}

qy_image_repository() {
  local image=${1%%@*}
  local last=${image##*/}
  if [[ $last == *:* ]]; then printf '%s' "${image%:*}"; else printf '%s' "$image"; fi
}

# Compares two image tags as versions: prints lt, eq, gt or unknown.
# `v2.3.0` = `2.3.0`; `3.5.5-r2` compares as 3.5.5; MinIO `RELEASE.<timestamp>` by timestamp.
qy_compare_versions() {
  local a=${1#v} b=${2#v}
  if [[ $a == "$b" ]]; then
    printf 'eq'
    return
  fi
  if [[ $a =~ ^RELEASE\.([0-9TZ:-]+) ]]; then
    local ta=${BASH_REMATCH[1]}
    if [[ $b =~ ^RELEASE\.([0-9TZ:-]+) ]]; then
      local tb=${BASH_REMATCH[1]}
      if [[ $ta < $tb ]]; then printf 'lt'; elif [[ $ta > $tb ]]; then printf 'gt'; else printf 'eq'; fi
      return
    fi
    printf 'unknown'
    return
  fi
  local na nb
  [[ $a =~ ^([0-9]+(\.[0-9]+)*) ]] && na=${BASH_REMATCH[1]}
  [[ $b =~ ^([0-9]+(\.[0-9]+)*) ]] && nb=${BASH_REMATCH[1]}
  if [[ -z ${na:-} || -z ${nb:-} ]]; then
    printf 'unknown'
    return
  fi
  local -a pa pb
  IFS=. read -r -a pa <<<"$na"
  IFS=. read -r -a pb <<<"$nb"
  local i n=$((${#pa[@]} > ${#pb[@]} ? ${#pa[@]} : ${#pb[@]}))
  for ((i = 0; i < n; i++)); do
    local x=$((10#${pa[i]:-0})) y=$((10#${pb[i]:-0}))
    if ((x < y)); then
      printf 'lt'
      return
    elif ((x > y)); then
      printf 'gt'
      return
    fi
  done
  printf 'eq'
}

# Data-store verdicts for moving from the live images to the target's.
#   $1 live: "statefulset<TAB>container=image<TAB>container=image..." lines
#   $2 target: "statefulset<TAB>container<TAB>image" lines (facts `datastore-image`)
#   $3 "true" when --force-data-downgrade was given
# A data store whose version would go down is FAIL: its files were written by the newer
# version (MongoDB's featureCompatibilityVersion, Redis RDB versions, etcd's storage version).
qy_datastore_verdicts() {
  local live=$1 target=$2 force=${3:-false} sts container image line current cmp
  [[ -n $target ]] || return 0
  while IFS=$'\t' read -r sts container image; do
    [[ -n $sts ]] || continue
    line=$(awk -F'\t' -v s="$sts" '$1 == s { print; exit }' <<<"$live")
    if [[ -z $line ]]; then
      qy_verdict PASS 'data stores' "${sts}: not running yet, will start with ${image}"
      continue
    fi
    current=$(tr '\t' '\n' <<<"$line" | tail -n +2 | awk -v c="$container" 'index($0, c "=") == 1 { print substr($0, length(c) + 2); exit }')
    if [[ -z $current ]]; then
      qy_verdict WARN 'data stores' "${sts}: the live StatefulSet has no container '${container}'; cannot compare versions"
      continue
    fi
    if [[ $current == "$image" ]]; then
      qy_verdict PASS 'data stores' "${sts}: stays at ${image}"
      continue
    fi
    if [[ $(qy_image_repository "$current") != "$(qy_image_repository "$image")" ]]; then
      cmp=unknown
    else
      cmp=$(qy_compare_versions "$(qy_image_tag "$image")" "$(qy_image_tag "$current")")
    fi
    local what="${sts}: ${current} -> ${image}"
    case $cmp in
      gt | eq) qy_verdict PASS 'data stores' "$what (upgrade)" ;;
      *)
        local reason='would DOWNGRADE the data store: its files were written by the newer version'
        [[ $cmp == unknown ]] && reason='cannot tell whether this is a downgrade'
        if [[ $force == true ]]; then
          qy_verdict WARN 'data stores' "${what} ${reason}; going ahead because --force-data-downgrade was given"
        else
          qy_verdict FAIL 'data stores' "${what} ${reason}" \
            "check the on-disk format first (MongoDB: db.adminCommand({getParameter: 1, featureCompatibilityVersion: 1}) must be what ${image} supports), back up, then rerun with --force-data-downgrade; or roll back with --apps-only"
        fi
        ;;
    esac
  done <<<"$target"
}

# Which rollback to run: $1 "true" for --apps-only, $2 the --to release (may be empty).
# Prints `undo` (kubectl rollout undo of the app Deployments) or `reapply` (a recorded release).
qy_rollback_mode() {
  local apps_only=$1 to=$2
  if [[ $apps_only == true && -n $to ]]; then
    qy_error "--apps-only undoes the last rollout of the app Deployments; it cannot go to a release (--to ${to}). Use one or the other."
    return 2
  fi
  if [[ $apps_only == true ]]; then printf 'undo'; else printf 'reapply'; fi
}

# The release to roll back to: the newest release before $1 (the live one) whose deploy
# succeeded. $2: "id<TAB>status" lines. Prints nothing when there is none.
qy_previous_release() {
  local current=$1 records=$2
  awk -F'\t' -v cur="$current" '$1 ~ /^[0-9]+$/ && $1 + 0 < cur + 0 && $2 == "succeeded" { if ($1 + 0 > best + 0) best = $1 }
    END { if (best != "") print best }' <<<"$records"
}

# ---- records ----

qy_release_root() { printf '%s/%s' "$(qy_releases_dir)" "$1"; }

# Sets key=value in a release.env file (values never contain newlines).
qy_release_set() {
  local file=$1 key=$2 value=$3 tmp
  tmp="${file}.tmp"
  { grep -v "^${key}=" "$file" 2>/dev/null || true; printf '%s=%s\n' "$key" "${value//$'\n'/ }"; } >"$tmp"
  mv "$tmp" "$file"
}

qy_release_get() { sed -n "s/^$2=//p" "$1" | tail -1; }

# "id<TAB>status" of the releases recorded in the cluster (ConfigMaps) and locally.
qy_release_records() {
  local env=$1 dir id
  # shellcheck disable=SC2016 # a Go template, not shell
  qy_kubectl get configmaps -n "$QY_NAMESPACE" -l "${QY_RELEASE_RECORD_LABEL}=true" \
    -o go-template='{{range .items}}{{index .metadata.labels "qingyu.io/release"}}{{"\t"}}{{index .metadata.labels "qingyu.io/release-status"}}{{"\n"}}{{end}}' 2>/dev/null || true
  for dir in "$(qy_release_root "$env")"/*/; do
    [[ -f ${dir}release.env ]] || continue
    id=$(basename "$dir")
    printf '%s\t%s\n' "$id" "$(qy_release_get "${dir}release.env" status)"
  done
}

# Merges records: the cluster's status wins over a local one for the same id.
qy_merge_records() { awk -F'\t' '!seen[$1]++' <<<"$1"; }

# The next release id: one more than any recorded in the cluster or locally.
qy_next_release_id() {
  local records=$1
  awk -F'\t' '$1 ~ /^[0-9]+$/ && $1 + 0 > max { max = $1 + 0 } END { print max + 1 }' <<<"$records"
}

# The live release id (the Namespace annotation), or nothing.
qy_live_release() {
  qy_kubectl get namespace "$QY_NAMESPACE" -o go-template="{{with .metadata.annotations}}{{index . \"${QY_RELEASE_ANNOTATION}\"}}{{end}}" 2>/dev/null || true
}

# Makes sure release $2 of env $1 is on disk; fetches it from the cluster when it is not.
qy_fetch_release() {
  local env=$1 id=$2 dir
  dir="$(qy_release_root "$env")/${id}"
  if [[ -d $dir/dist && -f $dir/release.env ]]; then
    printf '%s' "$dir"
    return 0
  fi
  mkdir -p "$dir/dist"
  if ! qy_kubectl get configmap "${QY_RELEASE_PREFIX}${id}" -n "$QY_NAMESPACE" -o go-template='{{index .binaryData "dist.tar.gz"}}' 2>/dev/null |
    base64 -d 2>/dev/null | tar -xzf - -C "$dir/dist"; then
    rm -rf "$dir"
    return 1
  fi
  qy_kubectl get configmap "${QY_RELEASE_PREFIX}${id}" -n "$QY_NAMESPACE" -o go-template='{{index .data "release.env"}}' >"$dir/release.env" 2>/dev/null || true
  printf '%s' "$dir"
}

# Stores release dir $1 (id $2) in the cluster as ConfigMap qingyu-release-<id>, labelled with
# its status, and removes the oldest records beyond QY_RELEASES_KEPT_IN_CLUSTER.
qy_store_release_in_cluster() {
  local dir=$1 id=$2 status=$3
  local archive="$QY_WORK/dist-${id}.tar.gz"
  tar -czf "$archive" -C "$dir/dist" .
  qy_kubectl create configmap "${QY_RELEASE_PREFIX}${id}" -n "$QY_NAMESPACE" \
    --from-file=dist.tar.gz="$archive" --from-file=release.env="$dir/release.env" \
    --dry-run=client -o yaml | qy_kubectl apply --server-side "--field-manager=${QY_FIELD_MANAGER}" -f - >/dev/null
  qy_label_release_in_cluster "$id" "$status"
  local old
  old=$(qy_release_records "$QY_ENV" | awk -F'\t' '$1 ~ /^[0-9]+$/ { print $1 }' | sort -un |
    awk -v keep="$QY_RELEASES_KEPT_IN_CLUSTER" '{ ids[NR] = $0 } END { for (i = 1; i <= NR - keep; i++) print ids[i] }')
  for id in $old; do
    qy_kubectl delete configmap "${QY_RELEASE_PREFIX}${id}" -n "$QY_NAMESPACE" --ignore-not-found >/dev/null 2>&1 || true
  done
}

qy_label_release_in_cluster() {
  local id=$1 status=$2
  qy_kubectl label configmap "${QY_RELEASE_PREFIX}${id}" -n "$QY_NAMESPACE" --overwrite \
    "${QY_RELEASE_RECORD_LABEL}=true" "qingyu.io/release=${id}" "qingyu.io/release-status=${status}" \
    app.kubernetes.io/part-of=qingyu app.kubernetes.io/managed-by=qingyu-deploy >/dev/null 2>&1 || true
}

# Records release $2 as live: the Namespace annotation, and the ApplySet parent's.
qy_mark_live() {
  local id=$1 note=${2:-}
  qy_kubectl annotate namespace "$QY_NAMESPACE" --overwrite "${QY_RELEASE_ANNOTATION}=${id}" \
    "qingyu.io/release-note=${note:-release ${id}}" >/dev/null
}

# Sets the status of release $2 of env $1 locally and in the cluster.
qy_set_release_status() {
  local env=$1 id=$2 status=$3 file
  file="$(qy_release_root "$env")/${id}/release.env"
  [[ -f $file ]] && qy_release_set "$file" status "$status"
  qy_label_release_in_cluster "$id" "$status"
}

# Live data-store images: "statefulset<TAB>container=image..." lines.
qy_live_datastore_images() {
  qy_kubectl get statefulsets.apps -n "$QY_NAMESPACE" \
    -o go-template='{{range .items}}{{.metadata.name}}{{range .spec.template.spec.containers}}{{"\t"}}{{.name}}={{.image}}{{end}}{{"\n"}}{{end}}' 2>/dev/null || true
}

# The images of the application Deployments (the app-deployment facts), as "name=image,...":
# what a release record says the apps ran.
qy_app_images() {
  local kind workload image out='' apps
  apps=" $(qy_facts app-deployment name | tr '\n' ' ') "
  while IFS=$'\t' read -r kind workload image; do
    [[ $kind == Deployment && $apps == *" ${workload} "* ]] && out+="${out:+,}${workload}=${image}"
  done < <(qy_facts image kind workload image)
  printf '%s' "$out"
}
