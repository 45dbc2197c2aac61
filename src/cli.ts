#!/usr/bin/env node
import { main } from './cli/main.js';

main({ argv: process.argv.slice(2), env: process.env, stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`calibre-web-kosync: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
