# shellcheck shell=bash
# Check 3, Prometheus (the operator-made Prometheus of the platform, real Prometheus at the
# YAML's version): every ServiceMonitor target of a running component is up; every rule group
# of the qingyu-alerts PrometheusRule is loaded and each rule evaluated without error; the
# MongoDB-down alert fires (MongoDB cannot run here: this is the proof the alert works). Read
# through the API server's service proxy. Registered to run after check 6: the alert needs its
# `for:` (5 minutes) after Prometheus starts, which the checks before fill.

QY_PROM_TIMEOUT="${QY_PROM_TIMEOUT:-600}"

_prom_api() { qy_api_get "/api/v1/namespaces/$QY_NS/services/prometheus:web/proxy/api/v1/$1"; }

# The components that run here: ServiceMonitor jobs whose pods have all their images.
_prom_running_jobs() {
  local absent_repos job sel images
  while IFS=$'\t' read -r job sel; do
    sel="${sel/,qingyu.io\/metrics=true/}"
    images="$(kc -n "$QY_NS" get pods -l "$sel,!qingyu.verify/role" -o jsonpath='{range .items[*]}{range .spec.containers[*]}{.image}{"\n"}{end}{end}' | sort -u)"
    absent_repos="$(qy_pimg_absent | cut -f1)"
    if [[ -n "$images" ]] && ! grep -qxF -f <(printf '%s\n' "$absent_repos") <<<"$images"; then
      printf '%s\n' "$job"
    fi
  done < <(node "$QY_PIMG_SRC/lib/platform.mjs" servicemonitors "$QY_DIST")
}

# _prom_targets_up JOBS...: every active target of these jobs up (and at least one per job).
_prom_targets_up() {
  # shellcheck disable=SC2016 # JavaScript, not shell
  _prom_api targets | qy_json '(() => {
    const jobs = process.argv[2].split(" ");
    const t = j.data.activeTargets;
    const bad = [];
    for (const job of jobs) {
      const mine = t.filter((x) => x.labels.job === job);
      if (!mine.length) bad.push(`${job}: no target`);
      for (const x of mine) if (x.health !== "up") bad.push(`${job} ${x.labels.pod ?? x.labels.instance}: ${x.health} ${x.lastError}`);
    }
    if (bad.length) { console.log(bad.join("\n")); process.exit(1); }
    return jobs.map((job) => `${job}:${t.filter((x) => x.labels.job === job).length}`).join(" ");
  })()' "$*"
}

# _prom_rules_ok: every group loaded, every rule evaluated (health ok).
_prom_rules_ok() {
  # shellcheck disable=SC2016 # JavaScript, not shell
  _prom_api rules | qy_json '(() => {
    const groups = j.data.groups;
    const rules = groups.flatMap((g) => g.rules.map((r) => ({ ...r, group: g.name })));
    const bad = rules.filter((r) => r.health !== "ok" || r.lastError);
    if (!groups.length || bad.length) {
      console.log(groups.length ? bad.map((r) => `${r.group}/${r.name}: ${r.health} ${r.lastError ?? ""}`).join("\n") : "no rule group loaded");
      process.exit(1);
    }
    return `${groups.length} groups, ${rules.length} rules evaluating without errors (${groups.map((g) => g.name).join(", ")})`;
  })()'
}

# _prom_mongodb_alert: the MongoDB-down alert (QingyuComponentDown, job mongodb) firing.
_prom_mongodb_alert() {
  # shellcheck disable=SC2016 # JavaScript, not shell
  _prom_api alerts | qy_json '(() => {
    const a = j.data.alerts.filter((x) => x.labels.alertname === "QingyuComponentDown" && x.labels.job === "mongodb");
    const firing = a.find((x) => x.state === "firing");
    if (!firing) { console.log(a.length ? `QingyuComponentDown{job="mongodb"} is ${a[0].state} since ${a[0].activeAt}` : "QingyuComponentDown{job=\"mongodb\"} not active"); process.exit(1); }
    const others = j.data.alerts.filter((x) => x.state === "firing").map((x) => `${x.labels.alertname}{${x.labels.job ?? x.labels.pod ?? ""}}`);
    return `QingyuComponentDown{job="mongodb"} firing since ${firing.activeAt}; firing: ${[...new Set(others)].join(" ")}`;
  })()'
}

check_prometheus() {
  local jobs out fail=0 all
  qy_platform_settled || return 1
  mapfile -t jobs < <(_prom_running_jobs)
  all="$(node "$QY_PIMG_SRC/lib/platform.mjs" servicemonitors "$QY_DIST" | cut -f1 | paste -sd' ')"
  if out="$(qy_wait 180 _prom_targets_up "${jobs[@]}")"; then
    echo "  targets up: $out"
  else
    echo "  targets not up after 180s:"; qy_indent '    ' <<<"$out"; fail=1
  fi
  local job
  for job in $all; do
    [[ " ${jobs[*]} " == *" $job "* ]] || echo "  not judged: $job (its image is absent here)"
  done
  if out="$(qy_wait 120 _prom_rules_ok)"; then echo "  rules: $out"; else echo "  rules:"; qy_indent '    ' <<<"$out"; fail=1; fi
  if out="$(qy_wait "$QY_PROM_TIMEOUT" _prom_mongodb_alert)"; then echo "  alert: $out"; else echo "  alert: $out"; fail=1; fi
  ((fail == 0)) || return 1
  echo "${#jobs[@]} ServiceMonitor jobs up, rules evaluating without errors, the MongoDB-down alert fires"
}
qy_check 65 "3-prometheus" check_prometheus
