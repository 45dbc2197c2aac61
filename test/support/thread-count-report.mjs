// Preloaded into a CLI run by test/launch-flags.test.ts (`NODE_OPTIONS=--import`): when the process
// exits, prints how many threads it has (node's main thread, V8's background threads, libuv's) on
// stderr as `threads <n>`.
import { readdirSync } from 'node:fs';

process.on('exit', () => {
  process.stderr.write(`threads ${readdirSync('/proc/self/task').length}\n`);
});
