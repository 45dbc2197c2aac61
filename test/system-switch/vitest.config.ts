import { defineConfig } from 'vitest/config';

/** Runs only the probe of test/system-switch.test.ts. */
export default defineConfig({ test: { include: ['test/system-switch/probe.test.ts'], reporters: ['verbose'] } });
