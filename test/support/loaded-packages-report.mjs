// Preloaded into a server run by test/optional-features-loading.test.ts (`node --import`): records the
// npm packages the program imports (ES modules through node's resolution hook, CommonJS ones from
// require's cache), and prints them sorted on stderr as `packages a,b,c` when the process exits.
import { createRequire, register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const packages = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (name) => packages.add(name));
port1.unref();
register(new URL('./loaded-packages-hook.mjs', import.meta.url), { data: { port: port2 }, transferList: [port2] });

const PACKAGE = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//;

process.on('exit', () => {
  for (const file of Object.keys(createRequire(import.meta.url).cache)) {
    const inPackage = PACKAGE.exec(file);
    if (inPackage) packages.add(inPackage[1]);
  }
  process.stderr.write(`packages ${[...packages].sort().join(',')}\n`);
});
