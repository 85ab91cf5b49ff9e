/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // swc transpiles without type checking (tsc does that in `npm run lint`/`build`): far faster
  // than ts-jest (`npm run bench` measures the suite).
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }] },
  // Jest's default is one worker per core but one: a single worker on a 2-core machine. Half the
  // suite's time is spent waiting on child processes (the ops scripts, the CLI), so a worker per
  // core is faster there.
  maxWorkers: '100%',
  // A test's time limit is there to end a hang, not to measure speed (`npm run bench` does). The
  // ops tests run the real scripts (many bash and kubectl-fake processes): "asks only for the
  // keys the environment reads" takes 3 s on an idle 2-core machine, close to the 5 s default
  // for a suite that CI runs beside its builds (verify/prebuild.sh).
  testTimeout: 30_000,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  moduleFileExtensions: ['ts', 'js', 'json'],
  snapshotFormat: { escapeString: false, printBasicPrototype: false },
};
