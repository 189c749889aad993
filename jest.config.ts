import type { Config } from 'jest';

const transform: Config['transform'] = { '^.+\\.ts$': '@swc/jest' };

const config: Config = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  // Read from the top level only (a project's own setting is ignored). Generous: e2e tests boot
  // applications and processes on a shared, noisy 2-core machine. Time is never asserted.
  testTimeout: 60_000,
  projects: [
    {
      displayName: 'unit',
      rootDir: '.',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/bench/**/*.spec.ts'],
    },
    {
      displayName: 'e2e',
      rootDir: '.',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      setupFiles: ['<rootDir>/test/support/env.ts'],
    },
    {
      // The chaos run (issue 9): 300 orders in `npm test` (and `npm run chaos:ci`), 5,000 with
      // `npm run chaos` (CHAOS_ORDERS sets the size).
      displayName: 'chaos',
      rootDir: '.',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/chaos/**/*.e2e-spec.ts'],
      setupFiles: ['<rootDir>/test/support/env.ts'],
    },
  ],
};

export default config;
