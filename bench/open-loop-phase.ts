/**
 * The open-loop phase of `npm run bench` (issue 17): the floor (bench/floor-server.ts) and this server
 * at a fixed rate, one after the other in the same run, each with bench/loop-probe.ts preloaded.
 * This server runs twice: as `npm start` runs it (plain node, no NODE_OPTIONS) and as the image does
 * (IMAGE_ENV); each serves warm GETs, then PUTs. Latency counts from when each request was due.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLoop, type OpenLoopRequest, type OpenLoopResult } from './open-loop.js';
import type { ProbeWindow } from './probe-window.js';
import { copyFixtures, memoryOf, type Server, type SidecarOptions, startFloor, startSidecar } from './servers.js';
import { warm } from './warm.js';
import { WORKLOADS } from './workload.js';

export interface OpenLoopSettings {
  rate: number;
  /** Measured seconds per phase, after WARM_SECONDS at the same rate that are not counted. */
  seconds: number;
}

/** A server started one way: `npm start`, the image, or another build being compared. */
export interface SidecarSetup {
  name: string;
  options: SidecarOptions;
}

export interface PhaseResult {
  load: OpenLoopResult;
  server: ProbeWindow;
  /** MiB resident right after the phase, and the private (anonymous) part of it. */
  rssAfter: number;
  anonAfter: number;
}

export interface SetupResult {
  name: string;
  get: PhaseResult;
  put: PhaseResult;
  /** VmHWM over the server's whole life, MiB. */
  peakRss: number;
}

export interface OpenLoopReport {
  settings: OpenLoopSettings;
  floor: PhaseResult;
  setups: SetupResult[];
}

const WARM_SECONDS = 2;

/** What a user gets from `npm start` (plain node) and in the image (docker/Dockerfile's NODE_ENV and any NODE_OPTIONS). */
export const DEFAULT_SETUPS: SidecarSetup[] = [
  { name: '`npm start` (plain node)', options: { env: { NODE_OPTIONS: undefined, NODE_ENV: undefined } } },
  { name: "the image's environment", options: {} },
];

const GET_REQUESTS: OpenLoopRequest[] = WORKLOADS.get.map(asRequest);
const PUT_REQUESTS: OpenLoopRequest[] = WORKLOADS.put.map(asRequest);

function asRequest(r: (typeof WORKLOADS.get)[number]): OpenLoopRequest {
  return { method: r.method!, path: r.path!, headers: r.headers as Record<string, string>, ...(r.body ? { body: String(r.body) } : {}) };
}

async function phase(server: Server, requests: OpenLoopRequest[], settings: OpenLoopSettings): Promise<PhaseResult> {
  await openLoop({ origin: server.origin, requests, rate: settings.rate, seconds: WARM_SECONDS });
  await server.probe!.reset();
  const load = await openLoop({ origin: server.origin, requests, rate: settings.rate, seconds: settings.seconds });
  const window = await server.probe!.read();
  const memory = memoryOf(server.pid);
  return { load, server: window, rssAfter: memory.rss, anonAfter: memory.anon };
}

