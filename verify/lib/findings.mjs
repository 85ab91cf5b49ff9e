// Normalize one validator's raw output into findings, and apply that tool's exceptions.
//
//   node verify/lib/findings.mjs <tool> <raw-output> <conf> <facts.tsv> <env>
//
// stdout: one line per finding: "excepted|finding <TAB> Kind/name <TAB> rule <TAB> message",
// then a last line "accepted <TAB> N <TAB> of <TAB> M": objects the tool accepted (no finding
// that is not excepted) out of the objects in the files.
//
// <conf> is verify/<tool>.conf: lines "except RULE OBJECT REASON..." (OBJECT is Kind/name, where
// * matches anything: Deployment/*, */mongodb, *; or Kind[label=value], every object of that kind
// carrying the label, e.g. Deployment[qingyu.io/tier=app]; !OBJECT is every object but those,
// e.g. !LimitRange/* for a check that only means LimitRanges; OBJECT@env limits it to one
// environment); every exception must give its reason. <facts.tsv> is scripts/lib/manifests.mjs
// facts of the same files: its object records, read by field name.
import { readFileSync } from 'node:fs';

const [tool, rawFile, confFile, factsFile, env = ''] = process.argv.slice(2);
const raw = readFileSync(rawFile, 'utf8');

const factLines = readFileSync(factsFile, 'utf8').split('\n').filter(Boolean).map((line) => line.split('\t'));
const objectFields = factLines.find((f) => f[0] === '#fields' && f[1] === 'object')?.slice(2) ?? [];
const objects = factLines
  .filter((f) => f[0] === 'object')
  .map((f) => {
    const o = Object.fromEntries(objectFields.map((name, i) => [name, f[i + 1]]));
    const labels = new Set(o.labels === '-' ? [] : o.labels.split(','));
    return { apiVersion: o.apiVersion, kind: o.kind, name: o.name, labels, key: `${o.kind}/${o.name}` };
  });
if (!objects.length) {
  process.stderr.write(`${factsFile}: no object facts\n`);
  process.exit(2);
}

// Tools print kinds lower-cased or not: map any spelling back to the object's Kind/name.
const byKey = new Map(objects.map((o) => [o.key.toLowerCase(), o.key]));
const canonical = (kind, name) => byKey.get(`${kind}/${name}`.toLowerCase()) ?? `${kind}/${name}`;

