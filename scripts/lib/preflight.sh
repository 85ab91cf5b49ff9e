# shellcheck shell=bash disable=SC2034 # globals here are read by the scripts that source this file
# Preflight checks: is this cluster ready for these manifests? Every check prints verdict lines
#
#   PASS|WARN|FAIL <TAB> check <TAB> what was found <TAB> how to fix it (may be empty)
#
# The qy_*_verdict functions are pure (arguments in, verdicts out) so that tests can call them;
# the qy_check_* functions ask the cluster through qy_kubectl and hand the answers to them.
# Requires common.sh.

QY_MIN_KUBE_MINOR=27 # supported: 1.27 <= version < 1.37
QY_MAX_KUBE_MINOR_EXCLUSIVE=37

qy_verdict() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}"; }

# Whether the context name $1 has one of the words $2... (whole words, case-insensitive, split
# on anything but letters and digits: `preprod` is not `prod`).
qy_context_has_word() {
  local context=${1,,} word w
  shift
  local -a words
  IFS=' ' read -r -a words <<<"${context//[^a-z0-9]/ }"
  for word in "$@"; do
    for w in "${words[@]}"; do
      [[ $w == "$word" ]] && return 0
    done
  done
  return 1
}

# Context guard. $1 environment, $2 context name, $3 "true" when --force-context was given.
# Production only goes to a context whose name says prod; nothing else goes to one that does.
qy_context_verdict() {
  local env=$1 context=$2 force=${3:-false}
  local prod_words=(prod production prd)
  local check='context'
  if [[ -z $context ]]; then
    qy_verdict FAIL "$check" "no kubectl context is selected" "pass --context NAME (see: kubectl config get-contexts)"
    return
  fi
  local override="--force-context was given"
  if [[ $env == production ]]; then
    if qy_context_has_word "$context" "${prod_words[@]}"; then
      qy_verdict PASS "$check" "production -> context '${context}'"
    elif [[ $force == true ]]; then
      qy_verdict WARN "$check" "context '${context}' does not say prod; deploying production there because ${override}"
    else
      qy_verdict FAIL "$check" "refusing to deploy production to context '${context}': its name has no word prod/production" \
        "check 'kubectl config get-contexts' and pass --context <the production context>, or --force-context if '${context}' really is production"
    fi
    return
  fi
  local own_words
  case $env in
    staging) own_words=(staging stage stg) ;;
    development) own_words=(development dev local kind minikube k3d k3s docker desktop rancher) ;;
    *) own_words=("$env") ;;
  esac
  if qy_context_has_word "$context" "${prod_words[@]}" && ! qy_context_has_word "$context" "${own_words[@]}"; then
    if [[ $force == true ]]; then
      qy_verdict WARN "$check" "context '${context}' looks like production; deploying ${env} there because ${override}"
    else
      qy_verdict FAIL "$check" "refusing to deploy ${env} to context '${context}', which looks like production" \
        "pass --context <the ${env} context>, or --force-context if this is intended"
    fi
  elif qy_context_has_word "$context" "${own_words[@]}"; then
    qy_verdict PASS "$check" "${env} -> context '${context}'"
  else
    qy_verdict WARN "$check" "context '${context}' does not mention ${env}; make sure it is the right cluster"
  fi
}

# API server version verdict from a gitVersion such as v1.30.4 or v1.29.8-eks-a737599.
qy_server_version_verdict() {
  local git_version=$1 major minor
  if [[ $git_version =~ ^v?([0-9]+)\.([0-9]+) ]]; then
    major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}
  else
    qy_verdict FAIL 'server version' "cannot read the API server version ('${git_version}')" "check the connection: kubectl version"
    return
  fi
  local range="1.${QY_MIN_KUBE_MINOR} <= version < 1.${QY_MAX_KUBE_MINOR_EXCLUSIVE}"
  if ((major == 1 && minor >= QY_MIN_KUBE_MINOR && minor < QY_MAX_KUBE_MINOR_EXCLUSIVE)); then
    qy_verdict PASS 'server version' "Kubernetes ${git_version} (supported: ${range})"
  else
    qy_verdict FAIL 'server version' "Kubernetes ${git_version} is outside the supported range ${range}" \
      "upgrade the cluster, or test the manifests against this version and widen the range in scripts/lib/preflight.sh"
  fi
}

