import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', '*/test/**/*.test.ts'],
    // One Elasticsearch node per test run, shared by every suite (test/global-setup.ts).
    globalSetup: ['test/global-setup.ts'],
    // Two cores: suites in two forks keep the node and the tests from starving each other.
    pool: 'forks',
    maxWorkers: 2,
    // CI logs name every test, so the log shows which store each suite ran against.
    reporters: process.env.CI === 'true' ? ['verbose'] : ['default'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