const exceptions = [];
readFileSync(confFile, 'utf8')
  .split('\n')
  .forEach((line, i) => {
    const words = line.trim().split(/\s+/);
    if (words[0] !== 'except') return;
    if (words.length < 4) {
      process.stderr.write(`${confFile}:${i + 1}: "except RULE OBJECT REASON": the reason is missing\n`);
      process.exit(2);
    }
    const [spec, onlyEnv] = words[2].split('@');
    if (onlyEnv && onlyEnv !== env) return;
    const negated = spec.startsWith('!');
    const object = negated ? spec.slice(1) : spec;
    const byLabel = /^([A-Za-z]+)\[([^=\]]+=[^\]]*)\]$/.exec(object);
    const match = byLabel
      ? {
        test: (key) => objects.some((o) => o.key.toLowerCase() === key.toLowerCase() && o.kind === byLabel[1] && o.labels.has(byLabel[2])),
      }
      : new RegExp(`^${object.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
    // !OBJECT: every object but those; never a finding about no object ('-').
    const glob = negated ? { test: (key) => key !== '-' && !match.test(key) } : match;
    exceptions.push({ rule: words[1], glob, line: i + 1, used: false });
  });

const findings = [];
const add = (object, rule, message) => findings.push({ object, rule, message: message.replace(/\s+/g, ' ').trim() });

const parsers = {
  kubeconform() {
    for (const r of JSON.parse(raw).resources ?? []) {
      // An empty document (a file with no object) reports an empty status.
      if (['statusValid', 'statusSkipped', 'statusEmpty', ''].includes(r.status ?? '')) continue;
      const object = canonical(r.kind, r.name);
      // validationErrors can be a bare "validation failed" with the detail only in msg.
      const detailed = (r.validationErrors ?? []).filter((e) => e.path);
      const msg = (r.msg ?? '').replace(/^.*jsonschema validation failed with '[^']*' - /, '');
      const errors = detailed.length ? detailed : [{ path: '', msg }];
      for (const e of errors) add(object, r.status === 'statusError' ? 'error' : 'schema', `${e.path} ${e.msg}`);
    }
  },
  'kube-score'() {
    // --output-format json (v2). Grades (scorecard.Grade): 1 critical, 5 warning, 7 almost OK, 10 OK.
    for (const o of JSON.parse(raw) ?? []) {
      const object = canonical(o.type_meta?.kind, o.object_meta?.name);
      for (const c of o.checks ?? []) {
        if (c.skipped || c.grade > 5) continue;
        const detail = (c.comments ?? []).map((m) => `${m.path ? `${m.path}: ` : ''}${m.summary}`).join('; ');
        add(object, c.check.id, `${c.grade === 1 ? 'CRITICAL' : 'WARNING'} ${c.check.name}${detail ? `: ${detail}` : ''}`);
      }
    }
  },
  trivy() {
    // `trivy config --format json` on one file an object, each named Kind_name.yaml by
    // validators.sh ("_" is in no Kubernetes name): a result's Target is its object. Every file
    // Trivy read and checked has a result (MisconfSummary), failures or not: fewer results than
    // objects means a file it skipped.
    const results = (JSON.parse(raw).Results ?? []).filter((r) => r.Class === 'config');
    if (results.length < objects.length) {
      add('-', 'not-scanned', `trivy checked ${results.length} of the ${objects.length} objects: a file was not read as Kubernetes YAML`);
    }
    for (const r of results) {
      const m = /^(?:.*\/)?([A-Za-z0-9]+)_(.+)\.yaml$/.exec(r.Target ?? '');
      const object = m ? canonical(m[1], m[2]) : '-';
      for (const c of r.Misconfigurations ?? []) {
        if (c.Status !== 'FAIL') continue;
        add(object, c.ID, `${c.Severity} ${c.Title}: ${c.Message}`);
      }
    }
  },
  kubesec() {
    // An array of `kubesec scan --format json` outputs, one a file, each an array of reports with
    // object "Kind/name.namespace" (namespaces hold no dot; names may). A report that is not
    // valid failed kubesec's schema check (kubeconform), and then no rule ran on it. Critical
    // rules (negative points) matched; advise rules (positive points) did not, and every kind
    // kubesec scores (Pod, Deployment, StatefulSet, DaemonSet) hears them: both are findings.
    for (const r of JSON.parse(raw).flat()) {
      const m = /^([^/]+)\/(.*)\.[^.]*$/.exec(r.object ?? '');
      const object = m ? canonical(m[1], m[2]) : '-';
      if (!r.valid) add(object, 'schema', r.message ?? 'kubesec: not valid');
      for (const c of r.scoring?.critical ?? []) add(object, c.id, `CRITICAL ${c.reason} (${c.selector}, ${c.points} points)`);
      for (const c of r.scoring?.advise ?? []) add(object, c.id, `ADVISE ${c.reason} (${c.selector})`);
    }
  },
  checkov() {
    const reports = [JSON.parse(raw)].flat();
    // checkov skips a file its YAML parser (PyYAML, YAML 1.1) cannot load without a word, and
    // counts no parsing error: a missing file shows only as fewer resources than objects.
    const read = reports.reduce((n, r) => n + (r.summary?.resource_count ?? 0), 0);
    if (read < objects.length) {
      add('-', 'not-parsed', `checkov read ${read} resources of the ${objects.length} objects: a file did not load (PyYAML reads YAML 1.1: a bare = is a tag)`);
    }
    for (const report of reports) {
      for (const c of report.results?.failed_checks ?? []) {
        // resource: Kind.namespace.name (names may hold dots).
        const [kind, , ...rest] = c.resource.split('.');
        add(canonical(kind, rest.join('.')), c.check_id, c.check_name);
      }
    }
  },
  'kubernetes-validate'() {
    // kubernetes-validate has no schema for custom resources: kubeconform and the API server
    // check those against the CRDs, so "couldn't find schema" for a CRD's group (QY_CRD_GROUPS,
    // space-separated) is no finding.
    const crdGroups = new Set((process.env.QY_CRD_GROUPS ?? '').split(/\s+/).filter(Boolean));
    for (const line of raw.split('\n')) {
      const bad = /^ERROR \S+ did not validate for resource ([^/\s]+)\/(\S+) against version \S+: (.*)$/.exec(line);
      if (bad) add(canonical(bad[1], bad[2]), 'schema', bad[3]);
      else if (/^ERROR /.test(line)) add('-', 'error', line.slice(6));
      else {
        const missing = /^WARN .*Couldn't find schema for kind \S+ with api version (\S+)\//.exec(line);
        if (missing && !crdGroups.has(missing[1])) add('-', 'no-schema', line.slice(5));
      }
    }
  },
};

if (!parsers[tool]) {
  process.stderr.write(`findings: unknown tool ${tool}\n`);
  process.exit(2);
}
parsers[tool]();

findings.sort((a, b) => a.object.localeCompare(b.object) || a.rule.localeCompare(b.rule) || a.message.localeCompare(b.message));
const failing = new Set();
for (const f of findings) {
  const ex = exceptions.find((e) => (e.rule === f.rule || e.rule === '*') && e.glob.test(f.object));
  if (ex) ex.used = true;
  else failing.add(f.object);
  process.stdout.write(`${ex ? 'excepted' : 'finding'}\t${f.object}\t${f.rule}\t${f.message}\n`);
}
for (const e of exceptions.filter((x) => !x.used)) {
  process.stderr.write(`  note: ${confFile}:${e.line}: exception for ${e.rule} matched nothing here\n`);
}
const accepted = objects.filter((o) => !failing.has(o.key)).length - (failing.has('-') ? objects.length : 0);
process.stdout.write(`accepted\t${Math.max(accepted, 0)}\tof\t${objects.length}\n`);