# How to install the CRDs of an API group we know.
qy_crd_fix() {
  case $1 in
    monitoring.coreos.com) printf '%s' "install the prometheus-operator CRDs (kube-prometheus-stack, or kubectl apply --server-side -f the operator release's stripped-down-crds.yaml)" ;;
    gateway.networking.k8s.io) printf '%s' "install the Gateway API standard CRDs: kubectl apply --server-side -f https://github.com/kubernetes-sigs/gateway-api/releases/download/<version>/standard-install.yaml" ;;
    cert-manager.io) printf '%s' "install cert-manager (it brings its CRDs)" ;;
    *) printf '%s' "install the operator or CRDs that serve $1" ;;
  esac
}

# CRD verdicts. $1: needed "group<TAB>version<TAB>kind" lines; $2: the cluster's CRDs as
# "group<TAB>kind<TAB>served versions, comma-separated<TAB>Established status" lines.
qy_crd_verdicts() {
  local needed=$1 installed=$2 group version kind line served established
  [[ -n $needed ]] || {
    qy_verdict PASS 'CRDs' 'the manifests use no custom resources'
    return
  }
  local g k
  while IFS=$'\t' read -r group version kind; do
    [[ -n $group ]] || continue
    line=''
    while IFS=$'\t' read -r g k served established; do
      [[ $g == "$group" && $k == "$kind" ]] && {
        line=found
        break
      }
    done <<<"$installed"
    if [[ -z $line ]]; then
      qy_verdict FAIL 'CRDs' "${kind}.${group} is not installed (the manifests use ${group}/${version} ${kind})" "$(qy_crd_fix "$group")"
      continue
    fi
    if [[ $established != True ]]; then
      qy_verdict FAIL 'CRDs' "${kind}.${group} is installed but not Established" "kubectl get crd -o wide; kubectl describe crd (look for conflicting names)"
    elif [[ ",${served}," != *",${version},"* ]]; then
      qy_verdict FAIL 'CRDs' "${kind}.${group} does not serve ${version} (served: ${served%,})" "upgrade the CRDs: $(qy_crd_fix "$group")"
    else
      qy_verdict PASS 'CRDs' "${kind}.${group} ${version} is served and Established"
    fi
  done <<<"$needed"
}

# StorageClass verdicts. $1: "class<TAB>user" lines ('-' = the default class); $2: the cluster's
# classes as "name<TAB>is-default-class annotation" lines.
qy_storage_verdicts() {
  local uses=$1 classes=$2 class user defaults
  [[ -n $uses ]] || {
    qy_verdict PASS 'storage' 'the manifests claim no persistent volumes'
    return
  }
  local name is_default default_count=0 default_users='' named_done=' '
  defaults=''
  while IFS=$'\t' read -r name is_default; do
    [[ $is_default == true ]] || continue
    defaults+="${defaults:+, }${name}"
    default_count=$((default_count + 1))
  done <<<"$classes"
  while IFS=$'\t' read -r class user; do
    [[ $class == - ]] && default_users+="${default_users:+, }${user}"
  done <<<"$uses"
  if [[ -n $default_users ]]; then
    case $default_count in
      0) qy_verdict FAIL 'storage' "no default StorageClass, and ${default_users} name no class" \
        "mark one class default: kubectl patch storageclass <name> -p '{\"metadata\":{\"annotations\":{\"storageclass.kubernetes.io/is-default-class\":\"true\"}}}' (or set storage.storageClassName in config/environments.ts)" ;;
      1) qy_verdict PASS 'storage' "default StorageClass '${defaults}' for ${default_users}" ;;
      *) qy_verdict WARN 'storage' "several default StorageClasses (${defaults}); new PVCs get the most recently created one" ;;
    esac
  fi
  while IFS=$'\t' read -r class user; do
    [[ -n $class && $class != - && $named_done != *" ${class} "* ]] || continue
    named_done+="${class} "
    if [[ $'\n'"${classes}" == *$'\n'"${class}"$'\t'* ]]; then
      qy_verdict PASS 'storage' "StorageClass '${class}' exists"
    else
      qy_verdict FAIL 'storage' "StorageClass '${class}' (used by ${user}) does not exist" "kubectl get storageclass; fix storage.storageClassName in config/environments.ts"
    fi
  done <<<"$uses"
}

