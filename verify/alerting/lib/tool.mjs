// The parts of verify/alerting/run.sh that read YAML/JSON or talk HTTP (see ../README.md for the
// file formats). Every subcommand prints its errors on stderr and exits 1 on a failed check,
// 2 on a malformed input.
//
//   node tool.mjs prepare WORK_DIR WEBHOOK_BASE GROUP_WAIT
//       WORK_DIR holds a copy of a case: write the secret files that alertmanager.yaml names and
//       alertmanager.live.yaml (the same configuration, every group_wait longer than GROUP_WAIT
//       cut to it).
//   node tool.mjs coverage RULES_YAML TEST_YAML
//       every alert of the rule file has an alert_rule_test that expects it to fire.
//   node tool.mjs routes ROUTES_JSON
//       one line per route test: NAME <TAB> RECEIVERS(comma-joined) <TAB> LABEL ARG <TAB> ...
//   node tool.mjs scenarios INHIBITION_JSON
//       the scenario names, one per line.
//   node tool.mjs scenario INHIBITION_JSON INDEX AM_URL WEBHOOK_BASE GROUP_WAIT_MS SETTLE_MS
//       run scenario INDEX (0-based) against a fresh Alertmanager and check what it delivered
//       and what it shows as inhibited.
//   node tool.mjs ready URL TIMEOUT_MS
//       wait until URL answers 200 (exit 1 after TIMEOUT_MS).
//   node tool.mjs extract-rules FILE_OR_DIR...
//       print a Prometheus rule file holding the spec.groups of every PrometheusRule found in
//       the synthesized YAML (a dist/ directory or files).
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { parse, parseAllDocuments, stringify } from 'yaml';

class InputError extends Error {}
const die = (msg) => {
  throw new InputError(msg);
};

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return die(`${file}: ${e.message}`);
  }
}

function readYaml(file) {
  try {
    return parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return die(`${file}: ${e.message}`);
  }
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function onlyKeys(obj, allowed, where) {
  if (!isObject(obj)) die(`${where}: must be an object`);
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) die(`${where}: unknown key '${k}' (allowed: ${allowed.join(', ')})`);
  }
}

function labelSet(obj, where, { needAlertname = false } = {}) {
  if (!isObject(obj) || Object.keys(obj).length === 0) die(`${where}: must be a non-empty object of labels`);
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v !== 'string') die(`${where}.${k}: label values must be strings`);
    if (/[\t\n]/.test(k + v)) die(`${where}.${k}: no tabs or newlines in labels`);
  }
  if (needAlertname && !obj.alertname) die(`${where}: needs an 'alertname' label`);
  return obj;
}

// ---------------------------------------------------------------------------------------------
// prepare

const UNIT_MS = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3, y: 31536000e3 };

// A Prometheus/Alertmanager duration ("0s", "30s", "1h30m") in milliseconds.
function durationMs(d, where) {
  if (typeof d !== 'string' || !/^(\d+(ms|s|m|h|d|w|y))+$/.test(d)) die(`${where}: not a duration: '${d}'`);
  let ms = 0;
  for (const [, n, unit] of d.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) ms += Number(n) * UNIT_MS[unit];
  return ms;
}

const SECRET_PATH = /^secrets\/[A-Za-z0-9._-]+$/;

