import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Run by test/system-switch.test.ts alone, in a vitest of its own.
    exclude: [...configDefaults.exclude, 'test/system-switch/**'],
    globalSetup: ['test/support/metadata-guard.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