# Secret verdict of one referenced Secret.
#   $1 env  $2 namespace  $3 name  $4 expected type  $5 cert-manager|manual  $6 required|optional
#   $7 referenced keys "key:required|optional" comma-separated  $8 catalogued (true|false)
#   $9 live state: "missing", "error:<message>" or "present"  $10 live type  $11 live keys, comma-separated
qy_secret_verdict() {
  local env=$1 ns=$2 name=$3 type=$4 issuer=$5 need=$6 refs=$7 catalogued=$8 state=$9 live_type=${10:-} live_keys=${11:-}
  local create="scripts/create-secrets.sh --env ${env}"
  if [[ $state == error:* ]]; then
    qy_verdict FAIL 'secrets' "cannot read Secret ${name}: ${state#error:}" "check your RBAC: kubectl auth can-i get secrets -n ${ns}"
    return
  fi
  local keys_list='' r
  local -a ref_list
  IFS=',' read -r -a ref_list <<<"$refs"
  for r in "${ref_list[@]}"; do keys_list+="${keys_list:+ }${r%%:*}"; done
  if [[ $state == missing ]]; then
    local fix
    if [[ $type == kubernetes.io/tls && $issuer == cert-manager ]]; then
      qy_verdict WARN 'secrets' "TLS Secret ${name} does not exist yet; cert-manager issues it after the deploy" "watch: kubectl get certificate -n ${ns}"
      return
    elif [[ $type == kubernetes.io/tls ]]; then
      fix="kubectl create secret tls ${name} -n ${ns} --cert=<path>/tls.crt --key=<path>/tls.key"
    elif [[ $catalogued == true ]]; then
      fix=$create
    else
      fix="kubectl create secret generic ${name} -n ${ns}"
      for r in "${ref_list[@]}"; do fix+=" --from-file=${r%%:*}=<file holding ${r%%:*}>"; done
      fix+=' (write the files with umask 077, then shred them)'
    fi
    if [[ $need == optional ]]; then
      qy_verdict WARN 'secrets' "optional Secret ${name} does not exist" "$fix"
    else
      qy_verdict FAIL 'secrets' "Secret ${name} does not exist (keys needed: ${keys_list:-all})" "$fix"
    fi
    return
  fi
  if [[ $type != Opaque && $live_type != "$type" ]]; then
    qy_verdict FAIL 'secrets' "Secret ${name} has type ${live_type}, the manifests need ${type}" "recreate it as ${type}"
    return
  fi
  local missing_required='' missing_optional='' ref key optional
  for ref in "${ref_list[@]}"; do
    [[ -n $ref ]] || continue
    key=${ref%%:*} optional=${ref#*:}
    [[ ",${live_keys}," == *",${key},"* ]] && continue
    if [[ $optional == optional ]]; then missing_optional+=" ${key}"; else missing_required+=" ${key}"; fi
  done
  local add_fix
  if [[ $catalogued == true ]]; then
    add_fix="${create} (adds missing keys, keeps existing values)"
  else
    add_fix="kubectl patch secret ${name} -n ${ns} --type=merge --patch-file=<file with {\"stringData\":{\"<key>\":\"<value>\"}}, umask 077>"
  fi
  if [[ -n $missing_required ]]; then
    qy_verdict FAIL 'secrets' "Secret ${name} lacks key(s):${missing_required}" "$add_fix"
  elif [[ -n $missing_optional ]]; then
    qy_verdict WARN 'secrets' "Secret ${name} lacks optional key(s):${missing_optional}" "$add_fix"
  else
    qy_verdict PASS 'secrets' "Secret ${name} has ${keys_list:-its keys}"
  fi
}

# ---- checks against the cluster (they need QY_FACTS, QY_ENV, QY_NAMESPACE) ----

qy_check_server_version() {
  local raw git_version
  if ! raw=$(qy_kubectl get --raw /version 2>&1); then
    qy_verdict FAIL 'server version' "cannot reach the API server: $(head -1 <<<"$raw")" "check the context and your credentials: kubectl cluster-info"
    return
  fi
  git_version=$(sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p' <<<"$raw" | head -1)
  qy_server_version_verdict "$git_version"
}

qy_check_crds() {
  local needed installed
  needed=$(qy_facts crd group version kind | sort -u)
  [[ -z $needed ]] && {
    qy_crd_verdicts '' ''
    return
  }
  # shellcheck disable=SC2016 # a Go template, not shell
  installed=$(qy_kubectl get customresourcedefinitions.apiextensions.k8s.io -o go-template='{{range .items}}{{.spec.group}}{{"\t"}}{{.spec.names.kind}}{{"\t"}}{{range .spec.versions}}{{if .served}}{{.name}},{{end}}{{end}}{{"\t"}}{{range .status.conditions}}{{if eq .type "Established"}}{{.status}}{{end}}{{end}}{{"\n"}}{{end}}' 2>&1) || {
    qy_verdict FAIL 'CRDs' "cannot list CRDs: $(head -1 <<<"$installed")" "check your RBAC: kubectl auth can-i list customresourcedefinitions"
    return
  }
  qy_crd_verdicts "$needed" "$installed"
}

qy_check_ingress() {
  local classes class ingress have
  classes=$(qy_facts ingress-class class ingress | sort -u)
  if [[ -n $classes ]]; then
    have=$(qy_kubectl get ingressclasses.networking.k8s.io -o go-template='{{range .items}}{{.metadata.name}}{{"\n"}}{{end}}' 2>/dev/null || true)
    while IFS=$'\t' read -r class ingress; do
      if grep -qx -- "$class" <<<"$have"; then
        qy_verdict PASS 'ingress' "IngressClass '${class}' exists (Ingress ${ingress})"
      else
        qy_verdict FAIL 'ingress' "IngressClass '${class}' of Ingress ${ingress} does not exist" "install the ingress controller, or set edge.ingressClassName in config/environments.ts (kubectl get ingressclass)"
      fi
    done <<<"$classes"
  fi
  local gateways ns name route
  gateways=$(qy_facts gateway namespace name route | sort -u -t$'\t' -k1,2)
  while IFS=$'\t' read -r ns name route; do
    [[ -n $name ]] || continue
    if qy_kubectl get gateways.gateway.networking.k8s.io "$name" -n "$ns" -o name >/dev/null 2>&1; then
      qy_verdict PASS 'ingress' "Gateway ${ns}/${name} exists (HTTPRoute ${route})"
    else
      qy_verdict FAIL 'ingress' "Gateway ${ns}/${name}, parent of HTTPRoute ${route}, does not exist" "create the Gateway, or set edge.gateway in config/environments.ts"
    fi
  done <<<"$gateways"
  [[ -n $classes || -n $gateways ]] || qy_verdict PASS 'ingress' 'the manifests expose nothing through an Ingress or Gateway'
}

qy_check_metrics_server() {
  local hpas status severity=FAIL
  local name
  hpas=''
  while IFS= read -r name; do [[ -n $name ]] && hpas+="${hpas:+, }${name}"; done < <(qy_facts hpa name)
  [[ -n $hpas ]] || return 0
  [[ $QY_ENV == development ]] && severity=WARN
  status=$(qy_kubectl get apiservices.apiregistration.k8s.io v1beta1.metrics.k8s.io -o go-template='{{range .status.conditions}}{{if eq .type "Available"}}{{.status}}{{end}}{{end}}' 2>/dev/null) || status=missing
  case $status in
    True) qy_verdict PASS 'metrics-server' "metrics.k8s.io is Available for the HPAs (${hpas})" ;;
    missing) qy_verdict "$severity" 'metrics-server' "metrics-server is not installed: the HPAs (${hpas}) could never scale" "install metrics-server (kubectl apply -f https://github.com/kubernetes-sigs/metrics-server/releases/latest/download/components.yaml, or the distribution's add-on)" ;;
    *) qy_verdict "$severity" 'metrics-server' "APIService v1beta1.metrics.k8s.io is not Available (${status:-no status}): the HPAs (${hpas}) cannot read CPU" "kubectl describe apiservice v1beta1.metrics.k8s.io; kubectl -n kube-system logs deploy/metrics-server" ;;
  esac
}

