import type { Config } from 'jest';

const transform: Config['transform'] = { '^.+\\.ts$': '@swc/jest' };

const config: Config = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  // A global option: Jest ignores it inside a project (the e2e tests ran with the default 5 s).
  testTimeout: 30_000,
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
    },
  ],
};

export default config;
