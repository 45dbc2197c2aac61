#!/usr/bin/env -S node --v8-pool-size=1
import { applyHeapSettings } from './cli/heap-settings.js';

// Before the rest of the program is loaded: loading it is what would first grow the young generation.
applyHeapSettings(process.execArgv, process.env.NODE_OPTIONS);
const { main } = await import('./cli/main.js');

main({ argv: process.argv.slice(2), env: process.env, stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`calibre-web-kosync: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