qy_check_storage() {
  local uses classes
  uses=$(qy_facts storage-class class user)
  [[ -n $uses ]] || {
    qy_storage_verdicts '' ''
    return
  }
  classes=$(qy_kubectl get storageclasses.storage.k8s.io -o go-template='{{range .items}}{{.metadata.name}}{{"\t"}}{{with .metadata.annotations}}{{index . "storageclass.kubernetes.io/is-default-class"}}{{end}}{{"\n"}}{{end}}' 2>/dev/null || true)
  qy_storage_verdicts "$uses" "$classes"
}

# The secret catalogue as TSV (scripts/secrets-catalog.mjs), or QINGYU_SECRETS_CATALOG, a file
# exported earlier with `node scripts/secrets-catalog.mjs --format tsv` (automation, tests).
qy_secret_catalogue() {
  if [[ -n ${QINGYU_SECRETS_CATALOG:-} ]]; then
    cat -- "$QINGYU_SECRETS_CATALOG"
  else
    node "$QY_ROOT/scripts/secrets-catalog.mjs" --env "$QY_ENV" --format tsv
  fi
}

# Reads one Secret's type and key names (never the values) into QY_LIVE_STATE/TYPE/KEYS.
qy_read_secret_keys() {
  local name=$1 out
  # shellcheck disable=SC2016 # a Go template, not shell
  if out=$(qy_kubectl get secret "$name" -n "$QY_NAMESPACE" -o go-template='{{.type}}{{"\n"}}{{range $k, $v := .data}}{{$k}}{{"\n"}}{{end}}' 2>&1); then
    QY_LIVE_STATE=present
    QY_LIVE_TYPE=${out%%$'\n'*}
    QY_LIVE_KEYS=$(qy_join , "${out#*$'\n'}")
  elif [[ $out == *NotFound* || $out == *'not found'* ]]; then
    QY_LIVE_STATE=missing QY_LIVE_TYPE='' QY_LIVE_KEYS=''
  else
    QY_LIVE_STATE="error:${out%%$'\n'*}" QY_LIVE_TYPE='' QY_LIVE_KEYS=''
  fi
}