function prepare(workDir, webhookBase, groupWait) {
  const file = join(workDir, 'alertmanager.yaml');
  const config = readYaml(file);
  if (!isObject(config) || !isObject(config.route) || !Array.isArray(config.receivers)) {
    die(`${file}: needs 'route' and 'receivers'`);
  }
  const secrets = new Map(); // relative path -> content

  const addSecret = (path, content, where) => {
    if (typeof path !== 'string') die(`${where}: must be a string`);
    if (!SECRET_PATH.test(path)) {
      die(`${where}: '${path}' must be a relative path 'secrets/<name>' (the runner writes it)`);
    }
    if (secrets.has(path) && secrets.get(path) !== content) {
      die(`${where}: '${path}' is used for two different values`);
    }
    secrets.set(path, content);
  };

  // Every `*_file` value anywhere under `node`: an URL file gets the recorder's URL for the
  // receiver, any other file (keys, tokens, passwords) a dummy value.
  const walk = (node, where, receiver) => {
    if (Array.isArray(node)) return node.forEach((v, i) => walk(v, `${where}[${i}]`, receiver));
    if (!isObject(node)) return;
    for (const [k, v] of Object.entries(node)) {
      const at = `${where}.${k}`;
      if (k.endsWith('_file')) {
        const isUrl = k.endsWith('url_file');
        const url = `${webhookBase}/${encodeURIComponent(receiver ?? '_global')}`;
        addSecret(v, isUrl ? `${url}\n` : `qingyu-test-${String(v).split('/').pop()}\n`, at);
      } else {
        walk(v, at, receiver);
      }
    }
  };

  const names = new Set();
  config.receivers.forEach((r, i) => {
    const where = `receivers[${i}]`;
    if (!isObject(r) || typeof r.name !== 'string' || !r.name) die(`${where}: needs a 'name'`);
    if (names.has(r.name)) die(`${where}: duplicate receiver '${r.name}'`);
    names.add(r.name);
    (r.webhook_configs ?? []).forEach((w, j) => {
      if (w.url !== undefined) {
        die(`${where} (${r.name}).webhook_configs[${j}]: use 'url_file: secrets/<name>', not a literal 'url'`);
      }
      if (w.url_file === undefined) die(`${where} (${r.name}).webhook_configs[${j}]: needs 'url_file'`);
    });
    walk(r, `${where} (${r.name})`, r.name);
  });
  for (const [k, v] of Object.entries(config)) {
    if (k !== 'receivers' && k !== 'route') walk(v, k, undefined);
  }

  mkdirSync(join(workDir, 'secrets'), { recursive: true });
  for (const [path, content] of secrets) writeFileSync(join(workDir, path), content, { mode: 0o600 });

  // The live copy: every group_wait (root and child routes) longer than GROUP_WAIT cut to it, so
  // a scenario waits seconds, not the rendered 30s. Nothing else changes.
  const live = structuredClone(config);
  const limit = durationMs(groupWait, 'GROUP_WAIT');
  const shorten = (route, where) => {
    if (route.group_wait !== undefined && durationMs(route.group_wait, `${where}.group_wait`) > limit) {
      route.group_wait = groupWait;
    }
    (route.routes ?? []).forEach((child, i) => shorten(child, `${where}.routes[${i}]`));
  };
  live.route.group_wait ??= '30s'; // Alertmanager's default for the root
  shorten(live.route, 'route');
  writeFileSync(join(workDir, 'alertmanager.live.yaml'), stringify(live));
}

// ---------------------------------------------------------------------------------------------
// coverage

function coverage(rulesFile, testFile) {
  const rules = readYaml(rulesFile);
  const tests = readYaml(testFile);
  if (!isObject(rules) || !Array.isArray(rules.groups)) die(`${rulesFile}: needs 'groups'`);
  if (!isObject(tests) || !Array.isArray(tests.tests)) die(`${testFile}: needs 'tests'`);
  const alerts = new Set(rules.groups.flatMap((g) => (g.rules ?? []).map((r) => r.alert).filter(Boolean)));
  const firing = new Set();
  for (const t of tests.tests) {
    for (const a of t.alert_rule_test ?? []) {
      if ((a.exp_alerts ?? []).length > 0) firing.add(a.alertname);
    }
  }
  const missing = [...alerts].filter((a) => !firing.has(a)).sort();
  if (missing.length > 0) {
    console.error(`alerts with no test that expects them to fire: ${missing.join(', ')}`);
    process.exitCode = 1;
  }
  const unknown = [...firing].filter((a) => !alerts.has(a)).sort();
  if (unknown.length > 0) {
    console.error(`tests expect alerts that no rule defines: ${unknown.join(', ')}`);
    process.exitCode = 1;
  }
  if (!process.exitCode) console.log(`${alerts.size} alerts, each with a firing test`);
}

