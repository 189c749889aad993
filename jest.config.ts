import type { Config } from 'jest';

const transform: Config['transform'] = { '^.+\\.ts$': '@swc/jest' };

const config: Config = {
  // Jest reads testTimeout from the top level only (the e2e project's own setting alone is ignored).
  testTimeout: 30_000,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  projects: [
    {
      displayName: 'unit',
      rootDir: '.',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/src/**/*.spec.ts'],
    },
    {
      displayName: 'e2e',
      rootDir: '.',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      setupFiles: ['<rootDir>/test/support/env.ts'],
      testTimeout: 30_000,
    },
  ],
};

export default config;