qy_check_secrets() {
  local catalogue name type issuer need refs catalogued
  catalogue=${QY_CATALOGUE:-$(qy_secret_catalogue)}
  local secrets
  secrets=$(qy_facts secret name type source presence)
  [[ -n $secrets ]] || {
    qy_verdict PASS 'secrets' 'the manifests reference no Secret'
    return
  }
  local key_lines s k o
  key_lines=$(qy_facts secret-key secret key presence)
  while IFS=$'\t' read -r name type issuer need; do
    refs=''
    while IFS=$'\t' read -r s k o; do
      [[ $s == "$name" ]] && refs+="${refs:+,}${k}:${o}"
    done <<<"$key_lines"
    catalogued=false
    [[ $'\n'"${catalogue}" == *$'\n'"secret"$'\t'"${name}"$'\t'* ]] && catalogued=true
    qy_read_secret_keys "$name"
    qy_secret_verdict "$QY_ENV" "$QY_NAMESPACE" "$name" "$type" "$issuer" "$need" "$refs" "$catalogued" "$QY_LIVE_STATE" "$QY_LIVE_TYPE" "$QY_LIVE_KEYS"
  done <<<"$secrets"
}

# Alert routing verdicts in kube-prometheus-stack mode: the manifests carry an
# AlertmanagerConfig but no Alertmanager of their own, so a live one must select it (its
# alertmanagerConfigSelector and namespace selector), or alerts are never routed to a person.
qy_check_alert_routing() {
  local kind name labels has_config='' config_labels='' own=false
  while IFS=$'\t' read -r kind name labels; do
    [[ $kind == AlertmanagerConfig ]] && has_config=$name && config_labels=$labels
    [[ $kind == Alertmanager ]] && own=true
  done < <(qy_facts object kind name labels)
  [[ -n $has_config ]] || return 0
  if [[ $own == true ]]; then
    qy_verdict PASS 'alerting' "the platform's own Alertmanager loads AlertmanagerConfig ${has_config}"
    return
  fi
  local ams nsjson lines
  ams=$(mktemp) nsjson=$(mktemp)
  if ! qy_kubectl get alertmanagers.monitoring.coreos.com -A -o json >"$ams" 2>/dev/null ||
    ! qy_kubectl get namespace "$QY_NAMESPACE" -o json >"$nsjson" 2>/dev/null; then
    rm -f "$ams" "$nsjson"
    qy_verdict WARN 'alerting' "cannot list the cluster's Alertmanagers: whether one routes AlertmanagerConfig ${has_config} is unknown" "kubectl auth can-i list alertmanagers.monitoring.coreos.com -A"
    return
  fi
  lines=$(qy_manifests alertmanager-selection "$ams" "$nsjson" "$config_labels") || lines=''
  rm -f "$ams" "$nsjson"
  local am selects why found=''
  while IFS=$'\t' read -r am selects why; do
    [[ -n $am ]] || continue
    if [[ $selects == yes ]]; then
      qy_verdict PASS 'alerting' "Alertmanager ${am} loads AlertmanagerConfig ${has_config}"
      found=yes
    else
      qy_verdict WARN 'alerting' "Alertmanager ${am} ignores AlertmanagerConfig ${has_config}: ${why}" \
        "set monitoring.stackAlertmanagerConfigLabels in config/environments.ts to labels its alertmanagerConfigSelector matches (kubectl get alertmanager -n ${am%%/*} ${am#*/} -o yaml), or widen its selectors"
    fi
  done <<<"$lines"
  [[ -n $found || -n $lines ]] ||
    qy_verdict WARN 'alerting' "no Alertmanager runs in the cluster: the platform's alerts fire but reach nobody" "install kube-prometheus-stack with its Alertmanager, or use monitoring.mode 'own'"
  return 0
}

