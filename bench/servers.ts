import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { LAUNCH_FLAGS } from '../src/cli/heap-settings.js';
import { PROJECT_ROOT } from '../src/paths.js';
import type { ProbeWindow } from './probe-window.js';

export const FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures');
export const SIDECAR_CLI = join(PROJECT_ROOT, 'dist', 'src', 'cli.js');
export const FLOOR_SERVER = join(PROJECT_ROOT, 'dist', 'bench', 'floor-server.js');
export const LOOP_PROBE = join(PROJECT_ROOT, 'dist', 'bench', 'loop-probe.js');
export const ORACLE = join(PROJECT_ROOT, '..', 'shared', 'oracle', 'run.sh');
const READY_TIMEOUT_MS = 30_000;

/** What the Docker image runs node with: `ENV NODE_ENV` and, if it sets one, `NODE_OPTIONS` of docker/Dockerfile. */
export const IMAGE_ENV = imageEnv(readFileSync(join(PROJECT_ROOT, 'docker', 'Dockerfile'), 'utf8'));

function imageEnv(dockerfile: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['NODE_ENV', 'NODE_OPTIONS']) {
    const value = new RegExp(`^\\s*(?:ENV\\s+)?${name}=("([^"]*)"|\\S+)`, 'm').exec(dockerfile);
    if (value) env[name] = value[2] ?? value[1]!;
  }
  if (!env.NODE_ENV) throw new Error('docker/Dockerfile sets no NODE_ENV');
  return env;
}

/** A temp copy of Calibre-Web's app.db and the CWA library (metadata.db with book_format_checksums). */
export interface Files {
  dir: string;
  appDb: string;
  library: string;
  metadataDb: string;
  remove(): void;
}

