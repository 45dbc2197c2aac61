/**
 * `npm run bench` (issue 5): this server and the Python original (CWA's kosync.py, shared/oracle) on
 * identical temp copies of the fixtures, driven one after the other with the same load (50 clients,
 * HTTP Basic as admin, pbkdf2:sha256:260000, pulls and pushes of matched books); the same PUTs in a
 * tight SQLite loop without HTTP; start-to-healthy time; and pulls while another process holds
 * app.db's write lock. Then (issue 17) the open loop: the floor and this server at a fixed rate, with
 * latency counted from when each request was due (bench/open-loop-phase.ts). Prints Markdown tables
 * with the issues' targets. Bounded: about 3 minutes with the original, 2 without.
 *
 *   npm run bench [-- --no-oracle] [--rate <requests/s, 500>] [--open-seconds <per phase, 15>]
 */
import { loadavg } from 'node:os';
import { openLoopTables, runOpenLoop } from './open-loop-phase.js';
import { lockScenario, type LockScenarioResult } from './lock-scenario.js';
import { runLoad, type LoadResult } from './load.js';
import { describeMachine, pressure } from './machine.js';
import { rawPutRate } from './raw-sqlite.js';
import {
  copyFixtures,
  memoryOf,
  oracleAvailable,
  type Files,
  type Server,
  type SidecarOptions,
  startOracle,
  startSidecar,
} from './servers.js';
import { warm } from './warm.js';
import { WORKLOADS, type WorkloadName } from './workload.js';

const CONNECTIONS = 50;
const SIDECAR_SECONDS = 5;
/** The original answers a handful per second: longer phases so its percentiles rest on enough answers. */
const ORACLE_SECONDS = 10;
const STARTS = 5;
const RAW_LOOP_MS = 3000;
const LOCK_SECONDS = 3;
const LOCK_PUSHES = 20;
const PHASES: WorkloadName[] = ['get', 'put', 'mix'];
/** The same warm GETs with one setting changed, to show what the defaults cost. */
const VARIANTS: { name: string; options: SidecarOptions }[] = [
  { name: 'access log off (`KOSYNC_LOG_LEVEL=warn`)', options: { env: { KOSYNC_LOG_LEVEL: 'warn' } } },
  {
    name: "V8's default heap growth (node flags that override the program's heap settings)",
    options: { nodeArgs: ['--semi-space-growth-factor=2', '--heap-growing-percent=0'] },
  },
];

interface VariantRun {
  name: string;
  get: LoadResult;
  peakRss: number;
}

interface ServerRun {
  load: Record<WorkloadName, LoadResult>;
  /** MiB resident after each phase, the peak over the whole run, and the private part at the end. */
  rss: Record<WorkloadName, number>;
  peakRss: number;
  anonRss: number;
}

/** PUTs per second of the same SQLite work without HTTP, with a commit per PUT and per 50. */
interface PhysicalLimit {
  single: number;
  grouped: number;
}