// ---------------------------------------------------------------------------------------------
// routes

function routes(file) {
  const cases = readJson(file);
  if (!Array.isArray(cases) || cases.length === 0) die(`${file}: must be a non-empty array`);
  cases.forEach((c, i) => {
    const where = `${file}[${i}]`;
    onlyKeys(c, ['name', 'labels', 'receivers'], where);
    const labels = labelSet(c.labels, `${where}.labels`);
    if (!Array.isArray(c.receivers) || c.receivers.length === 0) die(`${where}.receivers: a non-empty array`);
    for (const r of c.receivers) {
      if (typeof r !== 'string' || !r || /[,\t\n]/.test(r)) die(`${where}.receivers: '${r}' (no commas/tabs)`);
    }
    const name = c.name ?? Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
    if (typeof name !== 'string' || /[\t\n]/.test(name)) die(`${where}.name: a one-line string`);
    const args = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
    console.log([name, c.receivers.join(','), ...args].join('\t'));
  });
}

// ---------------------------------------------------------------------------------------------
// inhibition scenarios

function loadScenarios(file) {
  const scenarios = readJson(file);
  if (!Array.isArray(scenarios) || scenarios.length === 0) die(`${file}: must be a non-empty array`);
  const names = new Set();
  scenarios.forEach((s, i) => {
    const where = `${file}[${i}]`;
    onlyKeys(s, ['name', 'fire', 'expect'], where);
    if (typeof s.name !== 'string' || !s.name || /[\t\n]/.test(s.name)) die(`${where}.name: a one-line string`);
    if (names.has(s.name)) die(`${where}.name: duplicate '${s.name}'`);
    names.add(s.name);
    if (!Array.isArray(s.fire) || s.fire.length === 0) die(`${where}.fire: a non-empty array`);
    s.fire.forEach((a, j) => {
      onlyKeys(a, ['labels', 'annotations'], `${where}.fire[${j}]`);
      labelSet(a.labels, `${where}.fire[${j}].labels`, { needAlertname: true });
      if (a.annotations !== undefined) labelSet(a.annotations, `${where}.fire[${j}].annotations`);
    });
    onlyKeys(s.expect, ['delivered', 'suppressed'], `${where}.expect`);
    if (!Array.isArray(s.expect.delivered)) die(`${where}.expect.delivered: an array`);
    s.expect.delivered.forEach((d, j) => {
      onlyKeys(d, ['receiver', 'alertname'], `${where}.expect.delivered[${j}]`);
      if (typeof d.receiver !== 'string' || typeof d.alertname !== 'string') {
        die(`${where}.expect.delivered[${j}]: 'receiver' and 'alertname' strings`);
      }
    });
    if (!Array.isArray(s.expect.suppressed) || s.expect.suppressed.some((a) => typeof a !== 'string')) {
      die(`${where}.expect.suppressed: an array of alert names`);
    }
  });
  return scenarios;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function http(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

const pairKey = (receiver, alertname) => `${receiver} <- ${alertname}`;

async function scenario(file, index, amUrl, hookBase, groupWaitMs, settleMs) {
  const s = loadScenarios(file)[Number(index)];
  if (!s) die(`${file}: no scenario ${index}`);
  await http('POST', `${hookBase}/_reset`);
  const now = Date.now();
  await http(
    'POST',
    `${amUrl}/api/v2/alerts`,
    s.fire.map((a) => ({
      labels: a.labels,
      annotations: a.annotations ?? {},
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + 3600_000).toISOString(),
    })),
  );

  // Wait until every expected notification is in (at most group_wait + 10 s), then SETTLE_MS
  // more for any that should not come.
  const expected = new Set(s.expect.delivered.map((d) => pairKey(d.receiver, d.alertname)));
  const delivered = async () => {
    const got = new Set();
    for (const d of await http('GET', `${hookBase}/_deliveries`)) {
      for (const a of d.alerts) if (a.status === 'firing') got.add(pairKey(d.receiver, a.alertname));
    }
    return got;
  };
  const deadline = now + groupWaitMs + 10_000;
  let got = await delivered();
  if (expected.size === 0) {
    await sleep(Math.max(0, now + groupWaitMs - Date.now()));
  } else {
    while (![...expected].every((k) => got.has(k)) && Date.now() < deadline) {
      await sleep(100);
      got = await delivered();
    }
  }
  await sleep(settleMs);
  got = await delivered();

  const alerts = await http('GET', `${amUrl}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true`);
  const suppressed = new Set(
    alerts
      .filter((a) => a.status?.state === 'suppressed' && (a.status.inhibitedBy ?? []).length > 0)
      .map((a) => a.labels.alertname),
  );
  const wantSuppressed = new Set(s.expect.suppressed);

  const problems = [];
  if (alerts.length !== s.fire.length) {
    problems.push(`Alertmanager holds ${alerts.length} alerts, ${s.fire.length} were posted`);
  }
  for (const k of expected) if (!got.has(k)) problems.push(`not delivered: ${k}`);
  for (const k of got) if (!expected.has(k)) problems.push(`delivered, not expected: ${k}`);
  for (const a of wantSuppressed) if (!suppressed.has(a)) problems.push(`not inhibited: ${a}`);
  for (const a of suppressed) if (!wantSuppressed.has(a)) problems.push(`inhibited, not expected: ${a}`);
  const summary = `delivered [${[...got].sort().join('; ')}], inhibited [${[...suppressed].sort().join(', ')}]`;
  if (problems.length > 0) {
    for (const p of problems) console.error(p);
    console.error(summary);
    process.exitCode = 1;
  } else {
    console.log(summary);
  }
}

// ---------------------------------------------------------------------------------------------
// extract-rules

function yamlFiles(path) {
  if (statSync(path).isDirectory()) {
    return readdirSync(path)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => join(path, f));
  }
  return [path];
}

