import { App, Chart, Testing } from 'cdk8s';

import { ENVIRONMENTS, PlatformConfig, ResourceSpec } from '../../config';
import { Component } from '../../lib/component';
import { isInputError } from '../../lib/errors';
import { FlowTable, peerName } from '../../lib/flows';
import { Scraper, serviceMonitor } from '../../lib/metrics';
import { PlatformChart } from '../../lib/platform-chart';
import { catalogueSecrets, SecretSpec } from '../../lib/secrets';
import { composePlatform } from '../../main';
import { K8sObject } from './synth';

/**
 * A small platform for unit tests: the development environment, renamed so that no test can
 * pass by matching a shipped environment's literals. Unit tests state expectations in terms of
 * the config they built from.
 */
export const SMALL: PlatformConfig = {
  ...ENVIRONMENTS.development,
  environment: 'development',
  namespace: 'unit',
  clusterDomain: 'cluster.test',
};

/** `config` with one top-level section replaced. */
export function withSection<K extends keyof PlatformConfig>(config: PlatformConfig, key: K, value: PlatformConfig[K]): PlatformConfig {
  return { ...config, [key]: value };
}

/** The fully qualified name of Service `name` in `config`'s namespace. */
export function fqdn(config: PlatformConfig, name: string): string {
  return `${name}.${config.namespace}.svc.${config.clusterDomain}`;
}

/** An empty PlatformChart for constructing one construct at a time. */
export function scratchChart(config: PlatformConfig = SMALL): PlatformChart {
  return new PlatformChart(Testing.app(), 'scratch', { platform: config });
}

/** A stand-in scraper (a shared stack's Prometheus) for units tested without the monitoring chart. */
export const TEST_SCRAPER: Scraper = {
  peer: { kind: 'namespace', namespace: 'monitoring', description: 'prometheus' },
  selectionLabels: { release: 'test' },
};

/** Scrapes `targets` with the test scraper, as the monitoring unit's `scrape` does. */
export function scrapeForTest(...targets: Component[]): void {
  for (const t of targets) serviceMonitor(t, TEST_SCRAPER);
}

/** The objects of one chart. */
export function objectsOf(chart: Chart): K8sObject[] {
  return Testing.synth(chart) as K8sObject[];
}

/** Every flow of the app `chart` belongs to, as `from -> to:port`. */
export function flowsOf(chart: Chart): string[] {
  return FlowTable.of(chart).flows.map((f) => `${peerName(f.from)} -> ${peerName(f.to)}:${f.port}`);
}

/**
 * What composing the whole platform with `config` ends with: the one line bad input is reported
 * as (`error: ` left out), or undefined when it composes. A bug (any other error) fails the test.
 */
export function compositionError(config: PlatformConfig): string | undefined {
  try {
    const app = new App({ outdir: '/dev/null', recordConstructMetadata: false });
    composePlatform(app, config);
    app.charts.forEach((c) => c.toJson());
    return undefined;
  } catch (error) {
    if (isInputError(error)) return error.message;
    throw error;
  }
}

/** A ResourceSpec as the manifests render it. */
export function renderedResources(spec: ResourceSpec): { requests: Record<string, string>; limits: Record<string, string> } {
  const of = (cpu: number, mem: number, eph: number) => ({ 'cpu': `${cpu}m`, 'memory': `${mem}Mi`, 'ephemeral-storage': `${eph}Mi` });
  return {
    requests: of(spec.cpuMillis.request, spec.memoryMiB.request, spec.ephemeralStorageMiB.request),
    limits: of(spec.cpuMillis.limit, spec.memoryMiB.limit, spec.ephemeralStorageMiB.limit),
  };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parser } = require('@prometheus-io/lezer-promql');

/** Parse errors of a PromQL expression (empty when it is valid). */
export function promqlErrors(expr: string): string[] {
  const errors: string[] = [];
  parser.parse(expr).iterate({
    enter: (node: any) => {
      if (node.type.isError) errors.push(`error at ${node.from}: '${expr.slice(Math.max(0, node.from - 10), node.to + 10)}'`);
    },
  });
  return errors;
}

/**
 * Every Secret the platform may reference for `config`: the fixed catalogue and the client
 * credentials its composition makes (what `scripts/secrets-catalog.mjs --env` prints).
 */
export function catalogueFor(config: PlatformConfig): SecretSpec[] {
  composePlatform(new App({ outdir: '/dev/null', recordConstructMetadata: false }), config);
  return catalogueSecrets();
}