const log = (line: string) => process.stderr.write(`# ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function drive(server: Server, seconds: number, timeoutSeconds: number): Promise<ServerRun> {
  await warm(server);
  const load = {} as ServerRun['load'];
  const rss = {} as ServerRun['rss'];
  for (const phase of PHASES) {
    log(`  ${phase}: ${CONNECTIONS} clients, ${seconds} s`);
    load[phase] = await runLoad({
      origin: server.origin,
      requests: WORKLOADS[phase],
      connections: CONNECTIONS,
      durationSeconds: seconds,
      timeoutSeconds,
    });
    rss[phase] = memoryOf(server.pid).rss;
    await sleep(500);
  }
  const memory = memoryOf(server.pid);
  return { load, rss, peakRss: memory.peak, anonRss: memory.anon };
}

async function sidecarStartTimes(): Promise<number[]> {
  const files = copyFixtures('start');
  try {
    const times: number[] = [];
    for (let i = 0; i < STARTS; i++) {
      const server = await startSidecar(files);
      times.push(server.readyMs);
      await server.stop();
    }
    return times;
  } finally {
    files.remove();
  }
}

async function withServer<T>(files: Files, start: (files: Files) => Promise<Server>, use: (server: Server) => Promise<T>): Promise<T> {
  try {
    const server = await start(files);
    try {
      return await use(server);
    } finally {
      await server.stop();
    }
  } finally {
    files.remove();
  }
}

// ---- report ----

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const ms = (n: number) => `${fmt(n, n < 10 ? 2 : 1)} ms`;
const mark = (met: boolean | undefined) => (met === undefined ? 'n/a' : met ? '**met**' : '**not met**');
const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function loadTable(sidecar: ServerRun, oracle: ServerRun | undefined, raw: PhysicalLimit): string[] {
  const ratio = (ours: number, theirs: number | undefined) => (theirs === undefined || theirs === 0 ? undefined : ours / theirs);
  const lines = [
    row(['Workload (50 clients)', 'Metric', 'Sidecar', 'Python original', 'Sidecar ÷ original', 'Target', 'Met']),
    row(['---', '---', '---:', '---:', '---:', '---', '---']),
  ];
  for (const phase of PHASES) {
    const ours = sidecar.load[phase];
    const theirs = oracle?.load[phase];
    const r = ratio(ours.rate, theirs?.rate);
    const rateTarget = phase === 'get' ? 100 : phase === 'put' ? 20 : undefined;
    const p99Target = phase === 'get' ? 5 : phase === 'put' ? 20 : undefined;
    const name = { get: 'GET (warm pull)', put: 'PUT (progress + read status)', mix: 'mix: 4 GET : 1 PUT' }[phase];
    lines.push(
      row([
        name,
        'requests/s',
        fmt(ours.rate),
        theirs ? fmt(theirs.rate) : 'not run',
        times(r),
        rateTarget ? `≥ ${rateTarget}× original` : '',
        rateTarget ? mark(r === undefined ? undefined : r >= rateTarget) : '',
      ]),
      row(['', 'p50 latency', ms(ours.p50), theirs ? ms(theirs.p50) : '', times(ratio(ours.p50, theirs?.p50)), '', '']),
      row([
        '',
        'p99 latency',
        ms(ours.p99),
        theirs ? ms(theirs.p99) : '',
        times(ratio(ours.p99, theirs?.p99)),
        p99Target ? `≤ ${p99Target} ms` : '',
        p99Target ? mark(ours.p99 <= p99Target) : '',
      ]),
      row([
        '',
        'errors (non-2xx, failed, timed out)',
        String(ours.errors),
        theirs ? `${theirs.errors}${statusNote(theirs)}` : '',
        '',
        '',
        '',
      ]),
      row([
        '',
        'server RSS after phase',
        `${fmt(sidecar.rss[phase])} MiB`,
        oracle ? `${fmt(oracle.rss[phase])} MiB` : '',
        times(ratio(sidecar.rss[phase], oracle?.rss[phase])),
        '',
        '',
      ]),
    );
  }
  lines.push(
    row([
      'whole run',
      'peak RSS (VmHWM)',
      `${fmt(sidecar.peakRss)} MiB`,
      oracle ? `${fmt(oracle.peakRss)} MiB` : '',
      times(ratio(sidecar.peakRss, oracle?.peakRss)),
      '≤ 80 MB',
      mark(sidecar.peakRss * 1.048576 <= 80),
    ]),
    row([
      '',
      'private memory at end (RssAnon)',
      `${fmt(sidecar.anonRss)} MiB`,
      oracle ? `${fmt(oracle.anonRss)} MiB` : '',
      times(ratio(sidecar.anonRss, oracle?.anonRss)),
      '',
      '',
    ]),
    row(['physical limit', 'same PUTs in a tight SQLite loop, no HTTP: a commit per PUT', `${fmt(raw.single)} /s`, '', '', '', '']),
    row(['', 'sidecar PUT rate ÷ that loop', `${fmt((100 * sidecar.load.put.rate) / raw.single, 0)} %`, '', '', '', '']),
    row(['', 'same loop, 50 PUTs per commit (the server groups at most 50 here)', `${fmt(raw.grouped)} /s`, '', '', '', '']),
    row([
      '',
      'sidecar PUT rate ÷ grouped loop',
      `${fmt((100 * sidecar.load.put.rate) / raw.grouped, 0)} %`,
      '',
      '',
      '≥ 50 %',
      mark(sidecar.load.put.rate / raw.grouped >= 0.5),
    ]),
  );
  return lines;
}

/** A ratio with enough digits to read whether it is 300× or 1/300. */
function times(r: number | undefined): string {
  if (r === undefined) return '–';
  return `${r >= 10 ? fmt(r, 0) : r >= 0.1 ? fmt(r, 2) : r.toPrecision(2)}×`;
}

function statusNote(result: LoadResult): string {
  const odd = Object.entries(result.statuses).filter(([status]) => !status.startsWith('2'));
  return odd.length ? ` (${odd.map(([status, count]) => `${count}× ${status}`).join(', ')})` : '';
}

function variantTable(sidecar: ServerRun, variants: VariantRun[]): string[] {
  return [
    row(['Sidecar, warm GETs (50 clients)', 'requests/s', 'p50', 'p99', 'peak RSS']),
    row(['---', '---:', '---:', '---:', '---:']),
    row([
      'defaults (as above)',
      fmt(sidecar.load.get.rate),
      ms(sidecar.load.get.p50),
      ms(sidecar.load.get.p99),
      `${fmt(sidecar.peakRss)} MiB (whole run)`,
    ]),
    ...variants.map((v) => row([v.name, fmt(v.get.rate), ms(v.get.p50), ms(v.get.p99), `${fmt(v.peakRss)} MiB`])),
  ];
}

function startTable(sidecarTimes: number[], oracleReadyMs: number | undefined): string[] {
  return [
    row(['Start', 'Sidecar', 'Python original', 'Target', 'Met']),
    row(['---', '---:', '---:', '---', '---']),
    row([
      `process start → healthy (median of ${sidecarTimes.length}; all: ${sidecarTimes.map((t) => fmt(t, 0)).join(', ')} ms)`,
      ms(median(sidecarTimes)),
      oracleReadyMs === undefined ? 'not run' : `${ms(oracleReadyMs)} (to READY)`,
      '≤ 500 ms',
      mark(median(sidecarTimes) <= 500),
    ]),
  ];
}

function lockTable(result: LockScenarioResult): string[] {
  const { gets, puts } = result;
  return [
    row(['Another process holds the write lock', 'Measured', 'Target', 'Met']),
    row(['---', '---:', '---', '---']),
    row(['lock held', ms(result.heldMs), '3 s', '']),
    row([`GETs during it (${CONNECTIONS} clients, remembered login): requests/s`, fmt(gets.rate), '', '']),
    row(['GET p50 / p99', `${ms(gets.p50)} / ${ms(gets.p99)}`, 'p99 ≤ 50 ms', mark(gets.p99 <= 50)]),
    row(['GET errors', String(gets.errors), '', '']),
    row([
      `PUTs sent while locked`,
      `${puts.ok} of ${puts.sent} answered 200 (statuses: ${puts.statuses.join(', ')})`,
      'every PUT completes after release',
      mark(puts.ok === puts.sent),
    ]),
    row(['last PUT answered after the release', ms(puts.lastAfterReleaseMs), '', '']),
    row(['slowest PUT', ms(puts.slowestMs), '', '']),
  ];
}

async function main(): Promise<void> {
  const withOracle = !process.argv.includes('--no-oracle') && oracleAvailable();
  const rate = numberArgument('--rate', 500);
  const openSeconds = numberArgument('--open-seconds', 15);
  const machine = describeMachine();
  for (const line of machine) log(line);

  log(`sidecar: ${STARTS} starts to healthy`);
  const startTimes = await sidecarStartTimes();

  log('sidecar: load phases');
  const sidecar = await withServer(
    copyFixtures('sidecar'),
    (f) => startSidecar(f),
    (server) => drive(server, SIDECAR_SECONDS, 10),
  );

  log(`physical limit: ${RAW_LOOP_MS} ms each of the same PUTs in a SQLite loop, a commit per 1 and per 50`);
  const rawFiles = copyFixtures('raw');
  const raw: PhysicalLimit = { single: rawPutRate(rawFiles, RAW_LOOP_MS, 1), grouped: rawPutRate(rawFiles, RAW_LOOP_MS, CONNECTIONS) };
  rawFiles.remove();

  log(`sidecar: write lock held by another process for ${LOCK_SECONDS} s`);
  const lockFiles = copyFixtures('lock');
  const lock = await withServer(
    lockFiles,
    (f) => startSidecar(f),
    async (server) => {
      await warm(server);
      return lockScenario(server, lockFiles, LOCK_SECONDS, CONNECTIONS, LOCK_PUSHES);
    },
  );

  const variants: VariantRun[] = [];
  for (const variant of VARIANTS) {
    log(`sidecar variant: ${variant.name}`);
    variants.push(
      await withServer(
        copyFixtures('variant'),
        (f) => startSidecar(f, variant.options),
        async (server) => {
          await warm(server);
          const get = await runLoad({
            origin: server.origin,
            requests: WORKLOADS.get,
            connections: CONNECTIONS,
            durationSeconds: SIDECAR_SECONDS,
          });
          return { name: variant.name, get, peakRss: memoryOf(server.pid).peak };
        },
      ),
    );
  }

  // Before the original, whose 50 threads are the heaviest load of the run.
  const openLoop = await runOpenLoop({ rate, seconds: openSeconds }, undefined, log);

  let oracle: ServerRun | undefined;
  let oracleReadyMs: number | undefined;
  if (withOracle) {
    log('Python original: load phases');
    try {
      ({ oracle, oracleReadyMs } = await withServer(copyFixtures('oracle'), startOracle, async (server) => ({
        oracle: await drive(server, ORACLE_SECONDS, 30),
        oracleReadyMs: server.readyMs,
      })));
    } catch (error) {
      // e.g. run.sh exits 3 when python3-flask & co. are missing; the sidecar's numbers still stand.
      log(`Python original: not measured: ${(error as Error).message}`);
    }
  } else {
    log('Python original: not run (--no-oracle, or shared/oracle/run.sh or /usr/bin/python3 missing)');
  }

  const report = [
    '```',
    ...machine,
    `load average at end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    `pressure at end: ${pressure()}`,
    '```',
    '',
    ...loadTable(sidecar, oracle, raw),
    '',
    ...variantTable(sidecar, variants),
    '',
    ...startTable(startTimes, oracleReadyMs),
    '',
    ...lockTable(lock),
    '',
    ...openLoopTables(openLoop),
    '',
  ];
  process.stdout.write(`${report.join('\n')}\n`);
}

/** `--name <number>` from the command line, or the default. */
function numberArgument(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!(value > 0)) throw new Error(`${name} needs a positive number`);
  return value;
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
