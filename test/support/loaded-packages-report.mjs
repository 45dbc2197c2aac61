// Preloaded into a server run by test/optional-features-loading.test.ts (`node --import`): records the
// npm packages the program imports (through node's module resolution hook), and prints them sorted on
// stderr as `packages a,b,c` when the process exits.
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const packages = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (name) => packages.add(name));
port1.unref();
register(new URL('./loaded-packages-hook.mjs', import.meta.url), { data: { port: port2 }, transferList: [port2] });

process.on('exit', () => {
  // Messages still queued from the loader thread are delivered before the exit handlers run out.
  process.stderr.write(`packages ${[...packages].sort().join(',')}\n`);
});