# All preflight checks, as verdict lines. Needs QY_FACTS, QY_ENV, QY_NAMESPACE, QY_CONTEXT.
qy_preflight_verdicts() {
  qy_context_verdict "$QY_ENV" "$QY_CONTEXT" "${QY_FORCE_CONTEXT:-false}"
  qy_check_server_version
  qy_check_crds
  qy_check_ingress
  qy_check_metrics_server
  qy_check_storage
  qy_check_secrets
  qy_check_alert_routing
}

# Prints verdict lines for people; returns 1 when any is FAIL.
qy_print_verdicts() {
  local verdicts=$1 status check message fix failed=0
  while IFS=$'\t' read -r status check message fix; do
    [[ -n $status ]] || continue
    case $status in
      PASS) printf '  %s %-15s %s\n' "${QY_GREEN}PASS${QY_RESET}" "$check" "$message" >&2 ;;
      WARN) printf '  %s %-15s %s\n' "${QY_YELLOW}WARN${QY_RESET}" "$check" "$message" >&2 ;;
      *)
        printf '  %s %-15s %s\n' "${QY_RED}FAIL${QY_RESET}" "$check" "$message" >&2
        failed=1
        ;;
    esac
    [[ -z $fix || $status == PASS ]] || printf '       %-15s fix: %s\n' '' "$fix" >&2
  done <<<"$verdicts"
  return "$failed"
}
