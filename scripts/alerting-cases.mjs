// `node scripts/alerting-cases.mjs OUT`: the alerting proofs of every environment, in the input
// format of verify/alerting/run.sh (verify/alerting/README.md), one case directory each:
//
//   OUT/<case>/dist/                 the synthesized output (what `npm run synth` writes)
//   OUT/<case>/rules.yaml            the groups of its PrometheusRules, as Prometheus loads them
//   OUT/<case>/rules.test.yaml       promtool tests: every alert fires on its failing series with
//                                    the expected labels and annotations, and is quiet on healthy ones
//   OUT/<case>/routes.test.json      where each kind of alert must go, from the configuration
//   OUT/<case>/inhibition.test.json  one live scenario per inhibition
//
// Cases: production, staging, development (monitoring.mode own) and production-stack (the same
// alerts and AlertmanagerConfig for a kube-prometheus-stack's Alertmanager). The
// alertmanager.yaml of each case is rendered from dist/ by the operator's own code
// (verify/alerting/amconfig), not here: the cases must not share code with what they test.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { stringify } from 'yaml';

import { compileIfStale } from './compile.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

const CASES = {
  production: { QINGYU_ENV: 'production' },
  staging: { QINGYU_ENV: 'staging' },
  development: { QINGYU_ENV: 'development' },
  'production-stack': { QINGYU_ENV: 'production', QINGYU_CONFIG_OVERRIDES: JSON.stringify({ monitoring: { mode: 'kube-prometheus-stack' } }) },
};

const [outArg, ...only] = process.argv.slice(2);
if (!outArg || only.some((c) => !(c in CASES))) {
  process.stderr.write(`usage: node scripts/alerting-cases.mjs OUT [${Object.keys(CASES).join(' | ')}]...\n`);
  process.exit(2);
}
await compileIfStale();
const { App } = require('cdk8s');
const { loadConfig } = require(join(root, 'build', 'config', 'index.js'));
const { composePlatform } = require(join(root, 'build', 'main.js'));
const { promtoolTests, routeCases, inhibitionScenarios } = require(join(root, 'build', 'charts', 'monitoring', 'alert-tests.js'));

const json = (value) => `${JSON.stringify(value, null, 2)}\n`;

for (const name of only.length ? only : Object.keys(CASES)) {
  const dir = join(resolve(outArg), name);
  mkdirSync(join(dir, 'dist'), { recursive: true });
  const config = loadConfig(CASES[name]);
  const app = new App({ outdir: join(dir, 'dist'), recordConstructMetadata: false });
  const charts = composePlatform(app, config);
  app.synth();
  const monitoring = charts.find((c) => c.node.id === 'monitoring');
  const rendered = charts.flatMap((c) => c.rendered);
  const groups = rendered.filter((o) => o.kind === 'PrometheusRule').flatMap((r) => r.spec.groups);
  const amConfig = rendered.find((o) => o.kind === 'AlertmanagerConfig');
  writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }, { lineWidth: 0 }));
  const tests = promtoolTests(monitoring.alerts.groups, { namespace: config.namespace, runbookBaseUrl: monitoring.alerts.runbookBaseUrl });
  writeFileSync(join(dir, 'rules.test.yaml'), stringify(tests, { lineWidth: 0 }));
  const alerting = config.monitoring.alerting;
  writeFileSync(join(dir, 'routes.test.json'), json(routeCases(alerting, config.namespace, amConfig.metadata.name)));
  writeFileSync(join(dir, 'inhibition.test.json'), json(inhibitionScenarios(alerting, config.namespace, amConfig.metadata.name)));
  process.stdout.write(`${dir}: ${groups.flatMap((g) => g.rules).length} rules, ${tests.tests.length} promtool tests\n`);
}