export async function runOpenLoop(
  settings: OpenLoopSettings,
  setups: SidecarSetup[] = DEFAULT_SETUPS,
  log: (line: string) => void = () => undefined,
): Promise<OpenLoopReport> {
  const dir = mkdtempSync(join(tmpdir(), 'kosync-bench-floor-'));
  let floor: PhaseResult;
  try {
    log(`open loop: the floor, ${settings.rate}/s for ${settings.seconds} s`);
    const server = await startFloor(dir);
    try {
      floor = await phase(server, GET_REQUESTS, settings);
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const results: SetupResult[] = [];
  for (const setup of setups) {
    const files = copyFixtures('open-loop');
    try {
      const server = await startSidecar(files, { ...setup.options, probe: true });
      try {
        await warm(server);
        log(`open loop: ${setup.name}, warm GETs then PUTs, ${settings.rate}/s for ${settings.seconds} s each`);
        const get = await phase(server, GET_REQUESTS, settings);
        const put = await phase(server, PUT_REQUESTS, settings);
        results.push({ name: setup.name, get, put, peakRss: memoryOf(server.pid).peak });
      } finally {
        await server.stop();
      }
    } finally {
      files.remove();
    }
  }
  return { settings, floor: floor!, setups: results };
}

// ---- report ----

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '∞');
const ms = (n: number) => (Number.isFinite(n) ? `${fmt(n, n < 10 ? 2 : 1)} ms` : 'failed');
const mark = (met: boolean) => (met ? '**met**' : '**not met**');
const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
/** 80 MB, the issue's RSS target, in MiB. */
const RSS_TARGET_MIB = 80e6 / 2 ** 20;

export function openLoopTables(report: OpenLoopReport): string[] {
  const { rate, seconds } = report.settings;
  const floorP99 = report.floor.load.p99;
  const getTarget = floorP99 < 2.5 ? Math.min(2 * floorP99, 5) : 2 * floorP99;
  const getTargetText = floorP99 < 2.5 ? `≤ 2× floor p99 and ≤ 5 ms: ${ms(getTarget)}` : `≤ 2× floor p99: ${ms(getTarget)}`;
  const latencyRow = (name: string, result: PhaseResult, target: string, met: boolean | undefined) =>
    row([
      name,
      `${result.load.ok} of ${result.load.sent}${statusNote(result.load)}`,
      ms(result.load.p50),
      ms(result.load.p99),
      ms(result.load.p999),
      ms(result.load.max),
      target,
      met === undefined ? '' : mark(met),
    ]);
  const lines = [
    row([
      `Open loop, ${rate} requests/s, ${seconds} s each (after ${WARM_SECONDS} s not counted)`,
      'answered 2xx',
      'p50',
      'p99',
      'p999',
      'max',
      'Target',
      'Met',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---', '---']),
    latencyRow('floor: fastify, constant body', report.floor, '', undefined),
  ];
  for (const setup of report.setups) {
    lines.push(
      latencyRow(`${setup.name}: warm GET`, setup.get, getTargetText, setup.get.load.p99 <= getTarget),
      latencyRow(`${setup.name}: PUT`, setup.put, '≤ 20 ms', setup.put.load.p99 <= 20),
    );
  }
  lines.push(
    '',
    row([
      'Open loop: memory',
      'RSS after GETs',
      'RSS after PUTs',
      'of it private (RssAnon)',
      'of it V8 heap (used)',
      'peak RSS (VmHWM)',
      'Target',
      'Met',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---', '---']),
    ...report.setups.map((s) =>
      row([
        s.name,
        `${fmt(s.get.rssAfter)} MiB`,
        `${fmt(s.put.rssAfter)} MiB`,
        `${fmt(s.put.anonAfter)} MiB`,
        `${fmt(s.put.server.memory.heapCommitted)} (${fmt(s.put.server.memory.heapUsed)}) MiB`,
        `${fmt(s.peakRss)} MiB`,
        '≤ 80 MB (76.3 MiB) after the load',
        mark(s.put.rssAfter <= RSS_TARGET_MIB),
      ]),
    ),
    '',
    row([
      'Open loop: inside the server',
      'CPU',
      'waiting for a core',
      'loop busy',
      'loop delay p50 / p90 / p99 / p999 / max',
      'major GCs: n, total (longest)',
      'minor GCs: n, total (longest)',
      'page faults from disk',
      'client send lag p99 / max',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
    serverRow('floor', report.floor),
    ...report.setups.flatMap((s) => [serverRow(`${s.name}: warm GET`, s.get), serverRow(`${s.name}: PUT`, s.put)]),
  );
  return lines;
}

function serverRow(name: string, { server, load }: PhaseResult): string {
  const { loop, gc } = server;
  const gcCell = (g: { count: number; ms: number; maxMs: number }) => `${g.count}, ${fmt(g.ms)} ms (${fmt(g.maxMs)})`;
  return row([
    name,
    `${fmt((100 * server.cpuMs) / server.windowMs, 0)} %`,
    `${fmt((100 * server.runQueueWaitMs) / server.windowMs, 1)} %`,
    `${fmt(100 * server.elu, 0)} %`,
    `${fmt(loop.p50, 2)} / ${fmt(loop.p90, 2)} / ${fmt(loop.p99, 2)} / ${fmt(loop.p999, 1)} / ${fmt(loop.max, 1)} ms`,
    gcCell(gc.major),
    gcCell(gc.minor),
    String(server.majorFaults),
    `${fmt(load.sendLagP99, 2)} / ${fmt(load.sendLagMax, 1)} ms`,
  ]);
}

function statusNote(result: OpenLoopResult): string {
  const odd = Object.entries(result.statuses).filter(([status]) => !status.startsWith('2'));
  return odd.length ? ` (${odd.map(([status, count]) => `${count}× ${status}`).join(', ')})` : '';
}
