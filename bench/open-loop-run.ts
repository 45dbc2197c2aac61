/**
 * `npm run bench:open`: the open-loop phase of `npm run bench` alone, and the tool for A/B runs.
 *
 *   npm run bench:open [-- --rate 500] [--seconds 15] [--repeat N] [--setup SPEC]...
 *
 * Without --setup: `npm start` and the image, as in `npm run bench`. Each --setup is one server,
 * `label,item,item…` where an item is `cli=<path to a built dist/src/cli.js>` (another build, e.g. a
 * checkout of an older commit with its own node_modules), `plain` (`npm start`'s environment: no
 * NODE_OPTIONS, no NODE_ENV), `--flag` (a flag for node, e.g. --cpu-prof or --trace-gc) or `NAME=value`
 * (an environment override, e.g. KOSYNC_LOG_LEVEL=warn).
 * --repeat runs the setups that many times in turn (A B A B…), so each comparison shares a moment.
 */
import { describeMachine, pressure } from './machine.js';
import { DEFAULT_SETUPS, openLoopTables, runOpenLoop, type SidecarSetup } from './open-loop-phase.js';

function parse(argv: string[]): { rate: number; seconds: number; repeat: number; setups: SidecarSetup[] } {
  let rate = 500;
  let seconds = 15;
  let repeat = 1;
  const setups: SidecarSetup[] = [];
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    const number = () => {
      const n = Number(value);
      if (!(n > 0)) throw new Error(`${argv[i]} needs a positive number`);
      i++;
      return n;
    };
    if (argv[i] === '--rate') rate = number();
    else if (argv[i] === '--seconds') seconds = number();
    else if (argv[i] === '--repeat') repeat = number();
    else if (argv[i] === '--setup' && value) {
      setups.push(setupOf(value));
      i++;
    } else throw new Error(`unknown argument ${argv[i]}`);
  }
  return { rate, seconds, repeat, setups: setups.length ? setups : DEFAULT_SETUPS };
}

function setupOf(spec: string): SidecarSetup {
  const [name, ...items] = spec.split(',');
  const env: Record<string, string | undefined> = {};
  let cli: string | undefined;
  const nodeArgs: string[] = [];
  for (const item of items) {
    if (item.startsWith('--')) nodeArgs.push(item);
    else if (item === 'plain') Object.assign(env, { NODE_OPTIONS: undefined, NODE_ENV: undefined });
    else if (item.startsWith('cli=')) cli = item.slice(4);
    else if (item.includes('=')) env[item.slice(0, item.indexOf('='))] = item.slice(item.indexOf('=') + 1);
    else throw new Error(`--setup ${spec}: "${item}" is not cli=…, plain, --node-flag or NAME=value`);
  }
  return { name: name!, options: { env, nodeArgs, ...(cli ? { cli } : {}) } };
}

async function main(): Promise<void> {
  const { rate, seconds, repeat, setups } = parse(process.argv.slice(2));
  const machine = describeMachine();
  for (const line of machine) process.stderr.write(`# ${line}\n`);
  const order = Array.from({ length: repeat }, (_, run) =>
    setups.map((s) => (repeat > 1 ? { ...s, name: `${s.name} #${run + 1}` } : s)),
  ).flat();
  const report = await runOpenLoop({ rate, seconds }, order, (line) => process.stderr.write(`# ${line}\n`));
  process.stdout.write(['```', ...machine, `pressure at end: ${pressure()}`, '```', '', ...openLoopTables(report), ''].join('\n'));
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