export function copyFixtures(label: string): Files {
  const dir = mkdtempSync(join(tmpdir(), `kosync-bench-${label}-`));
  cpSync(join(FIXTURES, 'calibre-web', 'app.db'), join(dir, 'app.db'));
  const library = join(dir, 'library');
  cpSync(join(FIXTURES, 'calibre-cwa'), library, { recursive: true });
  return {
    dir,
    appDb: join(dir, 'app.db'),
    library,
    metadataDb: join(library, 'metadata.db'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface Server {
  origin: string;
  pid: number;
  /** Milliseconds from spawning the process to it being ready (healthy or READY). */
  readyMs: number;
  stop(): Promise<void>;
  /** The event-loop and GC probe, when the server was started with it. */
  probe?: Probe;
}

export interface Probe {
  /** Starts a new window. */
  reset(): Promise<void>;
  /** Event-loop delay, collections and CPU since the last reset. */
  read(): Promise<ProbeWindow>;
}

/** A free loopback port (the servers log to a file, so the port is chosen here, not read back). */
async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  probe.close();
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

function status(url: string): Promise<number> {
  return new Promise((resolve) => {
    const request = get(url, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', () => resolve(0));
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

export interface SidecarOptions {
  /** Overrides of the image's environment (IMAGE_ENV), e.g. `NODE_OPTIONS: ''` for `npm start`'s plain node. */
  env?: Record<string, string | undefined>;
  /** Preload bench/loop-probe.js and open an IPC channel to it (`Server.probe`). */
  probe?: boolean;
  /** node's own flags before the script (e.g. `--cpu-prof`, `--trace-gc`, V8 heap flags). */
  nodeArgs?: string[];
  /** The CLI to run: this build's unless another build is compared (bench/open-loop-run.ts --cli). */
  cli?: string;
}

/**
 * The built CLI as the Docker image and `npm start` run it (IMAGE_ENV, node's LAUNCH_FLAGS), logging at its default level (info) to a
 * file; `options.env` may override any of it. Ready = the first
 * 200 from `/kosync/healthcheck`, polled every 2 ms from the moment the process is spawned.
 */
export async function startSidecar(files: Files, options: SidecarOptions = {}): Promise<Server> {
  const port = await freePort();
  return spawnServer(
    [...LAUNCH_FLAGS, ...(options.nodeArgs ?? []), options.cli ?? SIDECAR_CLI, 'serve'],
    {
      PATH: process.env.PATH ?? '',
      KOSYNC_APP_DB: files.appDb,
      KOSYNC_LIBRARY: files.library,
      KOSYNC_STATE_DB: join(files.dir, 'kosync.db'),
      KOSYNC_HOST: '127.0.0.1',
      KOSYNC_PORT: String(port),
      ...IMAGE_ENV,
      ...options.env,
    },
    port,
    join(files.dir, 'sidecar.log'),
    options.probe ?? false,
  );
}

/** The open-loop bench's floor (bench/floor-server.ts), plain node, with the probe. */
export async function startFloor(dir: string): Promise<Server> {
  const port = await freePort();
  return spawnServer([FLOOR_SERVER], { PATH: process.env.PATH ?? '', FLOOR_PORT: String(port) }, port, join(dir, 'floor.log'), true);
}

async function spawnServer(args: string[], env: NodeJS.ProcessEnv, port: number, logFile: string, probe: boolean): Promise<Server> {
  const log = openSync(logFile, 'a');
  const started = performance.now();
  const child = spawn(process.execPath, [...(probe ? ['--import', LOOP_PROBE] : []), ...args], {
    serialization: 'advanced',
    env,
    stdio: ['ignore', log, log, ...(probe ? ['ipc' as const] : [])],
  });
  const origin = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}; see ${logFile}`);
    if (performance.now() - started > READY_TIMEOUT_MS) {
      await stopProcess(child);
      throw new Error(`${args.join(' ')} was not healthy within ${READY_TIMEOUT_MS} ms`);
    }
    if ((await status(`${origin}/kosync/healthcheck`)) === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return {
    origin,
    pid: child.pid!,
    readyMs: performance.now() - started,
    stop: () => stopProcess(child),
    ...(probe ? { probe: probeOf(child) } : {}),
  };
}

/** The bench's end of bench/loop-probe.ts's IPC channel. */
function probeOf(child: ChildProcess): Probe {
  const ask = async (probe: 'reset' | 'read'): Promise<unknown> => {
    const answer = new Promise<unknown>((resolve, reject) => {
      const onMessage = (message: { probe?: string; window?: ProbeWindow }) => {
        if (message.probe !== (probe === 'read' ? 'window' : 'reset')) return;
        child.off('message', onMessage);
        resolve(message.window);
      };
      child.on('message', onMessage);
      child.once('exit', () => reject(new Error('the server exited before its probe answered')));
    });
    child.send({ probe });
    return answer;
  };
  return {
    reset: async () => {
      await ask('reset');
    },
    read: async () => (await ask('read')) as ProbeWindow,
  };
}

/** Whether CWA's kosync.py can run here (shared/oracle/run.sh and its Debian packages). */
export function oracleAvailable(): boolean {
  return existsSync(ORACLE) && existsSync('/usr/bin/python3');
}

/** CWA's kosync.py on the threaded werkzeug server (shared/oracle); ready when it prints READY. */
export async function startOracle(files: Files): Promise<Server> {
  const port = await freePort();
  const log = openSync(join(files.dir, 'oracle.log'), 'a');
  const started = performance.now();
  const child = spawn(ORACLE, ['--app-db', files.appDb, '--metadata-db', files.metadataDb, '--port', String(port)], {
    stdio: ['ignore', 'pipe', log],
  });
  const lines = createInterface({ input: child.stdout! });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the Python original printed no READY within ${READY_TIMEOUT_MS} ms`)),
        READY_TIMEOUT_MS,
      );
      lines.on('line', (line) => {
        if (!line.startsWith('READY ')) return;
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the Python original exited with ${code}; see ${join(files.dir, 'oracle.log')}`));
      });
    });
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  const readyMs = performance.now() - started;
  // run.sh execs python, so the child's pid is the server's.
  return { origin: `http://127.0.0.1:${port}`, pid: child.pid!, readyMs, stop: () => stopProcess(child) };
}

/**
 * Resident memory of a process in MiB (Linux /proc): now, at its peak (VmHWM), and the private
 * anonymous part now (RssAnon: heap and stacks, without the executable's shared file pages).
 */
export function memoryOf(pid: number): { rss: number; peak: number; anon: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024, anon: kib('RssAnon') / 1024 };
}