function extractRules(paths) {
  const groups = [];
  for (const file of paths.flatMap(yamlFiles)) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      if (doc.errors.length > 0) die(`${file}: ${doc.errors[0].message}`);
      const o = doc.toJS();
      if (o?.kind === 'PrometheusRule' && String(o.apiVersion).startsWith('monitoring.coreos.com/')) {
        groups.push(...(o.spec?.groups ?? []));
      }
    }
  }
  if (groups.length === 0) die(`no PrometheusRule in ${paths.join(' ')}`);
  process.stdout.write(stringify({ groups }, { lineWidth: 0 }));
}

// ---------------------------------------------------------------------------------------------

const [cmd, ...args] = process.argv.slice(2);
try {
  switch (cmd) {
    case 'prepare':
      prepare(args[0], args[1], args[2]);
      break;
    case 'coverage':
      coverage(args[0], args[1]);
      break;
    case 'routes':
      routes(args[0]);
      break;
    case 'scenarios':
      for (const s of loadScenarios(args[0])) console.log(s.name);
      break;
    case 'scenario':
      await scenario(args[0], args[1], args[2], args[3], Number(args[4]), Number(args[5]));
      break;
    case 'ready': {
      const until = Date.now() + Number(args[1]);
      for (;;) {
        try {
          if ((await fetch(args[0])).ok) break;
        } catch {
          // not listening yet
        }
        if (Date.now() > until) {
          console.error(`${args[0]} not ready after ${args[1]} ms`);
          process.exit(1);
        }
        await sleep(50);
      }
      break;
    }
    case 'extract-rules':
      extractRules(args);
      break;
    default:
      die(`unknown command '${cmd}'`);
  }
} catch (e) {
  console.error(e instanceof InputError ? e.message : e.stack);
  process.exit(e instanceof InputError ? 2 : 1);
}
